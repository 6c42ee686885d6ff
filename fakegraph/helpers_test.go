package fakegraph

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// gerr returns the error object of a Graph error answer, nil for success.
func (a answer) gerr() map[string]any {
	e, _ := a.body["error"].(map[string]any)
	return e
}

func (a answer) code() int {
	if e := a.gerr(); e != nil {
		n, _ := e["code"].(float64) // 0 for a string code
		return int(n)
	}
	return 0
}

func (a answer) subcode() int {
	if e := a.gerr(); e != nil {
		if v, ok := e["error_subcode"].(float64); ok {
			return int(v)
		}
	}
	return 0
}

func (a answer) str(key string) string {
	v, _ := a.body[key].(string)
	return v
}

func (a answer) data() []any {
	d, _ := a.body["data"].([]any)
	return d
}

// client talks to a started fake with plain net/http.
type client struct {
	t     *testing.T
	base  string
	token string
	// how to send the token: "query" (default), "bearer", "oauth", "form", "json", "none"
	via string
	// extra parameters added to every call (e.g. appsecret_proof)
	extra url.Values
}

func start(t *testing.T, s *Server) *client {
	t.Helper()
	base, closeFn := s.Start()
	t.Cleanup(closeFn)
	return &client{t: t, base: base + "/v25.0", token: DefaultAccount.Token}
}

func (c *client) with(token string) *client {
	cc := *c
	cc.token = token
	return &cc
}

func (c *client) do(method, path string, params url.Values) answer {
	c.t.Helper()
	a, err := c.try(method, path, params)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

func (c *client) try(method, path string, params url.Values) (answer, error) {
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	for k, v := range c.extra {
		p[k] = v
	}
	u := c.base + path
	var body io.Reader
	header := http.Header{}
	switch c.via {
	case "bearer":
		header.Set("Authorization", "Bearer "+c.token)
	case "oauth":
		header.Set("Authorization", "OAuth "+c.token)
	case "none":
	case "form", "json":
	default:
		p.Set("access_token", c.token)
	}
	switch {
	case c.via == "json" && method == http.MethodPost:
		m := map[string]any{"access_token": c.token}
		for k := range p {
			m[k] = p.Get(k)
		}
		b, _ := json.Marshal(m)
		body = strings.NewReader(string(b))
		header.Set("Content-Type", "application/json")
	case method == http.MethodPost && (c.via == "form" || c.via == "" || c.via == "bearer" || c.via == "oauth" || c.via == "none"):
		if c.via == "form" {
			p.Set("access_token", c.token)
		}
		body = strings.NewReader(p.Encode())
		header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		if c.via == "form" {
			p.Set("access_token", c.token)
		}
		if len(p) > 0 {
			u += "?" + p.Encode()
		}
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return answer{}, err
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a, nil
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

const acct = "17841400000000001"

// createImage creates a single-image container and returns its id.
func (c *client) createImage(url string, extra ...string) string {
	c.t.Helper()
	p := vals(append([]string{"image_url", url}, extra...)...)
	a := c.do("POST", "/"+acct+"/media", p)
	if a.status != 200 || a.str("id") == "" {
		c.t.Fatalf("create container: %d %s", a.status, a.raw)
	}
	return a.str("id")
}

func (c *client) status(id string) string {
	c.t.Helper()
	a := c.do("GET", "/"+id, vals("fields", "id,status_code,status"))
	if a.status != 200 {
		c.t.Fatalf("status %s: %d %s", id, a.status, a.raw)
	}
	return a.str("status_code")
}

func (c *client) publish(id string) answer {
	c.t.Helper()
	return c.do("POST", "/"+acct+"/media_publish", vals("creation_id", id))
}

// post creates and publishes an image, returning the media id.
func (c *client) post(url, caption string) string {
	c.t.Helper()
	id := c.createImage(url, "caption", caption)
	a := c.publish(id)
	if a.status != 200 {
		c.t.Fatalf("publish: %d %s", a.status, a.raw)
	}
	return a.str("id")
}

// wantErr checks a Graph error answer's HTTP status, code and subcode.
func wantErr(t *testing.T, a answer, status, code, subcode int) {
	t.Helper()
	if a.status != status || a.code() != code || a.subcode() != subcode {
		t.Fatalf("want HTTP %d code %d subcode %d, got HTTP %d: %s", status, code, subcode, a.status, a.raw)
	}
}
