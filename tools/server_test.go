package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/webhooks"
)

// Two accounts on one fake, for the scoping tests: a multi-account source
// is what a shared deployment will have, so the middleware is tested
// against one, not only against auth.Single.
var (
	brandA = fakegraph.Account{ID: "17841400000000011", Username: "brand_a", Token: "EAAbrandA"}
	brandB = fakegraph.Account{ID: "17841400000000022", Username: "brand_b", Token: "EAAbrandB"}
)

// multiAccounts resolves `account` among several accounts, like a token
// store would.
type multiAccounts struct{ accts []*auth.Account }

func (m *multiAccounts) Resolve(_ context.Context, name string) (*auth.Account, error) {
	name = scope.Normalize(name)
	if name == "" {
		return m.accts[0], nil
	}
	for _, a := range m.accts {
		if name == a.ID || strings.EqualFold(name, a.Username) {
			return a, nil
		}
	}
	return nil, failure.Invalid("account", "unknown account %q", name)
}

func (m *multiAccounts) List(context.Context) ([]*auth.Account, error) { return m.accts, nil }

func newDeps(accounts tools.Accounts, st store.Store) *tools.Deps {
	return &tools.Deps{Accounts: accounts, Publisher: publish.New(st, publish.WithPollPolicy(fastPolls)), Journal: st}
}

type mcpEnv struct {
	st     store.Store
	srv    *server.MCPServer
	fake   *fakegraph.Server
	client *client.Client
	mu     sync.Mutex
	notes  []mcp.JSONRPCNotification
}

type mcpEnvOpts struct {
	era       string
	confirm   bool
	elicit    client.ElicitationHandler
	selection tools.Selection
	fake      fakegraph.Options
	single    bool // auth.Single on the first account, configured by id only
	sandbox   bool
	// signals: the store's signals reach the server through a hub, as in
	// igmcp (Deps.Signals).
	signals bool
}

// newMCPEnv builds the real server (tools.NewServer) around the fake with
// the options these tests need (several accounts, confirmation, an
// elicitation handler) and connects an in-process client.
func newMCPEnv(t *testing.T, o mcpEnvOpts) *mcpEnv {
	t.Helper()
	if len(o.fake.Accounts) == 0 {
		o.fake.Accounts = []fakegraph.Account{brandA, brandB}
	}
	fake := fakegraph.New(o.fake)
	base, stop := fake.Start()
	t.Cleanup(stop)
	newClient := func(ts oauth2.TokenSource) (*graph.Client, error) {
		return graph.NewClient(graph.WithBaseURL(base), graph.WithTokenSource(ts), graph.WithRetryPolicy(fastRetry))
	}
	var accounts tools.Accounts
	if o.single {
		a := o.fake.Accounts[0]
		s, err := auth.NewSingle(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: a.Token}), a.ID, auth.LoginFacebook, newClient)
		if err != nil {
			t.Fatal(err)
		}
		accounts = s
	} else {
		m := &multiAccounts{}
		for _, a := range o.fake.Accounts {
			c, err := newClient(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: a.Token}))
			if err != nil {
				t.Fatal(err)
			}
			m.accts = append(m.accts, &auth.Account{ID: a.ID, Username: a.Username, Login: auth.LoginFacebook, Client: c})
		}
		accounts = m
	}
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	deps := newDeps(accounts, st)
	deps.Confirm, deps.Sandbox, deps.Confirmations = o.confirm, o.sandbox, st
	if o.signals {
		hub := webhooks.NewHub(st)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		if err := hub.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deps.Signals = hub
	}
	e0 := &mcpEnv{st: st}
	srv := tools.NewServer(deps, "test", o.selection)
	var copts []client.ClientOption
	if o.elicit != nil {
		copts = append(copts, client.WithElicitationHandler(o.elicit))
	}
	e := e0
	e.srv, e.fake = srv, fake
	e.client = startClient(t, srv, o.era, func(n mcp.JSONRPCNotification) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.notes = append(e.notes, n)
	}, copts...)
	return e
}

func (e *mcpEnv) call(t *testing.T, ctx context.Context, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := e.client.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

func (e *mcpEnv) notifications(method string) []mcp.JSONRPCNotification {
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

func toolNames(t *testing.T, ctx context.Context, c *client.Client) []string {
	t.Helper()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

func TestScope_ToolsListShowsOnlyGrantedToolsets(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newMCPEnv(t, mcpEnvOpts{era: era})
			all := toolNames(t, context.Background(), e.client)
			ctx := scope.With(context.Background(), &scope.Grant{Name: "reporting", Toolsets: []string{tools.ToolsetInsights}})
			got := toolNames(t, ctx, e.client)
			if len(got) == 0 || len(got) >= len(all) {
				t.Fatalf("scoped list %v, full list %v", got, all)
			}
			for _, n := range got {
				if n != "get_insights" && !strings.HasPrefix(n, "list_") && !strings.HasPrefix(n, "get_") {
					t.Fatalf("insights-only token sees %s", n)
				}
			}
			for _, hidden := range []string{"create_post", "publish_reel", "reply_comment"} {
				if contains(got, hidden) {
					t.Fatalf("insights-only token sees %s: %v", hidden, got)
				}
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestScope_CallOutsideToolsetIsPermissionDenied(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newMCPEnv(t, mcpEnvOpts{era: era})
			ctx := scope.With(context.Background(), &scope.Grant{Name: "reporting", Toolsets: []string{tools.ToolsetInsights}})
			res := e.call(t, ctx, "create_post", map[string]any{"image_url": jpeg})
			errObj := mustErr(t, res, "permission_denied")
			if !strings.Contains(errObj["message"].(string), "publish") {
				t.Fatalf("message does not name the toolset: %v", errObj)
			}
			if n := len(e.fake.Calls()); n != 0 {
				t.Fatalf("denied call reached Instagram: %d calls", n)
			}
		})
	}
}

func TestScope_OtherAccountsAreDenied(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newMCPEnv(t, mcpEnvOpts{era: era})
			teamB := scope.With(context.Background(), &scope.Grant{Name: "team-b", Accounts: []string{"@Brand_B"}})
			for _, acct := range []string{brandA.ID, "brand_a", "@brand_a", ""} { // "" is the default account, brand_a
				res := e.call(t, teamB, "get_insights", map[string]any{"account": acct, "metrics": []string{"reach"}})
				mustErr(t, res, "permission_denied")
			}
			if n := e.fake.CountCalls("GET", "/insights"); n != 0 {
				t.Fatalf("denied calls reached Instagram: %d insights calls", n)
			}
			for _, acct := range []string{brandB.ID, "brand_b"} {
				res := e.call(t, teamB, "get_insights", map[string]any{"account": acct, "metrics": []string{"reach"}})
				if res.IsError {
					t.Fatalf("own account %s refused: %v", acct, res.StructuredContent)
				}
			}
			// Publishing as another account is refused before anything is created.
			res := e.call(t, teamB, "create_post", map[string]any{"account": "brand_a", "image_url": jpeg})
			mustErr(t, res, "permission_denied")
			if len(e.fake.Containers()) != 0 {
				t.Fatal("a container was created for a denied account")
			}
		})
	}
}

// A grant naming a username while the server knows the account only by id
// (INSTAGRAM_USER_ID without a username) is settled by one username read.
func TestScope_UsernameGrantWithIDOnlyAccount(t *testing.T) {
	t.Parallel()
	e := newMCPEnv(t, mcpEnvOpts{single: true})
	ok := scope.With(context.Background(), &scope.Grant{Name: "a", Accounts: []string{"brand_a"}})
	if res := e.call(t, ok, "get_insights", map[string]any{"metrics": []string{"reach"}}); res.IsError {
		t.Fatalf("grant by username refused: %v", res.StructuredContent)
	}
	no := scope.With(context.Background(), &scope.Grant{Name: "b", Accounts: []string{"brand_b"}})
	mustErr(t, e.call(t, no, "get_insights", map[string]any{"metrics": []string{"reach"}}), "permission_denied")
}

func TestLogNotifications_OnlyAfterSetLevel(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newMCPEnv(t, mcpEnvOpts{era: era})
			ctx := context.Background()
			// No level: nothing may be sent.
			e.call(t, ctx, "get_container_status", map[string]any{"container_id": "123"})
			if n := len(e.notifications("notifications/message")); n != 0 {
				t.Fatalf("%d log notifications without a level", n)
			}
			if err := e.client.SetLevel(ctx, mcp.SetLevelRequest{Params: mcp.SetLevelParams{Level: mcp.LoggingLevelInfo}}); err != nil {
				t.Fatal(err)
			}
			res := e.call(t, ctx, "get_container_status", map[string]any{"container_id": "123"})
			if !res.IsError {
				t.Fatalf("unknown container: %v", res.StructuredContent)
			}
			res = e.call(t, ctx, "create_post", map[string]any{"image_url": jpeg})
			if res.IsError {
				t.Fatalf("create_post: %v", res.StructuredContent)
			}
			var warned, informed bool
			// Notifications travel apart from results: wait for them.
			deadline := time.Now().Add(5 * time.Second)
			for len(e.notifications("notifications/message")) < 2 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
			for _, n := range e.notifications("notifications/message") {
				b, _ := json.Marshal(n.Params)
				s := string(b)
				if strings.Contains(s, `"level":"debug"`) {
					t.Fatalf("debug notification at level info: %s", s)
				}
				if strings.Contains(s, `"level":"warning"`) && strings.Contains(s, "get_container_status") && strings.Contains(s, "not_found") {
					warned = true
				}
				if strings.Contains(s, `"level":"info"`) && strings.Contains(s, "create_post") && strings.Contains(s, "published") {
					informed = true
				}
				for _, secret := range []string{brandA.Token, brandB.Token} {
					if strings.Contains(s, secret) {
						t.Fatal("a log notification carries an access token")
					}
				}
			}
			if !warned || !informed {
				t.Fatalf("want a warning for the failed call and info for the publish; got %v", e.notifications("notifications/message"))
			}
		})
	}
}

// Every output schema admits the docs/reference.md §4 error object (clients on the
// TypeScript SDK validate error results too) and still requires the success
// fields otherwise.
func TestOutputSchemas_AdmitErrorResults(t *testing.T) {
	t.Parallel()
	e := newMCPEnv(t, mcpEnvOpts{})
	resp := e.srv.HandleMessage(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	wire, _ := json.Marshal(resp)
	var msg struct {
		Result struct {
			Tools []struct {
				Name         string `json:"name"`
				OutputSchema struct {
					Required []string              `json:"required"`
					AnyOf    []map[string][]string `json:"anyOf"`
				} `json:"outputSchema"`
			} `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(wire, &msg); err != nil {
		t.Fatal(err)
	}
	for _, tl := range msg.Result.Tools {
		o := tl.OutputSchema
		if len(o.Required) != 0 {
			t.Fatalf("%s: top-level required %v rejects error results", tl.Name, o.Required)
		}
		if o.AnyOf == nil {
			continue // nothing was required
		}
		if len(o.AnyOf) != 2 || len(o.AnyOf[0]["required"]) == 0 || !slices.Equal(o.AnyOf[1]["required"], []string{"error"}) {
			t.Fatalf("%s: anyOf %v", tl.Name, o.AnyOf)
		}
	}
}

func TestErrorResult_Shape(t *testing.T) {
	t.Parallel()
	res := tools.ErrorResult(fmt.Errorf("wrapped: %w", failure.New(failure.Transient, "x")))
	if !res.IsError {
		t.Fatal("not an error result")
	}
	mustErr(t, res, "transient")
}
