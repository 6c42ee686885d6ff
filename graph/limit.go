package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Limiter gates every request of a Client; the rate-limit governor
// implements it. Acquire waits until a request may be sent, or refuses it
// (with a *ThrottledError) without anything reaching Instagram. done is
// called exactly once with what the request produced.
type Limiter interface {
	Acquire(ctx context.Context) (done func(status int, u Usage, err error), err error)
}

// WithLimiter installs the rate-limit governor of the account.
func WithLimiter(l Limiter) Option {
	return func(c *Client) error {
		c.limiter = l
		return nil
	}
}

// ThrottledError is a request igmcp refused to send because the account (or
// the app) is at its rate limit: sending it would only spend budget and get
// the same error back.
type ThrottledError struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("graph: not sent: %s (retry in %s)", e.Reason, e.RetryAfter.Round(time.Second))
}

// RetryPolicy bounds the retries of calls that are safe to repeat (reads and
// container creation): MaxTries attempts in all, exponential backoff with
// jitter from Initial up to Max, and at most MaxElapsed overall.
type RetryPolicy struct {
	MaxTries   uint
	Initial    time.Duration
	Max        time.Duration
	MaxElapsed time.Duration
}

// DefaultRetryPolicy: three attempts within 20 seconds.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxTries: 3, Initial: 500 * time.Millisecond, Max: 5 * time.Second, MaxElapsed: 20 * time.Second}
}

// WithRetryPolicy sets the retry policy; MaxTries 1 disables retries.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxTries == 0 || p.Initial < 0 || p.Max < p.Initial {
			return errors.New("graph: invalid retry policy")
		}
		c.retry = p
		return nil
	}
}

// Which calls are retried, and why.
//
// callSafe repeats a call under the RetryPolicy when it failed in a way that
// may pass (Retryable: the answer was lost, or Meta's error IsTemporary).
// Only calls that are safe to repeat come through it:
//   - every read (GET: Do with GET, the list edges, container status,
//     insights, quota, debug_token): a read changes nothing;
//   - container creation (POST /{ig-user-id}/media): a repeat at worst
//     leaves an unused container, which expires unpublished (it counts
//     toward the 400 containers per 24 h, so only temporary failures are
//     repeated, never a refused request).
//
// Never retried here: media_publish (a repeat may be a second post —
// Meta documents no guard), comment and reply creation (a second comment),
// hide/unhide, comment_enabled and deletes (writes whose outcome a lost
// answer leaves unknown; the caller decides). Whatever the call, rate
// limits (the governor waits them out), spam blocks, auth and permission
// refusals and refused arguments are never repeated: the same request gets
// the same answer and may prolong a block.
func (c *Client) callSafe(ctx context.Context, method, path string, params map[string][]string, v any) (*Response, error) {
	if c.retry.MaxTries <= 1 {
		return c.call(ctx, method, path, params, v)
	}
	eb := backoff.NewExponentialBackOff()
	eb.InitialInterval = c.retry.Initial
	eb.MaxInterval = c.retry.Max
	return backoff.Retry(ctx, func() (*Response, error) {
		resp, err := c.call(ctx, method, path, params, v)
		if err != nil && !Retryable(err) {
			return resp, backoff.Permanent(err)
		}
		return resp, err
	}, backoff.WithBackOff(eb), backoff.WithMaxTries(c.retry.MaxTries), backoff.WithMaxElapsedTime(c.retry.MaxElapsed))
}

// Retryable reports whether a failed call may succeed if repeated: a lost
// answer (*TransportError) or a Graph error that IsTemporary. A cancelled
// or expired context, a refusal by the governor, a missing token and
// anything else are final.
func Retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return true
	}
	var ge *Error
	return errors.As(err, &ge) && ge.IsTemporary()
}

// WithReauth sets what to do when Instagram rejects the token (IsAuth: 190, 102):
// refresh reports whether a new token is now available, and if so the call
// is sent once more with it. Without it a 190 is returned as is.
func WithReauth(refresh func(ctx context.Context, err *Error) bool) Option {
	return func(c *Client) error {
		c.reauth = refresh
		return nil
	}
}
