package httpserver_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/httpserver"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

// Both protocol eras: the client default (2026-07-28, stateless) and the
// newest with the initialize handshake.
var eras = []string{"", mcp.LATEST_LEGACY_PROTOCOL_VERSION}

func eraName(v string) string {
	if v == "" {
		return "2026-07-28"
	}
	return v
}

var (
	brandA = fakegraph.Account{ID: "17841400000000011", Username: "brand_a", Token: "EAAbrandA"}
	brandB = fakegraph.Account{ID: "17841400000000022", Username: "brand_b", Token: "EAAbrandB"}
)

const (
	adminToken = "admin-token-0123456789abcdef"
	teamAToken = "team-a-token-0123456789abcdef"
	jpeg       = "https://cdn.example.com/photo.jpg"
	mp4        = "https://cdn.example.com/clip.mp4"
)

var fastPolls = publish.PollPolicy{
	Image: publish.Backoff{Initial: 2 * time.Millisecond, Max: 10 * time.Millisecond, Factor: 1.5},
	Video: publish.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.6},
}

// accounts is a two-account source, as a shared deployment has.
type accounts struct{ list []*auth.Account }

func (m *accounts) Resolve(_ context.Context, name string) (*auth.Account, error) {
	name = scope.Normalize(name)
	if name == "" {
		return m.list[0], nil
	}
	for _, a := range m.list {
		if name == a.ID || strings.EqualFold(name, a.Username) {
			return a, nil
		}
	}
	return nil, failure.Invalid("account", "unknown account %q", name)
}

func (m *accounts) List(context.Context) ([]*auth.Account, error) { return m.list, nil }

type srvEnv struct {
	hs     *httpserver.Server
	mcp    *server.MCPServer
	fake   *fakegraph.Server
	url    string // http://127.0.0.1:port
	cancel context.CancelFunc
	done   chan error // Serve's result
	logs   *syncBuffer
}

type srvOpts struct {
	cfg  httpserver.Config
	fake fakegraph.Options
	// store is where durable state lives (default: SQLite in a temporary
	// directory); servers on one store stand for replicas.
	store store.Config
	// webhooks mounts a receiver on the store (cfg.Webhooks) and tells the
	// MCP server of new events through a hub.
	webhooks bool
	// schedules gives the tools a scheduler (not running): schedules and
	// jobs are stored and can be listed, read and cancelled.
	schedules bool
}

// startServer runs the real stack — tools.NewServer, httpserver, a loopback
// listener — against the fake Graph API.
func startServer(t testing.TB, o srvOpts) *srvEnv {
	t.Helper()
	if len(o.fake.Accounts) == 0 {
		o.fake.Accounts = []fakegraph.Account{brandA, brandB}
	}
	fake := fakegraph.New(o.fake)
	base, stopFake := fake.Start()
	t.Cleanup(stopFake)
	// Plenty of idle connections: the load test runs 200 sessions through it.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	t.Cleanup(hc.CloseIdleConnections)
	acc := &accounts{}
	for _, a := range o.fake.Accounts {
		c, err := graph.NewClient(graph.WithBaseURL(base), graph.WithHTTPClient(hc),
			graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: a.Token})))
		if err != nil {
			t.Fatal(err)
		}
		acc.list = append(acc.list, &auth.Account{ID: a.ID, Username: a.Username, Login: auth.LoginFacebook, Client: c})
	}
	if o.store == (store.Config{}) {
		o.store = store.Config{DataDir: t.TempDir()}
	}
	st, err := store.Open(context.Background(), o.store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	deps := &tools.Deps{Accounts: acc, Publisher: publish.New(st, publish.WithPollPolicy(fastPolls)), Journal: st, Sandbox: true}
	if o.webhooks {
		o.cfg.Webhooks, deps.EventNotices = startHooks(t, st)
		deps.Events = st
	}
	if o.schedules {
		if deps.Scheduler, err = scheduler.New(scheduler.Config{Store: st, Accounts: acc, Publisher: deps.Publisher}); err != nil {
			t.Fatal(err)
		}
	}
	mcpSrv := tools.NewServer(deps, "test", tools.Selection{})

	logs := &syncBuffer{}
	if o.cfg.Logger == nil {
		o.cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	hs, err := httpserver.New(mcpSrv, o.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &srvEnv{hs: hs, mcp: mcpSrv, fake: fake, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { e.done <- hs.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-e.done:
		case <-time.After(45 * time.Second):
			t.Error("server did not stop")
		}
		for _, secret := range []string{adminToken, teamAToken, brandA.Token, brandB.Token} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("a log line contains a secret")
			}
		}
	})
	return e
}

// stop shuts the server down and returns Serve's result.
func (e *srvEnv) stop(t testing.TB, within time.Duration) error {
	t.Helper()
	e.cancel()
	select {
	case err := <-e.done:
		e.done <- err // for the cleanup
		return err
	case <-time.After(within):
		t.Fatalf("server did not stop within %s", within)
		return nil
	}
}

type transportKind string

const (
	streamable transportKind = "streamable"
	sse        transportKind = "sse"
)

// connect opens a real HTTP MCP client of the given transport and era.
func (e *srvEnv) connect(t testing.TB, kind transportKind, era, token string, extra ...client.ClientOption) (*client.Client, error) {
	t.Helper()
	headers := map[string]string{}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	var tr transport.Interface
	var err error
	switch kind {
	case streamable:
		tr, err = transport.NewStreamableHTTP(e.url+"/mcp", transport.WithHTTPHeaders(headers))
	case sse:
		tr, err = transport.NewSSE(e.url+"/sse", transport.WithHeaders(headers))
	}
	if err != nil {
		return nil, err
	}
	var opts []client.ClientOption
	if era != "" {
		opts = append(opts, client.WithProtocolVersion(era))
	}
	c := client.NewClient(tr, append(opts, extra...)...)
	// Start's context must outlive the call: the SSE transport ties its
	// event stream to it.
	if err := c.Start(context.Background()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "igmcp-http-test", Version: "1"}
	init.Params.ProtocolVersion = era
	if _, err := c.Initialize(ctx, init); err != nil {
		_ = c.Close()
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, nil
}

func (e *srvEnv) mustConnect(t testing.TB, kind transportKind, era, token string) *client.Client {
	t.Helper()
	c, err := e.connect(t, kind, era, token)
	if err != nil {
		t.Fatalf("connect %s %s: %v", kind, eraName(era), err)
	}
	return c
}

func callTool(ctx context.Context, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	return c.CallTool(ctx, req)
}

// errKind is structuredContent.error.kind of an error result, "" otherwise.
func errKind(res *mcp.CallToolResult) (kind, message string) {
	if res == nil || !res.IsError {
		return "", ""
	}
	m, _ := res.StructuredContent.(map[string]any)
	e, _ := m["error"].(map[string]any)
	k, _ := e["kind"].(string)
	msg, _ := e["message"].(string)
	return k, msg
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func isServerClosed(err error) bool { return err == nil || errors.Is(err, http.ErrServerClosed) }
