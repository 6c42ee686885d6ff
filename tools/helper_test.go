package tools_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// Both protocol eras mcp-go speaks: the stateless 2026-07-28 (the client's
// default) and the initialize handshake of 2025-11-25.
var eras = []string{"", mcp.LATEST_LEGACY_PROTOCOL_VERSION}

func eraName(v string) string {
	if v == "" {
		return "default"
	}
	return v
}

// fastPolls keeps the lifecycle's shape (backoff, deadlines) at test speed.
var fastPolls = publish.PollPolicy{
	Image: publish.Backoff{Initial: 2 * time.Millisecond, Max: 10 * time.Millisecond, Factor: 1.5},
	Video: publish.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.6},
}

// sendGrace is the publishers' IGMCP_SEND_GRACE (default 2 min): how long a
// media_publish whose answer was lost may still take effect.
const sendGrace = time.Second

// newPublisher is the publisher cmd/igmcp builds: local files staged and
// uploaded, and media preflighted, as the media part of m says.
func newPublisher(st store.Store, m *tools.Deps) *publish.Publisher {
	opts := []publish.Option{publish.WithPollPolicy(fastPolls), publish.WithSendGrace(sendGrace),
		publish.WithLocalMedia(publish.Local{Stager: m.Stager, Upload: m.Upload})}
	if m.Preflight != nil {
		opts = append(opts, publish.WithPreflight(m.Preflight.Check))
	}
	return publish.New(st, opts...)
}

var fastRetry = graph.RetryPolicy{MaxTries: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: time.Second}

// testEnv is an MCP client talking to the real server (tools.NewServer,
// every tool of every toolset unless the selection says otherwise) over the
// fake Graph API, with a durable store and a scheduler (not running until
// runScheduler).
type testEnv struct {
	fake    *fakegraph.Server
	base    string
	account fakegraph.Account
	store   store.Store
	sched   *scheduler.Scheduler
	server  *server.MCPServer
	client  *client.Client
	// hooks is the webhook receiver and hub (envOpts.webhooks).
	hooks *hookEnv
	mu    sync.Mutex
	notes []mcp.JSONRPCNotification
}

type envOpts struct {
	fake      fakegraph.Options
	era       string
	selection tools.Selection
	noToken   bool
	sandbox   bool
	// sandboxFake runs the fake as --sandbox does (fakegraph.NewSandbox).
	sandboxFake bool
	login       auth.Login
	// media sets the media part of Deps: Preflight, Stager, MediaRoot,
	// Files, Upload, Hashtags (the other fields are ignored).
	media tools.Deps
	// webhooks connects the fake's webhook sender to a receiver on the
	// env's store, with a hub telling the server of new events.
	webhooks bool
}

func newEnv(t *testing.T, o envOpts) *testEnv {
	t.Helper()
	if o.fake.StatusLag == 0 && !o.fake.Optimistic {
		// the fake's status lag (2 s) scaled down with the send grace,
		// inside which it must stay (as 2 s is inside 2 minutes)
		o.fake.StatusLag = sendGrace / 10
	}
	if len(o.fake.Accounts) == 0 {
		acct := fakegraph.DefaultAccount
		if o.login == auth.LoginInstagram {
			acct = fakegraph.Account{ID: "17841400000000042", Username: "ig_login_creator", Token: "IGAAsandbox", Login: fakegraph.LoginInstagram}
		}
		o.fake.Accounts = []fakegraph.Account{acct}
	}
	fake := fakegraph.New(o.fake)
	if o.sandboxFake {
		fake = fakegraph.NewSandbox(o.fake)
	}
	base, stop := fake.Start()
	t.Cleanup(stop)
	return newEnvOn(t, fake, base, o)
}

// newEnvOn is another server (its own store, publisher and budget) over an
// existing fake, as a second process would be; o.fake.Accounts[0] is the
// account it acts as.
func newEnvOn(t *testing.T, fake *fakegraph.Server, base string, o envOpts) *testEnv {
	t.Helper()
	login := o.login
	if login == "" {
		login = auth.LoginFacebook
	}
	acct := o.fake.Accounts[0]
	newClient := func(ts oauth2.TokenSource) (*graph.Client, error) {
		return graph.NewClient(graph.WithBaseURL(base), graph.WithTokenSource(ts), graph.WithRetryPolicy(fastRetry),
			graph.WithLimiter(ratelimit.New(ratelimit.Config{}).For(acct.ID)))
	}
	var ts oauth2.TokenSource
	if !o.noToken {
		ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token})
	}
	accounts, err := auth.NewSingle(ts, acct.ID, login, newClient)
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, t.TempDir())
	m := o.media
	pub := newPublisher(st, &m)
	sched, err := scheduler.New(scheduler.Config{Store: st, Accounts: accounts, Publisher: pub, Tick: 20 * time.Millisecond, RetryBase: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deps := &tools.Deps{Accounts: accounts, Publisher: pub, Journal: st, Scheduler: sched, Sandbox: o.sandbox,
		Preflight: m.Preflight, Stager: m.Stager, MediaRoot: m.MediaRoot, Files: m.Files, Upload: m.Upload, Hashtags: m.Hashtags}
	var hooks *hookEnv
	if o.webhooks {
		hooks = connectHooks(t, fake, st)
		deps.Events, deps.EventNotices = st, hooks.hub
	}
	srv := tools.NewServer(deps, "test", o.selection)
	e := &testEnv{fake: fake, base: base, account: acct, store: st, sched: sched, server: srv, hooks: hooks}
	e.client = startClient(t, srv, o.era, e.record)
	return e
}

// openStore opens one handle on the SQLite database in dir; separate
// handles on one dir stand for separate processes.
func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// runScheduler runs the scheduler until the test ends.
func (e *testEnv) runScheduler(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.sched.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// call invokes a tool through the MCP client and checks invariants every
// result must keep: structured content present, no secret anywhere.
func (e *testEnv) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	return e.callCtx(t, context.Background(), name, args, nil)
}

func (e *testEnv) callMeta(t *testing.T, name string, args map[string]any, meta *mcp.Meta) *mcp.CallToolResult {
	t.Helper()
	return e.callCtx(t, context.Background(), name, args, meta)
}

func (e *testEnv) callCtx(t *testing.T, ctx context.Context, name string, args map[string]any, meta *mcp.Meta) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = meta
	res, err := e.client.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	if res.StructuredContent == nil {
		t.Fatalf("%s: no structuredContent: %+v", name, res.Content)
	}
	raw, _ := json.Marshal(res)
	if strings.Contains(string(raw), e.account.Token) {
		t.Fatalf("%s: result contains the access token", name)
	}
	return res
}

// structured decodes structuredContent into a map.
func structured(t *testing.T, res *mcp.CallToolResult) map[string]any {
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

func mustOK(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	m := structured(t, res)
	if res.IsError {
		t.Fatalf("unexpected error result: %v", m)
	}
	return m
}

// mustErr asserts an error result of the given kind and returns its error
// object.
func mustErr(t *testing.T, res *mcp.CallToolResult, kind string) map[string]any {
	t.Helper()
	m := structured(t, res)
	if !res.IsError {
		t.Fatalf("want error %s, got success: %v", kind, m)
	}
	errObj, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("error result without error object: %v", m)
	}
	for _, k := range []string{"kind", "message", "retryable", "action"} {
		if _, ok := errObj[k]; !ok {
			t.Fatalf("error object lacks %q: %v", k, errObj)
		}
	}
	if errObj["kind"] != kind {
		t.Fatalf("want kind %s, got %v (%v)", kind, errObj["kind"], errObj["message"])
	}
	if _, isBool := errObj["retryable"].(bool); !isBool {
		t.Fatalf("retryable is not a boolean: %v", errObj["retryable"])
	}
	if a, _ := errObj["action"].(string); strings.TrimSpace(a) == "" {
		t.Fatalf("empty action: %v", errObj)
	}
	return errObj
}

// text is the result's text content, what many hosts hand the model.
func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("want one text content, got %+v", res.Content)
	}
	tc, ok := res.Content[0].(mcp.TextContent)
	if !ok {
		t.Fatalf("content is not text: %+v", res.Content[0])
	}
	return tc.Text
}

func (e *testEnv) record(n mcp.JSONRPCNotification) {
	e.mu.Lock()
	e.notes = append(e.notes, n)
	e.mu.Unlock()
}

func (e *testEnv) notifications(method string) []mcp.JSONRPCNotification {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []mcp.JSONRPCNotification
	for _, n := range e.notes {
		if n.Method == method {
			out = append(out, n)
		}
	}
	return out
}

// progress is the params of every notifications/progress received.
func (e *testEnv) progress() []map[string]any {
	var out []map[string]any
	for _, n := range e.notifications(string(mcp.MethodNotificationProgress)) {
		b, _ := json.Marshal(n.Params)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out = append(out, m)
	}
	return out
}

// graphCalls is the number of requests the fake saw.
func (e *testEnv) graphCalls() int { return len(e.fake.Calls()) }

// publishImage publishes an image post straight through the fake's API
// (test setup, not under test).
func (e *testEnv) publishImage(t *testing.T, url, caption string) string {
	t.Helper()
	return e.publishVia(t, &graph.ContainerRequest{ImageURL: url, Caption: caption})
}

func (e *testEnv) publishVia(t *testing.T, req *graph.ContainerRequest) string {
	t.Helper()
	c, err := graph.NewClient(graph.WithBaseURL(e.base), graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.account.Token})))
	if err != nil {
		t.Fatal(err)
	}
	ct, _, err := c.CreateContainer(t.Context(), e.account.ID, req)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(hangGuard)
	for {
		m, _, err := c.Publish(t.Context(), e.account.ID, ct.ID)
		if err == nil {
			return m.ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not publish: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hangGuard bounds every wait on a condition; it is a safety net against a
// hang, not a timing assertion.
const hangGuard = 30 * time.Second

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const jpeg = "https://cdn.example.com/photo.jpg"
const mp4 = "https://cdn.example.com/clip.mp4"

// startClient connects an in-process MCP client to srv in the given protocol
// era ("" = the client's default, 2026-07-28), passing notifications to
// onNote (if any); it is closed when the test ends.
func startClient(t *testing.T, srv *server.MCPServer, era string, onNote func(mcp.JSONRPCNotification), opts ...client.ClientOption) *client.Client {
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
