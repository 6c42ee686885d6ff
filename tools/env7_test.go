package tools_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
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

// env7 is an MCP client talking to a server that has every tool — the
// registered ones and MediaTools — over the fake Graph API.
type env7 struct {
	fake    *fakegraph.Server
	base    string
	account fakegraph.Account
	client  *client.Client
	store   store.Store
	mu      sync.Mutex
	notes   []mcp.JSONRPCNotification
}

type env7Opts struct {
	fake  fakegraph.Options
	era   string
	media *tools.MediaDeps
	login auth.Login
	sel   tools.Selection
}

func newEnv7(t *testing.T, o env7Opts) *env7 {
	t.Helper()
	login := o.login
	if login == "" {
		login = auth.LoginFacebook
	}
	if len(o.fake.Accounts) == 0 {
		acct := fakegraph.DefaultAccount
		if login == auth.LoginInstagram {
			acct = fakegraph.Account{ID: "17841400000000042", Username: "ig_login_creator", Token: "IGAAsandbox", Login: fakegraph.LoginInstagram}
		}
		o.fake.Accounts = []fakegraph.Account{acct}
	}
	fake := fakegraph.New(o.fake)
	base, stop := fake.Start()
	t.Cleanup(stop)
	return newEnv7On(t, fake, base, o)
}

// newEnv7On is another MCP server (its own store, publisher and budget) over
// an existing fake; o.fake.Accounts[0] is the account it acts as.
func newEnv7On(t *testing.T, fake *fakegraph.Server, base string, o env7Opts) *env7 {
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
	accounts, err := auth.NewSingle(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token}), acct.ID, login, newClient)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	deps := &tools.Deps{Accounts: accounts, Publisher: newPublisher(st, o.media), Journal: st}
	srv := server.NewMCPServer("igmcp", "test", server.WithToolCapabilities(false), server.WithLogging(),
		server.WithRecovery(), server.WithOutputSchemaValidation())
	// Once Deps has the Media field (the wiring of issue 7), All uses it.
	if f := reflect.ValueOf(deps).Elem().FieldByName("Media"); f.IsValid() && o.media != nil {
		f.Set(reflect.ValueOf(o.media))
	}
	for _, tl := range tools.Select(withMediaTools(deps, o.media), o.sel) {
		srv.AddTool(tl.Tool, tl.Handler)
	}
	e := &env7{fake: fake, base: base, account: acct, store: st}
	e.client = startClient(t, srv, o.era, func(n mcp.JSONRPCNotification) {
		e.mu.Lock()
		e.notes = append(e.notes, n)
		e.mu.Unlock()
	})
	return e
}

// newPublisher is the publisher cmd/igmcp builds: local files staged and
// uploaded, and media preflighted, as m says.
func newPublisher(st store.Store, m *tools.MediaDeps) *publish.Publisher {
	opts := []publish.Option{publish.WithPollPolicy(fastPolls), publish.WithSendGrace(sendGrace)}
	if m != nil {
		opts = append(opts, publish.WithLocalMedia(publish.Local{Stager: m.Stager, Upload: m.Upload}))
		if m.Preflight != nil {
			opts = append(opts, publish.WithPreflight(m.Preflight.Check))
		}
	}
	return publish.New(st, opts...)
}

// withMediaTools is every tool: All, plus MediaTools until All lists them.
func withMediaTools(d *tools.Deps, m *tools.MediaDeps) []tools.Tool {
	all := tools.All(d)
	if mediaToolsWired(d) {
		return all
	}
	return append(all, tools.MediaTools(d, m)...)
}

// mediaToolsWired reports whether tools.All already lists MediaTools.
func mediaToolsWired(d *tools.Deps) bool {
	for _, t := range tools.All(d) {
		if t.Tool.Name == "publish_story" {
			return true
		}
	}
	return false
}

func (e *env7) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	return e.callMeta(t, name, args, nil)
}

func (e *env7) callMeta(t *testing.T, name string, args map[string]any, meta *mcp.Meta) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = meta
	res, err := e.client.CallTool(context.Background(), req)
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

func (e *env7) progress() []map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []map[string]any
	for _, n := range e.notes {
		if n.Method == string(mcp.MethodNotificationProgress) {
			b, _ := json.Marshal(n.Params)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			out = append(out, m)
		}
	}
	return out
}

// graphCalls is the number of requests the fake saw.
func (e *env7) graphCalls() int { return len(e.fake.Calls()) }

// publishImage publishes an image post straight through the fake's API
// (test setup, not under test).
func (e *env7) publishImage(t *testing.T, url, caption string) string {
	t.Helper()
	return e.publishVia(t, &graph.ContainerRequest{ImageURL: url, Caption: caption})
}

func (e *env7) publishVia(t *testing.T, req *graph.ContainerRequest) string {
	t.Helper()
	c, err := graph.NewClient(graph.WithBaseURL(e.base), graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.account.Token})))
	if err != nil {
		t.Fatal(err)
	}
	ct, _, err := c.CreateContainer(t.Context(), e.account.ID, req)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		m, _, err := c.Publish(t.Context(), e.account.ID, ct.ID)
		if err == nil {
			return m.ID
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("could not publish")
	return ""
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
