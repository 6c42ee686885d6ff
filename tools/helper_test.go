package tools_test

import (
	"context"
	"encoding/json"
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

var fastRetry = graph.RetryPolicy{MaxTries: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: time.Second}

type testEnv struct {
	fake    *fakegraph.Server
	account fakegraph.Account
	store   store.Store
	server  *server.MCPServer
	client  *client.Client
	mu      sync.Mutex
	notes   []mcp.JSONRPCNotification
}

type envOpts struct {
	fake      fakegraph.Options
	era       string
	selection tools.Selection
	noToken   bool
	sandbox   bool
}

func newEnv(t *testing.T, o envOpts) *testEnv {
	t.Helper()
	fake := fakegraph.New(o.fake)
	base, stop := fake.Start()
	t.Cleanup(stop)
	acct := fakegraph.DefaultAccount
	if len(o.fake.Accounts) > 0 {
		acct = o.fake.Accounts[0]
	}
	newClient := func(ts oauth2.TokenSource) (*graph.Client, error) {
		return graph.NewClient(graph.WithBaseURL(base), graph.WithTokenSource(ts), graph.WithRetryPolicy(fastRetry),
			graph.WithLimiter(ratelimit.New(ratelimit.Config{}).For(acct.ID)))
	}
	var ts oauth2.TokenSource
	if !o.noToken {
		ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token})
	}
	accounts, err := auth.NewSingle(ts, acct.ID, auth.LoginFacebook, newClient)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	deps := &tools.Deps{Accounts: accounts, Publisher: publish.New(st, publish.WithPollPolicy(fastPolls), publish.WithSendGrace(sendGrace)), Journal: st, Sandbox: o.sandbox}
	rawSrv := tools.NewServer(deps, "test", o.selection)
	srv := rawSrv
	e := &testEnv{fake: fake, account: acct, store: st, server: rawSrv}
	e.client = startClient(t, srv, o.era, e.record)
	return e
}

// call invokes a tool through the MCP client and checks invariants every
// result must keep: structured content present, no secret anywhere.
func (e *testEnv) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	return e.callCtx(t, context.Background(), name, args, nil)
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
