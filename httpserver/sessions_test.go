package httpserver_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/httpserver"
)

const teamBToken = "team-b-token-0123456789abcdef"

// scopedCfg has the unscoped token and two team tokens.
func scopedCfg(l httpserver.SessionLimits) httpserver.Config {
	return httpserver.Config{Token: adminToken, Sessions: l, Tokens: []httpserver.TokenEntry{
		{Name: "team-a", Token: teamAToken}, {Name: "team-b", Token: teamBToken},
	}}
}

// raw speaks the Streamable HTTP and SSE transports by hand, so a test can
// send what a well-behaved client never would (another token's session id).
type raw struct {
	t   testing.TB
	url string
	hc  *http.Client
}

func newRaw(t testing.TB, e *srvEnv) *raw {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(hc.CloseIdleConnections)
	return &raw{t: t, url: e.url, hc: hc}
}

func (c *raw) do(method, path, token, sessionID, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sessionID != "" {
		req.Header.Set("Mcp-Session-Id", sessionID)
		req.Header.Set("Mcp-Protocol-Version", mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(b)
}

const listTools = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`

// open starts a Streamable HTTP session (protocol with initialize) and
// returns its id; it is never ended: an abandoned session.
func (c *raw) open(token string) string {
	c.t.Helper()
	resp, body := c.do(http.MethodPost, "/mcp", token, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+
		mcp.LATEST_LEGACY_PROTOCOL_VERSION+`","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		c.t.Fatalf("initialize: %d %q %s", resp.StatusCode, id, body)
	}
	return id
}

// status is the HTTP status of method on /mcp with a session id.
func (c *raw) status(method, token, id string) int {
	c.t.Helper()
	body := ""
	if method == http.MethodPost {
		body = listTools
	}
	if method == http.MethodGet {
		// A GET is a stream: only its status line is read.
		req, _ := http.NewRequest(method, c.url+"/mcp", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Mcp-Session-Id", id)
		req.Header.Set("Mcp-Protocol-Version", mcp.LATEST_LEGACY_PROTOCOL_VERSION)
		resp, err := c.hc.Do(req)
		if err != nil {
			c.t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	resp, _ := c.do(method, "/mcp", token, id, body)
	return resp.StatusCode
}

// sseStream is an open SSE session.
type sseStream struct {
	id   string
	resp *http.Response
	r    *bufio.Reader
}

// openSSE opens an SSE stream and reads its endpoint event.
func (c *raw) openSSE(token string) *sseStream {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.url+"/sse", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /sse: %d", resp.StatusCode)
	}
	s := &sseStream{resp: resp, r: bufio.NewReader(resp.Body)}
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("SSE endpoint event: %v", err)
		}
		if _, q, ok := strings.Cut(line, "sessionId="); ok {
			s.id = strings.TrimSpace(strings.SplitN(q, "&", 2)[0])
			return s
		}
	}
}

// closedByServer reads the stream until the server ends it.
func (s *sseStream) closedByServer() error {
	_, err := io.Copy(io.Discard, s.r)
	return err
}

func (c *raw) postMessage(token, id string) int {
	c.t.Helper()
	resp, _ := c.do(http.MethodPost, "/message?sessionId="+id, token, "", `{"jsonrpc":"2.0","id":3,"method":"ping"}`)
	return resp.StatusCode
}

// A session belongs to the token that opened it: another token cannot use,
// stream, or end it, and a made-up id is refused like a foreign one.
func TestSessions_BelongToTheirToken(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{cfg: scopedCfg(httpserver.SessionLimits{})})
	c := newRaw(t, e)

	id := c.open(teamAToken)
	madeUp := "mcp-session-3f2b6c1e-8d4a-4e5f-9a7b-0c1d2e3f4a5b" // well-formed, never issued
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		for _, tok := range []string{teamBToken, adminToken} {
			if got := c.status(m, tok, id); got != http.StatusNotFound {
				t.Errorf("%s with another token's session: %d, want 404", m, got)
			}
		}
		if got := c.status(m, teamAToken, madeUp); got != http.StatusNotFound {
			t.Errorf("%s with a made-up session id: %d, want 404", m, got)
		}
	}
	if got := c.status(http.MethodGet, teamAToken, ""); got != http.StatusBadRequest {
		t.Errorf("GET without a session id: %d, want 400", got)
	}
	// The owner's session survived all that.
	if got := c.status(http.MethodPost, teamAToken, id); got != http.StatusOK {
		t.Fatalf("owner's POST: %d", got)
	}
	if got := c.status(http.MethodDelete, teamAToken, id); got != http.StatusOK {
		t.Fatalf("owner's DELETE: %d", got)
	}
	if got := c.status(http.MethodPost, teamAToken, id); got != http.StatusNotFound {
		t.Fatalf("POST after DELETE: %d, want 404", got)
	}

	// SSE: only the opener may post to /message.
	s := c.openSSE(teamAToken)
	if got := c.postMessage(teamBToken, s.id); got != http.StatusNotFound {
		t.Errorf("another token's POST /message: %d, want 404", got)
	}
	if got := c.postMessage(teamAToken, "sse-"+strings.Repeat("0", 32)); got != http.StatusNotFound {
		t.Errorf("POST /message to a made-up session: %d, want 404", got)
	}
	if got := c.postMessage(teamAToken, s.id); got != http.StatusAccepted {
		t.Errorf("owner's POST /message: %d, want 202", got)
	}
}

// The protocol clients of both transports and eras still work (the
// binding is invisible to a well-behaved client), and a session another
// token opened is not theirs to use.
func TestSessions_ClientsWork(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{cfg: scopedCfg(httpserver.SessionLimits{})})
	for _, kind := range []transportKind{streamable, sse} {
		for _, era := range eras {
			c := e.mustConnect(t, kind, era, teamAToken)
			if _, err := c.ListTools(t.Context(), mcp.ListToolsRequest{}); err != nil {
				t.Errorf("%s %s: %v", kind, eraName(era), err)
			}
		}
	}
}

// Sessions are capped per token and overall; ending one makes room.
func TestSessions_Caps(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{cfg: scopedCfg(httpserver.SessionLimits{PerToken: 3, Total: 5, IdleTTL: time.Hour})})
	c := newRaw(t, e)
	var a []string
	for range 3 {
		a = append(a, c.open(teamAToken))
	}
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + mcp.LATEST_LEGACY_PROTOCOL_VERSION + `","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	if resp, body := c.do(http.MethodPost, "/mcp", teamAToken, "", initBody); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "IGMCP_HTTP_MAX_SESSIONS_PER_TOKEN") {
		t.Fatalf("4th session of a token: %d %s", resp.StatusCode, body)
	}
	c.open(teamBToken)
	_ = c.openSSE(teamBToken)
	if resp, body := c.do(http.MethodPost, "/mcp", teamBToken, "", initBody); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "IGMCP_HTTP_MAX_SESSIONS") {
		t.Fatalf("6th session overall: %d %s", resp.StatusCode, body)
	}
	if n := e.hs.Sessions(); n != 5 {
		t.Fatalf("%d sessions, want 5", n)
	}
	if got := c.status(http.MethodDelete, teamAToken, a[0]); got != http.StatusOK {
		t.Fatal(got)
	}
	c.open(teamAToken) // room again
}

// Thousands of abandoned sessions (Streamable HTTP never ended, SSE streams
// left open) are all reaped: the table and mcp-go both forget them, SSE
// streams are closed, and the ids answer 404.
func TestSessions_AbandonedAreReaped(t *testing.T) {
	t.Parallel()
	const n, streams = 2000, 40
	e := startServer(t, srvOpts{cfg: scopedCfg(httpserver.SessionLimits{IdleTTL: 300 * time.Millisecond, PerToken: 10000, Total: 10000})})
	c := newRaw(t, e)
	ids := make([]string, 0, n)
	for i := range n {
		tok := teamAToken
		if i%2 == 1 {
			tok = teamBToken
		}
		ids = append(ids, c.open(tok))
	}
	if err := e.mcp.SendNotificationToSpecificClient(ids[n-1], "notifications/message", nil); errors.Is(err, server.ErrSessionNotFound) {
		t.Fatal("mcp-go did not register the last session: the probe below proves nothing")
	}
	var open []*sseStream
	for range streams {
		open = append(open, c.openSSE(teamAToken))
	}
	if e.hs.Sessions() == 0 {
		t.Fatal("no session was counted")
	}

	// Every SSE stream is closed by the server, and the table empties.
	var closed atomic.Int32
	for _, s := range open {
		go func() { _ = s.closedByServer(); closed.Add(1) }()
	}
	waitFor(t, "every session reaped (in mcp-go too) and every SSE stream closed", func() bool {
		return e.hs.Sessions() == 0 && closed.Load() == streams && forgotten(e.mcp, ids)
	})
	for _, id := range []string{ids[0], ids[n-1]} {
		tok := teamAToken
		if id == ids[n-1] {
			tok = teamBToken
		}
		if got := c.status(http.MethodPost, tok, id); got != http.StatusNotFound {
			t.Fatalf("a reaped session answered %d", got)
		}
	}
	if got := c.postMessage(teamAToken, open[0].id); got != http.StatusNotFound {
		t.Fatalf("a reaped SSE session answered %d", got)
	}
}

// waitFor polls cond until it holds; the deadline is a hang guard, not a
// timing assertion.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkAbandonedSessions measures what abandoned Streamable HTTP
// sessions cost and that the memory comes back once they are reaped:
// KB/session while open, and the heap left above the baseline after
// reaping (run with -benchtime 1x).
func BenchmarkAbandonedSessions(b *testing.B) {
	const n = 10000
	for b.Loop() {
		e := startServer(b, srvOpts{cfg: scopedCfg(httpserver.SessionLimits{IdleTTL: 30 * time.Second, PerToken: n, Total: n})})
		c := newRaw(b, e)
		c.open(teamAToken) // warm up pools and first-request paths
		waitFor(b, "warm-up reaped", func() bool { return e.hs.Sessions() == 0 })
		base := heap()
		ids := make([]string, 0, n)
		for range n {
			ids = append(ids, c.open(teamAToken))
		}
		c.hc.CloseIdleConnections()
		peak := heap()
		opened := e.hs.Sessions()
		waitFor(b, "every session reaped, in mcp-go too", func() bool {
			return e.hs.Sessions() == 0 && forgotten(e.mcp, ids)
		})
		after := heap()
		b.ReportMetric(float64(opened), "sessions")
		b.ReportMetric(float64(int64(peak)-int64(base))/float64(opened)/1024, "KB/session")
		b.ReportMetric(float64(int64(peak)-int64(base))/(1<<20), "MB-open")
		b.ReportMetric(float64(int64(after)-int64(base))/(1<<20), "MB-after-reap")
		b.Logf("heap: baseline %s, %d sessions open %s, after reaping %s", mb(base), opened, mb(peak), mb(after))
	}
}

// forgotten reports whether mcp-go holds none of the sessions.
func forgotten(s *server.MCPServer, ids []string) bool {
	for _, id := range ids {
		if err := s.SendNotificationToSpecificClient(id, "notifications/message", nil); !errors.Is(err, server.ErrSessionNotFound) {
			return false
		}
	}
	return true
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func mb(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
