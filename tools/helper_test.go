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
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/tools/toolstest"
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

// The shared test wiring (tools/toolstest), under the names these tests use.
var (
	fastPolls = toolstest.FastPolls
	fastRetry = toolstest.FastRetry
	openStore = toolstest.OpenStore
)

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
	built   *toolstest.Server
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
		o.fake.StatusLag = toolstest.SendGrace / 10
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
	acct := o.fake.Accounts[0]
	var hooks *hookEnv
	configure := func(d *tools.Deps, st store.Store) {
		if o.webhooks {
			hooks = connectHooks(t, fake, st)
			d.Events, d.EventNotices = st, hooks.hub
		}
	}
	srv := toolstest.New(t, base, toolstest.Options{Account: acct, Login: o.login, NoToken: o.noToken,
		Sandbox: o.sandbox, Selection: o.selection, Media: o.media, Configure: configure})
	e := &testEnv{fake: fake, base: base, account: acct, store: srv.Store, sched: srv.Scheduler, server: srv.MCP, built: srv, hooks: hooks}
	e.client = startClient(t, srv.MCP, o.era, e.record)
	return e
}

// runScheduler runs the scheduler until the test ends.
func (e *testEnv) runScheduler(t *testing.T) { e.built.RunScheduler(t) }

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

func mustOK(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	m := toolstest.Structured(t, res)
	if res.IsError {
		t.Fatalf("unexpected error result: %v", m)
	}
	return m
}

// mustErr asserts an error result of the given kind and returns its error
// object.
func mustErr(t *testing.T, res *mcp.CallToolResult, kind string) map[string]any {
	t.Helper()
	m := toolstest.Structured(t, res)
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

// mustRefuse calls tool with args and expects invalid_input on field,
// before any Graph call.
func (e *testEnv) mustRefuse(t *testing.T, tool string, args map[string]any, field string) {
	t.Helper()
	before := e.graphCalls()
	errObj := mustErr(t, e.call(t, tool, args), "invalid_input")
	if errObj["field"] != field {
		t.Errorf("field %v, want %q (%v)", errObj["field"], field, errObj["message"])
	}
	if after := e.graphCalls(); after != before {
		t.Errorf("invalid input reached the Graph API (%d calls)", after-before)
	}
}

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
// era ("" = the client's default, 2026-07-28), passing notifications to onNote
// (if any); it is closed when the test ends.
func startClient(t *testing.T, srv *server.MCPServer, era string, onNote func(mcp.JSONRPCNotification), opts ...client.ClientOption) *client.Client {
	t.Helper()
	return toolstest.Connect(t, srv, era, onNote, opts...)
}
