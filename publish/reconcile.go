package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
)

// reconcileTimeout bounds the status checks after an ambiguous publish. They
// run even when the caller's context is cancelled: knowing whether the post
// went live matters more than returning early.
const reconcileTimeout = 30 * time.Second

// publishReady calls media_publish once. media_publish is not idempotent, so
// after an answer that leaves the outcome open (timeout, dropped connection,
// 5xx, a spam block) it reads the container instead of publishing again:
// PUBLISHED means it went live; FINISHED means it did not, and a transient
// failure is retried once.
func (p *Publisher) publishReady(ctx context.Context, a *Account, containerID string, job keyedRun) (Published, []string, error) {
	started := time.Now()
	for attempt := 0; ; attempt++ {
		m, _, err := a.Graph.Publish(ctx, a.ID, containerID)
		if err == nil {
			done := Published{MediaID: m.ID, Permalink: m.Permalink}
			var warns []string
			if done.Permalink == "" {
				// Instagram may ignore read-after-write; one read fills it in.
				if md, _, gerr := a.Graph.GetMedia(ctx, m.ID, "id", "permalink"); gerr == nil {
					done.Permalink = md.Permalink
				} else {
					warns = append(warns, "Published, but the permalink could not be read: "+failure.Classify(gerr).Message)
				}
			}
			p.countPublish(ctx, a)
			return done, warns, nil
		}
		if fe := failure.Classify(err); fe.Kind == failure.PublishLimitReached {
			p.quotaExhausted(a)
			if e, qerr := p.quotaEntry(ctx, a); qerr == nil && e.total > 0 {
				return Published{}, nil, p.limitReached(ctx, a, max(e.usage, e.total), e.total, e.window, fe)
			}
			return Published{}, nil, err
		}
		if !ambiguous(err) {
			return Published{}, nil, err
		}
		p.log.Warn("publish answer ambiguous, reconciling", "account", a.ID, "container", containerID, "err", err)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reconcileTimeout)
		st, rerr := p.readStatus(rctx, a, containerID)
		switch {
		case rerr == nil && st.StatusCode == graph.StatusPublished:
			done, warns := p.findMedia(rctx, a, job, started)
			cancel()
			p.countPublish(ctx, a)
			return done, append(warns, "The publish answer was lost; the container reads PUBLISHED, so the post is live and was not published again."), nil
		case rerr == nil && st.StatusCode == graph.StatusFinished:
			cancel()
			fe := failure.Classify(err)
			if attempt == 0 && fe.Kind == failure.Transient && ctx.Err() == nil {
				continue // certainly not published: one more try is safe
			}
			return Published{}, nil, err
		default:
			cancel()
			e := failure.New(failure.OutcomeUnknown, fmt.Sprintf(
				"media_publish for container %s was sent but its answer was lost (%s), and the container's status could not be confirmed.",
				containerID, failure.Classify(err).Message))
			e.Action = fmt.Sprintf("Do not publish again yet: call get_container_status with container_id %s; PUBLISHED means the post is live, FINISHED means call publish_container.", containerID)
			return Published{}, nil, e
		}
	}
}

// readStatus reads the container, retrying a couple of times: it is safe.
func (p *Publisher) readStatus(ctx context.Context, a *Account, containerID string) (*graph.Container, error) {
	var last error
	for i := range 3 {
		if i > 0 {
			if err := sleepCtx(ctx, time.Duration(i)*p.poll.Image.Initial); err != nil {
				return nil, err
			}
		}
		c, _, err := a.Graph.GetContainer(ctx, containerID)
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// findMedia looks for the media a lost publish created. The container
// reads PUBLISHED, so that media is live and among the account's newest:
// the candidates are those published since the attempt began (less a
// margin for clock skew), of our caption when we know it. Exactly one
// candidate is ours; more, or none, and the id is left unknown rather than
// guessed. Stories are not among the feed media: they are looked for among
// the live stories.
func (p *Publisher) findMedia(ctx context.Context, a *Account, job keyedRun, since time.Time) (Published, []string) {
	list, what := a.Graph.RecentMedia, "recent media"
	if job.story {
		list, what = a.Graph.RecentStories, "live stories"
	}
	media, _, err := list(ctx, a.ID, 10)
	if err != nil {
		return Published{}, []string{fmt.Sprintf("The media id is unknown (the account's %s could not be read); list them to find it.", what)}
	}
	var found []graph.Media
	for _, m := range media {
		ts, terr := time.Parse(graphTime, m.Timestamp)
		if terr == nil && ts.Before(since.Add(-2*time.Minute)) {
			continue
		}
		if job.story || job.anyCaption || strings.TrimSpace(m.Caption) == strings.TrimSpace(job.caption) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		return Published{}, []string{fmt.Sprintf("The media id could not be determined for sure; list the account's %s to find it.", what)}
	}
	return Published{MediaID: found[0].ID, Permalink: found[0].Permalink}, nil
}

// ambiguous reports whether a failed media_publish may still have published.
// A Graph 4xx that rejects the request (not ready, quota, auth, bad id, rate
// limit) did nothing; a lost answer, a 5xx, a transient code or a spam block
// (after which posts have been seen to go live) may have.
func ambiguous(err error) bool {
	var te *graph.TransportError
	if errors.As(err, &te) {
		return true
	}
	var de *graph.DecodeError
	if errors.As(err, &de) {
		return true // a 2xx we could not read: most likely published
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		if ge.HTTPStatus >= 500 {
			return true
		}
		switch failure.Classify(ge).Kind {
		case failure.Transient, failure.SpamBlocked, failure.Upstream:
			return true
		}
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
