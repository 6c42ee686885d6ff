package taskfront_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/httpserver"
	"github.com/igmcp/igmcp/internal/mcpwire"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/taskfront"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/webhooks"
)

// Two bearer tokens: tasks belong to the token that made them.
const (
	tokenA = "team-a-token-0123456789"
	tokenB = "team-b-token-0123456789"
)

var fastPolls = publish.PollPolicy{
	Image: publish.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.5},
	Video: publish.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 1.6},
}

// replica is one igmcp http as cmd/igmcp wires it: tools, scheduler, the
// task front in front of the MCP server, on a store handle of its own.
type replica struct {
	url   string
	st    store.Store
	front *taskfront.Front
}

// rig is one Instagram (the fake, behind an optional gate on
// media_publish) and one database shared by the replicas.
type rig struct {
	t    *testing.T
	fake *fakegraph.Server
	gate *sendGate
	dir  string
	st   store.Store // the test's own handle
}

func newRig(t *testing.T, fo fakegraph.Options) *rig {
	t.Helper()
	fake := fakegraph.New(fo)
	gate := &sendGate{fake: fake}
	ts := httptest.NewServer(gate)
	t.Cleanup(ts.Close)
	gate.url = ts.URL
	r := &rig{t: t, fake: fake, gate: gate, dir: t.TempDir()}
	r.st = r.open()
	return r
}

func (r *rig) open() store.Store {
	r.t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: r.dir})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = st.Close() })
	return st
}

// replica starts a replica with the policy for 2026-07-28 calls.
func (r *rig) replica(policy taskfront.Policy) *replica {
	t := r.t
	t.Helper()
	st := r.open()
	ctx, cancel := context.WithCancel(context.Background())
	hub := webhooks.NewHub(st)
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	acct := fakegraph.DefaultAccount
	single, err := auth.NewSingle(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token}), acct.ID, auth.LoginFacebook,
		func(ts oauth2.TokenSource) (*graph.Client, error) {
			return graph.NewClient(graph.WithBaseURL(r.gate.url), graph.WithTokenSource(ts))
		})
	if err != nil {
		t.Fatal(err)
	}
	pub := publish.New(st, publish.WithPollPolicy(fastPolls), publish.WithSendGrace(time.Second))
	var front *taskfront.Front
	sched, err := scheduler.New(scheduler.Config{Store: st, Accounts: single, Publisher: pub, Tick: 20 * time.Millisecond,
		Lease: 2 * time.Second, RetryBase: 20 * time.Millisecond,
		BeforeSend: func(ctx context.Context, id string) error { return front.BeforeSend(ctx, id) }})
	if err != nil {
		t.Fatal(err)
	}
	deps := &tools.Deps{Accounts: single, Publisher: pub, Scheduler: sched, Journal: st, Tasks: true,
		Confirmations: st, Signals: hub}
	srv := tools.NewServer(deps, "test", tools.Selection{})
	front, err = taskfront.New(taskfront.Config{Store: st, Signals: hub, Deps: deps, Server: srv, Version: "test", Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(front.Stop)
	hs, err := httpserver.New(srv, httpserver.Config{Tasks: front, Tokens: []httpserver.TokenEntry{
		{Name: "team-a", Token: tokenA}, {Name: "team-b", Token: tokenB}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hs.Handler())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sched.Run(ctx)
	}()
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		cancel()
		<-done
	})
	return &replica{url: ts.URL + "/mcp", st: st, front: front}
}

// client of a replica, as token team-a unless told otherwise.
func (p *replica) client(version string, tasks bool) *mcpwire.Client {
	return &mcpwire.Client{URL: p.url, Token: tokenA, Version: version, Tasks: tasks}
}

// sendGate passes everything to the fake except media_publish while
// closed: those wait at the gate (reached says when one did) until open.
type sendGate struct {
	fake *fakegraph.Server
	url  string

	mu      sync.Mutex
	closed  chan struct{} // nil while open
	reached chan struct{}
}

// close makes the next media_publish wait; reached is closed when one
// arrives.
func (g *sendGate) close() (reached <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed, g.reached = make(chan struct{}), make(chan struct{})
	return g.reached
}

func (g *sendGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed != nil {
		close(g.closed)
		g.closed = nil
	}
}

func (g *sendGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/media_publish") {
		g.mu.Lock()
		closed, reached := g.closed, g.reached
		if closed != nil && reached != nil {
			close(reached)
			g.reached = nil
		}
		g.mu.Unlock()
		if closed != nil {
			select {
			case <-closed:
			case <-r.Context().Done():
				return
			}
		}
	}
	g.fake.ServeHTTP(w, r)
}

// call sends a request and fails the test on a transport error.
func call(t *testing.T, c *mcpwire.Client, method string, params map[string]any) *mcpwire.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.Call(ctx, method, params, nil)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res
}

// object decodes a result, failing on a JSON-RPC error.
func object(t *testing.T, res *mcpwire.Response) map[string]any {
	t.Helper()
	if res.Error != nil {
		t.Fatalf("JSON-RPC error %d: %s", res.Error.Code, res.Error.Message)
	}
	var m map[string]any
	if err := json.Unmarshal(res.Result, &m); err != nil {
		t.Fatalf("result %s: %v", res.Result, err)
	}
	return m
}

// wantError checks a JSON-RPC error's code (and, for 2026-07-28, status).
func wantError(t *testing.T, what string, res *mcpwire.Response, code, status int) {
	t.Helper()
	if res.Error == nil || res.Error.Code != code || status != 0 && res.Status != status {
		t.Fatalf("%s: answered %+v (HTTP %d), want error %d (HTTP %d)", what, res.Error, res.Status, code, status)
	}
}

// poll calls tasks/get until done accepts the task or a minute passes.
func poll(t *testing.T, c *mcpwire.Client, id string, done func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		task := object(t, call(t, c, "tasks/get", map[string]any{"taskId": id}))
		if done(task) {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s after a minute: %v", id, task)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func statusIs(want string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["status"] == want }
}

// published counts the fake's posts with caption, and the media_publish
// requests their containers got.
func (r *rig) published(caption string) (posts, sends int) {
	for _, m := range r.fake.Published(fakegraph.DefaultAccount.ID) {
		if m.Caption == caption {
			posts++
		}
	}
	for _, c := range r.fake.Containers() {
		if c.Caption == caption {
			sends += r.fake.MediaPublishes(c.ID)
		}
	}
	return posts, sends
}

// rawPost sends a body with the given headers, for requests mcpwire would
// not send (wrong headers).
func rawPost(t *testing.T, url string, headers map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tokenA)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
