// Package graph is a small client for the Instagram Graph API (both the
// graph.facebook.com and graph.instagram.com hosts).
//
// Every call is context-first and returns the decoded value, a *Response
// (usage headers, paging) and an error that is one of *Error (Graph said
// no), *TransportError (no usable answer), *DecodeError (a 2xx we could not
// read) or *TokenError (no token; nothing was sent). The access token only
// ever travels in the Authorization header, and no error string carries it.
package graph

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Default hosts per login flow and the API version igmcp is written against.
const (
	FacebookGraphURL  = "https://graph.facebook.com"
	InstagramGraphURL = "https://graph.instagram.com"
	DefaultAPIVersion = "v25.0"
)

const (
	defaultTimeout   = 60 * time.Second
	defaultUserAgent = "igmcp-graph"
	// maxErrorBodySize bounds what we read of an error answer, as go-github
	// does: error envelopes are tiny, a proxy's HTML page need not be read whole.
	maxErrorBodySize = 1 << 20
	// maxBodySize bounds a success answer; our largest (a 100-item list) is far below.
	maxBodySize = 32 << 20
)

// Client calls the Graph API as one Instagram account. It is safe for
// concurrent use. Build one per account; they may share an *http.Client.
type Client struct {
	hc        *http.Client
	base      string // scheme://host[/prefix], no trailing slash
	version   string
	ts        oauth2.TokenSource
	appSecret string
	userAgent string
	observer  func(method, path string, status int, u Usage)
	limiter   Limiter
	retry     RetryPolicy
	reauth    func(ctx context.Context, err *Error) bool
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the scheme+host (and optional path prefix) of the Graph
// API, e.g. https://graph.facebook.com or an httptest server URL.
func WithBaseURL(u string) Option {
	return func(c *Client) error {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil {
			// url.Parse errors quote the input; the input is config, not a
			// secret, but keep the message short and URL-free anyway.
			return errors.New("graph: base URL does not parse")
		}
		if p.Scheme != "http" && p.Scheme != "https" {
			return fmt.Errorf("graph: base URL scheme must be http or https, not %q", p.Scheme)
		}
		if p.Host == "" {
			return errors.New("graph: base URL has no host")
		}
		if p.User != nil || p.RawQuery != "" || p.ForceQuery || p.Fragment != "" {
			return errors.New("graph: base URL must not carry credentials, a query or a fragment")
		}
		p.Path = strings.TrimRight(p.Path, "/")
		p.RawPath = ""
		c.base = p.String()
		return nil
	}
}

// WithAPIVersion sets the version path segment, e.g. "v25.0".
func WithAPIVersion(v string) Option {
	return func(c *Client) error {
		if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/?#% \t\r\n") {
			return fmt.Errorf("graph: invalid API version %q", v)
		}
		c.version = v
		return nil
	}
}

// WithHTTPClient sets the HTTP client (timeouts, transport).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("graph: nil HTTP client")
		}
		c.hc = hc
		return nil
	}
}

// WithTokenSource sets where the access token comes from; it is asked on
// every request, so a refreshed token is used at once. A nil source is
// allowed: every call then fails with *TokenError, so a server can start
// without a token and report it per call.
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(c *Client) error {
		c.ts = ts
		return nil
	}
}

// WithAppSecret enables appsecret_proof on every request. An empty secret
// disables it.
func WithAppSecret(secret string) Option {
	return func(c *Client) error {
		c.appSecret = secret
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("graph: user agent must be one line")
		}
		c.userAgent = ua
		return nil
	}
}

// WithObserver registers a function called after every response that
// carried a status (success or Graph error) with the parsed usage; the
// rate-limit governor hooks in here. It runs synchronously on the calling
// goroutine, so it must be quick and safe for concurrent use. path is the
// path after the version segment, without a query, e.g. "/1784…/media".
func WithObserver(fn func(method, path string, status int, u Usage)) Option {
	return func(c *Client) error {
		c.observer = fn
		return nil
	}
}

// NewClient builds a Client. Invalid options give an error, not a panic.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		base:      FacebookGraphURL,
		version:   DefaultAPIVersion,
		userAgent: defaultUserAgent,
		retry:     DefaultRetryPolicy(),
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultTimeout}
	}
	return c, nil
}

// APIVersion is the version path segment this client calls.
func (c *Client) APIVersion() string { return c.version }

// BaseURL is the scheme+host (and path prefix) this client calls.
func (c *Client) BaseURL() string { return c.base }

// AppSecretProof is hex(HMAC-SHA256(key=appSecret, msg=token)), the
// appsecret_proof parameter of Graph's "secure requests".
func AppSecretProof(appSecret, token string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// Do sends one Graph call and decodes a 2xx JSON body into v (when v is not
// nil). path is relative to the version segment, e.g. "me/accounts", and must
// already be escaped; params go in the query for GET/DELETE and in a form
// body for POST. It is the escape hatch for endpoints without a method here:
// the token, appsecret_proof and error classification are handled as for
// every other call, and access_token/appsecret_proof in params are dropped.
//
// Reads (GET) are retried under the client's RetryPolicy; writes are sent
// once (see callSafe for which calls are retried and why).
func (c *Client) Do(ctx context.Context, method, path string, params url.Values, v any) (*Response, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("graph: path must not carry a query or fragment; pass params")
	}
	if method == http.MethodGet {
		return c.callSafe(ctx, method, path, params, v)
	}
	return c.call(ctx, method, path, params, v)
}

// call sends one request; after a token rejection (190) that the owner could
// repair by refreshing, it is sent once more with the new token. A write
// refused with 190 did nothing, so repeating it is safe.
func (c *Client) call(ctx context.Context, method, path string, params url.Values, v any) (*Response, error) {
	resp, err := c.gated(ctx, method, path, params, v)
	var ge *Error
	if err != nil && c.reauth != nil && errors.As(err, &ge) && ge.IsAuth() && c.reauth(ctx, ge) {
		return c.gated(ctx, method, path, params, v)
	}
	return resp, err
}

// gated sends one request through the limiter, if any.
func (c *Client) gated(ctx context.Context, method, path string, params url.Values, v any) (*Response, error) {
	if c.limiter == nil {
		return c.send(ctx, method, path, params, v)
	}
	done, err := c.limiter.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, method, path, params, v)
	status, usage := 0, Usage{}
	if resp != nil {
		status, usage = resp.StatusCode, resp.Usage
	}
	done(status, usage, err)
	return resp, err
}

// send is the one place a request is built, sent and classified.
func (c *Client) send(ctx context.Context, method, path string, params url.Values, v any) (*Response, error) {
	path = strings.TrimLeft(path, "/")
	errPath := "/" + path

	token, err := c.token()
	if err != nil {
		return nil, err
	}

	vals := url.Values{}
	for k, vs := range params {
		// Only the header may carry the token; a stray access_token in
		// params would put it in a URL or body.
		if k == "access_token" || k == "appsecret_proof" {
			continue
		}
		vals[k] = vs
	}
	proof := ""
	if c.appSecret != "" {
		proof = AppSecretProof(c.appSecret, token)
		vals.Set("appsecret_proof", proof)
	}

	u := c.base + "/" + c.version + "/" + path
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(vals.Encode())
	} else if len(vals) > 0 {
		u += "?" + vals.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		// The URL holds the proof; say what failed without it.
		return nil, &TransportError{Method: method, Path: errPath, Err: errors.New("cannot build request: " + Redact(scrub(err.Error(), token, proof)))}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, &TransportError{Method: method, Path: errPath, Err: transportCause(ctx, err, token, proof)}
	}
	defer hr.Body.Close()

	usage := UsageFromHeader(hr.Header)
	if c.observer != nil {
		c.observer(method, errPath, hr.StatusCode, usage)
	}
	resp := &Response{Response: hr, Usage: usage}

	limit := int64(maxBodySize)
	if !is2xx(hr.StatusCode) {
		limit = maxErrorBodySize
	}
	data, err := io.ReadAll(io.LimitReader(hr.Body, limit+1))
	if err != nil {
		return resp, &TransportError{Method: method, Path: errPath, Err: transportCause(ctx, err, token, proof)}
	}
	if int64(len(data)) > limit {
		data = data[:limit]
		if is2xx(hr.StatusCode) {
			hr.Body = io.NopCloser(bytes.NewReader(data))
			return resp, &DecodeError{Method: method, Path: errPath, Err: errors.New("response body too large")}
		}
	}
	// Callers may read the body again, as with go-github.
	hr.Body = io.NopCloser(bytes.NewReader(data))

	if err := classify(hr.StatusCode, usage, data); err != nil {
		err.Method, err.Path = method, errPath
		err.scrub(token, proof)
		return resp, err
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			return resp, &DecodeError{Method: method, Path: errPath, Err: err}
		}
	}
	return resp, nil
}

// token asks the source for a token on every call so a refresh takes effect
// at once (oauth2.ReuseTokenSource caches, so this is cheap).
func (c *Client) token() (string, error) {
	if c.ts == nil {
		return "", &TokenError{Err: errors.New("no access token configured")}
	}
	t, err := c.ts.Token()
	if err != nil {
		return "", &TokenError{Err: redactErr(err, "")}
	}
	if t == nil || t.AccessToken == "" {
		return "", &TokenError{Err: errors.New("token source returned an empty token")}
	}
	if strings.ContainsAny(t.AccessToken, " \t\r\n\x00") {
		// net/http would refuse the header later with a vaguer error.
		return "", &TokenError{Err: errors.New("access token contains whitespace or control characters")}
	}
	return t.AccessToken, nil
}

// transportCause strips the URL (which holds appsecret_proof) from a
// client error and lets a done context win, so errors.Is(err,
// context.Canceled) holds for the caller.
func transportCause(ctx context.Context, err error, token, proof string) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	if err == nil {
		err = errors.New("request failed")
	}
	return redactErr(err, token, proof)
}

func is2xx(status int) bool { return status >= 200 && status <= 299 }

// Paging JSON as Graph sends it.
type pagingJSON struct {
	Cursors *struct {
		Before string `json:"before"`
		After  string `json:"after"`
	} `json:"cursors"`
	Next     string `json:"next"`
	Previous string `json:"previous"`
}

func (p *pagingJSON) toPaging() *Paging {
	if p == nil {
		return nil
	}
	out := &Paging{
		// Graph builds next/previous from the request and may echo
		// access_token into them; callers only test for presence.
		Next:     Redact(p.Next),
		Previous: Redact(p.Previous),
	}
	if p.Cursors != nil {
		out.Before, out.After = p.Cursors.Before, p.Cursors.After
	}
	return out
}

// list GETs a {"data":[…],"paging":{…}} edge, retried like every read.
func list[T any](ctx context.Context, c *Client, path string, params url.Values) ([]T, *Response, error) {
	var env struct {
		Data   []T         `json:"data"`
		Paging *pagingJSON `json:"paging"`
	}
	resp, err := c.callSafe(ctx, http.MethodGet, path, params, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.Paging = env.Paging.toPaging()
	return env.Data, resp, nil
}

// seg escapes one id for use as a path segment, so an id can never add path
// elements or a query.
func seg(id string) string { return url.PathEscape(id) }

// argError is a bad argument caught before any request is sent.
func argError(op, what string) error {
	return fmt.Errorf("graph: %s: %s", op, what)
}
