// Package toolstest builds igmcp's MCP server (tools.NewServer) over the
// fake Graph API for tests: the tools tests and the views browser tests
// share it, so both exercise the server as cmd/igmcp wires it (a durable
// store, the exactly-once publisher, a scheduler), at test speed.
package toolstest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

// FastPolls keeps the publish lifecycle's shape (backoff, deadlines) at
// test speed.
var FastPolls = publish.PollPolicy{
	Image: publish.Backoff{Initial: 2 * time.Millisecond, Max: 10 * time.Millisecond, Factor: 1.5},
	Video: publish.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.6},
}

// FastRetry is the Graph client's retry policy at test speed.
var FastRetry = graph.RetryPolicy{MaxTries: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: time.Second}

// SendGrace is the publishers' IGMCP_SEND_GRACE (default 2 min): how long a
// media_publish whose answer was lost may still take effect.
const SendGrace = time.Second

// Options describe the server.
type Options struct {
	// Account is the fake Graph API's account the server acts as.
	Account fakegraph.Account
	// Login is the account's login flow; empty means Facebook Login.
	Login auth.Login
	// NoToken configures no access token (every call is auth_expired).
	NoToken bool
	// DiscoverAccount configures no account id (no INSTAGRAM_USER_ID): the
	// id and the username are learnt from the token, so the username is
	// known to the tools from the first call.
	DiscoverAccount bool
	// Sandbox marks results as --sandbox does.
	Sandbox bool
	// Selection picks the toolsets (zero: every toolset).
	Selection tools.Selection
	// Media sets the media part of the tools' Deps: Preflight, Stager,
	// MediaRoot, Files, Upload, Hashtags (its other fields are ignored).
	Media tools.Deps
	// Configure, when set, completes the Deps (e.g. the webhook events) with
	// the server's store before the server is built.
	Configure func(d *tools.Deps, st store.Store)
}

// Server is a built server and what it was built with.
type Server struct {
	MCP       *server.MCPServer
	Deps      *tools.Deps
	Store     store.Store
	Scheduler *scheduler.Scheduler // not running: see RunScheduler
}

// New builds the server over the fake Graph API at graphURL, with its own
// store (in a temporary directory), publisher and rate budget, as one
// igmcp process would have.
func New(t testing.TB, graphURL string, o Options) *Server {
	t.Helper()
	login := o.Login
	if login == "" {
		login = auth.LoginFacebook
	}
	acct := o.Account
	newClient := func(ts oauth2.TokenSource) (*graph.Client, error) {
		return graph.NewClient(graph.WithBaseURL(graphURL), graph.WithTokenSource(ts), graph.WithRetryPolicy(FastRetry),
			graph.WithLimiter(ratelimit.New(ratelimit.Config{}).For(acct.ID)))
	}
	var ts oauth2.TokenSource
	if !o.NoToken {
		ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token})
	}
	userID := acct.ID
	if o.DiscoverAccount {
		userID = ""
	}
	accounts, err := auth.NewSingle(ts, userID, login, newClient)
	if err != nil {
		t.Fatal(err)
	}
	st := OpenStore(t, t.TempDir())
	m := o.Media
	pub := NewPublisher(st, &m)
	sched, err := scheduler.New(scheduler.Config{Store: st, Accounts: accounts, Publisher: pub, Tick: 20 * time.Millisecond, RetryBase: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deps := &tools.Deps{Accounts: accounts, Publisher: pub, Journal: st, Scheduler: sched, Sandbox: o.Sandbox,
		Preflight: m.Preflight, Stager: m.Stager, MediaRoot: m.MediaRoot, Files: m.Files, Upload: m.Upload, Hashtags: m.Hashtags}
	if o.Configure != nil {
		o.Configure(deps, st)
	}
	return &Server{MCP: tools.NewServer(deps, "test", o.Selection), Deps: deps, Store: st, Scheduler: sched}
}

// NewPublisher is the publisher cmd/igmcp builds: local files staged and
// uploaded, and media preflighted, as the media part of m says.
func NewPublisher(st store.Store, m *tools.Deps) *publish.Publisher {
	opts := []publish.Option{publish.WithPollPolicy(FastPolls), publish.WithSendGrace(SendGrace),
		publish.WithLocalMedia(publish.Local{Stager: m.Stager, Upload: m.Upload})}
	if m.Preflight != nil {
		opts = append(opts, publish.WithPreflight(m.Preflight.Check))
	}
	return publish.New(st, opts...)
}

// OpenStore opens one handle on the SQLite database in dir, closed when the
// test ends; separate handles on one dir stand for separate processes.
func OpenStore(t testing.TB, dir string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// RunScheduler runs the server's scheduler until the test ends.
func (s *Server) RunScheduler(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Scheduler.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// Connect starts an in-process MCP client on srv in the given protocol era
// ("" = the client's default, 2026-07-28), passing notifications to onNote
// (if any); it is closed when the test ends.
func Connect(t testing.TB, srv *server.MCPServer, era string, onNote func(mcp.JSONRPCNotification), opts ...client.ClientOption) *client.Client {
	t.Helper()
	if era != "" {
		opts = append(opts, client.WithProtocolVersion(era))
	}
	c, err := client.NewInProcessClientWithOptions(srv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if onNote != nil {
		c.OnNotification(onNote)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "igmcp-test", Version: "1"}
	init.Params.ProtocolVersion = era
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Structured is a tool result's structuredContent as a map, as a client
// that decodes JSON sees it.
func Structured(t testing.TB, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
