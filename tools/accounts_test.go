package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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
	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/tools/toolstest"
)

var (
	laFB = fakegraph.Account{ID: "17841400000000051", Username: "la_brand", Token: "EAAlabrand"}
	laIG = fakegraph.Account{ID: "17841400000000061", Username: "la_creator", Token: "IGAAlacreator", Login: fakegraph.LoginInstagram}
)

type laEnv struct {
	fake   *fakegraph.Server
	reg    *auth.Registry
	deps   *tools.Deps
	client *client.Client
}

// newLAEnv serves the tools (tools.NewServer) over a token-store registry.
func newLAEnv(t *testing.T, fo fakegraph.Options, recs ...auth.Record) *laEnv {
	t.Helper()
	fake := fakegraph.New(fo)
	base, stop := fake.Start()
	t.Cleanup(stop)
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key, err := auth.LoadKey(auth.KeyConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokenStore(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if _, err := tokens.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	gov := ratelimit.New(ratelimit.Config{})
	reg, err := auth.NewRegistry(ctx, auth.RegistryConfig{Tokens: tokens,
		GraphOptions: func(id string, _ auth.Login) []graph.Option {
			return []graph.Option{graph.WithBaseURL(base), graph.WithRetryPolicy(fastRetry), graph.WithLimiter(gov.For(id))}
		}})
	if err != nil {
		t.Fatal(err)
	}
	deps := &tools.Deps{Accounts: reg, Publisher: publish.New(st, publish.WithPollPolicy(fastPolls)), Journal: st}
	srv := tools.NewServer(deps, "test", tools.Selection{})
	return &laEnv{fake: fake, reg: reg, deps: deps, client: connectLA(t, srv)}
}

func connectLA(t *testing.T, srv *server.MCPServer) *client.Client {
	t.Helper()
	return startClient(t, srv, "", nil)
}

func (e *laEnv) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	return e.callCtx(t, context.Background(), name, args)
}

func (e *laEnv) callCtx(t *testing.T, ctx context.Context, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := e.client.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(res)
	for _, tok := range []string{laFB.Token, laIG.Token} {
		if strings.Contains(string(raw), tok) || strings.Contains(string(raw), graph.AppSecretProof("x", tok)) {
			t.Fatalf("%s: result contains a token", name)
		}
	}
	return res
}

func laRecords(expiry time.Time) []auth.Record {
	return []auth.Record{
		{AccountID: laFB.ID, Username: laFB.Username, Login: auth.LoginFacebook, Token: auth.Secret(laFB.Token), Expiry: expiry,
			IssuedAt: expiry.Add(-60 * 24 * time.Hour), Scopes: []string{"instagram_basic", "pages_show_list"}},
		{AccountID: laIG.ID, Username: laIG.Username, Login: auth.LoginInstagram, Token: auth.Secret(laIG.Token), Expiry: expiry,
			IssuedAt: expiry.Add(-60 * 24 * time.Hour), Scopes: auth.DefaultScopes(auth.LoginInstagram)},
	}
}

func TestListAccounts_SeveralAccounts(t *testing.T) {
	exp := time.Now().Add(45 * 24 * time.Hour).UTC().Truncate(time.Second)
	e := newLAEnv(t, fakegraph.Options{Accounts: []fakegraph.Account{laFB, laIG}, QuotaTotal: 50}, laRecords(exp)...)
	// the Facebook account's quota read fails: a per-account field, not a tool error
	e.fake.Inject(fakegraph.Fault{PathSuffix: "/" + laFB.ID + "/content_publishing_limit", Action: fakegraph.FaultGraphError,
		GraphError: &fakegraph.ErrorSpec{Code: 10, Message: "(#10) Application does not have permission for this action"}})
	res := e.call(t, "list_accounts", nil)
	m := mustOK(t, res)
	accts := m["accounts"].([]any)
	if len(accts) != 2 {
		t.Fatalf("%v", m)
	}
	fb, ig := accts[0].(map[string]any), accts[1].(map[string]any)
	if fb["id"] != laFB.ID || fb["username"] != laFB.Username || fb["login"] != "facebook" || fb["token_status"] != "active" ||
		fb["token_expires_at"] != exp.Format(time.RFC3339) || fb["default"] != false {
		t.Fatalf("%v", fb)
	}
	if sc := fb["scopes"].([]any); len(sc) != 2 || sc[0] != "instagram_basic" {
		t.Fatalf("%v", sc)
	}
	if fe, _ := fb["publishing_limit_error"].(map[string]any); fe["kind"] != "permission_denied" || fb["publishing_limit"] != nil {
		t.Fatalf("%v", fb)
	}
	q, _ := ig["publishing_limit"].(map[string]any)
	if ig["login"] != "instagram" || q["quota_total"] != float64(50) || q["remaining"] != float64(50) {
		t.Fatalf("%v", ig)
	}
	if !strings.Contains(res.Content[0].(mcp.TextContent).Text, "@la_creator") {
		t.Fatalf("%v", res.Content)
	}
	// one account by name
	one := mustOK(t, e.call(t, "list_accounts", map[string]any{"account": "@la_creator"}))
	if a := one["accounts"].([]any); len(a) != 1 || a[0].(map[string]any)["id"] != laIG.ID {
		t.Fatalf("%v", one)
	}
	// several accounts and no account argument: the tools say which to pick
	mustErr(t, e.call(t, "get_container_status", map[string]any{"container_id": "1"}), "invalid_input")
}

// The stored scopes say the Facebook account cannot publish: create_post is
// refused before anything reaches Instagram, naming the permission.
func TestCheckScopes_MissingScopeIsPermissionDenied(t *testing.T) {
	e := newLAEnv(t, fakegraph.Options{Accounts: []fakegraph.Account{laFB, laIG}}, laRecords(time.Now().Add(40*24*time.Hour))...)
	errObj := mustErr(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "account": laFB.Username}), "permission_denied")
	if !strings.Contains(errObj["message"].(string), "instagram_content_publish") || !strings.Contains(errObj["action"].(string), "igmcp auth login --login facebook") {
		t.Fatalf("%v", errObj)
	}
	if n := len(e.fake.Calls()); n != 0 {
		t.Fatalf("%d Graph calls for a call refused up front", n)
	}
	// an allowed tool on the same account, and the account with every scope
	mustOK(t, e.call(t, "get_container_status", map[string]any{"container_id": e.containerFor(t, laIG), "account": laIG.ID}))
	mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "account": laIG.Username}))
}

// containerFor creates a container on the fake for acct.
func (e *laEnv) containerFor(t *testing.T, acct fakegraph.Account) string {
	t.Helper()
	a, err := e.reg.Resolve(context.Background(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := a.Client.CreateContainer(context.Background(), acct.ID, &graph.ContainerRequest{ImageURL: jpeg})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// With INSTAGRAM_ACCESS_TOKEN alone (auth.Single) list_accounts shows the
// one account, its token state unknown.
func TestListAccounts_SingleEnvToken(t *testing.T) {
	fake := fakegraph.New(fakegraph.Options{})
	base, stop := fake.Start()
	t.Cleanup(stop)
	acct := fakegraph.DefaultAccount
	single, err := auth.NewSingle(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token}), "", auth.LoginFacebook,
		func(ts oauth2.TokenSource) (*graph.Client, error) {
			return graph.NewClient(graph.WithBaseURL(base), graph.WithTokenSource(ts), graph.WithRetryPolicy(fastRetry))
		})
	if err != nil {
		t.Fatal(err)
	}
	srv := tools.NewServer(&tools.Deps{Accounts: single}, "test", tools.Selection{Toolsets: []string{tools.ToolsetContext}})
	e := &laEnv{fake: fake, client: connectLA(t, srv)}
	m := mustOK(t, e.call(t, "list_accounts", map[string]any{}))
	a := m["accounts"].([]any)[0].(map[string]any)
	if a["id"] != acct.ID || a["username"] != acct.Username || a["token_status"] != "unknown" || a["default"] != true || a["publishing_limit"] == nil {
		t.Fatalf("%v", a)
	}
	if sc, _ := a["scopes"].([]any); sc == nil || len(sc) != 0 {
		t.Fatalf("unknown scopes must be an empty list: %v", a["scopes"])
	}
}

// An expired token fails every tool with auth_expired whose action is the
// exact login command for that account's flow, without a Graph call.
func TestAuthExpired_ActionNamesTheCommand(t *testing.T) {
	recs := laRecords(time.Now().Add(-time.Minute)) // both expired a minute ago
	e := newLAEnv(t, fakegraph.Options{Accounts: []fakegraph.Account{laFB, laIG}}, recs...)
	for _, c := range []struct {
		tool string
		args map[string]any
		cmd  string
	}{
		{"create_post", map[string]any{"image_url": jpeg, "account": laIG.Username}, "igmcp auth login --login instagram"},
		{"get_insights", map[string]any{"metrics": []string{"reach"}, "account": laIG.ID}, "igmcp auth login --login instagram"},
		{"get_container_status", map[string]any{"container_id": "17900000000000001", "account": laFB.ID}, "igmcp auth login --login facebook"},
	} {
		errObj := mustErr(t, e.call(t, c.tool, c.args), "auth_expired")
		if !strings.Contains(errObj["action"].(string), "`"+c.cmd+"`") {
			t.Fatalf("%s: %v", c.tool, errObj)
		}
	}
	if n := len(e.fake.Calls()); n != 0 {
		t.Fatalf("%d Graph calls with expired tokens", n)
	}
	a := mustOK(t, e.call(t, "list_accounts", nil))["accounts"].([]any)[1].(map[string]any)
	if a["token_status"] != "expired" || !strings.Contains(a["action"].(string), "igmcp auth login --login instagram") {
		t.Fatalf("%v", a)
	}
}

// A token scoped to some accounts (igmcp http) lists only those.
func TestListAccounts_ScopedGrantSeesItsAccounts(t *testing.T) {
	e := newLAEnv(t, fakegraph.Options{Accounts: []fakegraph.Account{laFB, laIG}}, laRecords(time.Now().Add(40*24*time.Hour))...)
	ctx := scope.With(context.Background(), &scope.Grant{Name: "team", Accounts: []string{"@LA_CREATOR"}})
	accts := mustOK(t, e.callCtx(t, ctx, "list_accounts", nil))["accounts"].([]any)
	if len(accts) != 1 || accts[0].(map[string]any)["id"] != laIG.ID {
		t.Fatalf("%v", accts)
	}
}

// Every tool's declared scopes are checked before the call, through the
// protocol: an account whose stored scopes hold none of them is refused by
// every tool that needs any, naming exactly the missing ones (wantScopes,
// written by hand), without a Graph call; a tool that needs none runs.
func TestCheckScopes_EveryToolChecksItsDeclaration(t *testing.T) {
	exp := time.Now().Add(40 * 24 * time.Hour)
	recs := laRecords(exp)
	recs[0].Scopes = []string{"pages_show_list"}
	recs[1].Scopes = []string{"instagram_business_manage_messages"}
	e := newLAEnv(t, fakegraph.Options{Accounts: []fakegraph.Account{laFB, laIG}}, recs...)
	for i, acct := range []fakegraph.Account{laFB, laIG} {
		for tool, want := range wantScopes {
			before := len(e.fake.Calls())
			res := e.call(t, tool, map[string]any{"account": acct.Username})
			m := toolstest.Structured(t, res)
			errObj, _ := m["error"].(map[string]any)
			if len(want[i]) == 0 {
				if msg, _ := errObj["message"].(string); strings.Contains(msg, "lacks the permission") {
					t.Errorf("%s as %s needs no scope but was refused: %v", tool, acct.Username, errObj)
				}
				continue
			}
			if !res.IsError || errObj["kind"] != "permission_denied" {
				t.Errorf("%s as %s (lacking %v): %v", tool, acct.Username, want[i], m)
				continue
			}
			wantMsg := fmt.Sprintf("The token of @%s (%s) lacks the permission %s, which %s needs.", acct.Username, acct.ID, strings.Join(want[i], ", "), tool)
			if errObj["message"] != wantMsg {
				t.Errorf("%s as %s:\n got %v\nwant %s", tool, acct.Username, errObj["message"], wantMsg)
			}
			if n := len(e.fake.Calls()) - before; n != 0 {
				t.Errorf("%s as %s: %d Graph calls for a call refused up front", tool, acct.Username, n)
			}
		}
	}
}
