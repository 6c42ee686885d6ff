package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

// replicaPair is two servers ("replicas") on one store and one Instagram,
// with confirmation on, driven by raw 2026-07-28 messages: the client's
// side of the confirmation round trip is the test's.
type replicaPair struct {
	fake *fakegraph.Server
	a, b *server.MCPServer
}

func newReplicaPair(t *testing.T) *replicaPair {
	t.Helper()
	fake := fakegraph.New(fakegraph.Options{Accounts: []fakegraph.Account{brandA}})
	base, stop := fake.Start()
	t.Cleanup(stop)
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	newServer := func() *server.MCPServer {
		c, err := graph.NewClient(graph.WithBaseURL(base), graph.WithRetryPolicy(fastRetry),
			graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: brandA.Token})))
		if err != nil {
			t.Fatal(err)
		}
		deps := newDeps(&multiAccounts{accts: []*auth.Account{{ID: brandA.ID, Username: brandA.Username, Login: auth.LoginFacebook, Client: c}}}, st)
		deps.Confirm, deps.Confirmations = true, st
		return tools.NewServer(deps, "test", tools.Selection{})
	}
	return &replicaPair{fake: fake, a: newServer(), b: newServer()}
}

// callRound sends one tools/call round as a 2026-07-28 client with
// elicitation; answer, when set, carries the user's answer and the request
// state of the previous round. It returns the result object.
func callRound(t *testing.T, ctx context.Context, srv *server.MCPServer, args map[string]any, answer *mcp.ElicitationResponseAction, state string) map[string]any {
	t.Helper()
	params := map[string]any{"name": "create_post", "arguments": args, "_meta": map[string]any{
		mcp.MetaKeyProtocolVersion:    mcp.ProtocolVersion20260728,
		mcp.MetaKeyClientInfo:         map[string]any{"name": "confirm-test", "version": "1"},
		mcp.MetaKeyClientCapabilities: map[string]any{"elicitation": map[string]any{"form": map[string]any{}}},
	}}
	if answer != nil {
		params["inputResponses"] = map[string]any{"confirm": map[string]any{"action": *answer, "content": map[string]any{"confirm": true}}}
		params["requestState"] = state
	}
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
	resp := srv.HandleMessage(ctx, msg)
	b, _ := json.Marshal(resp)
	var out struct {
		Result map[string]any `json:"result"`
		Error  any            `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Result == nil {
		t.Fatalf("round answered %s", b)
	}
	return out.Result
}

// asked is the request state of an input_required round ("" otherwise).
func asked(res map[string]any) string {
	if res["resultType"] != "input_required" {
		return ""
	}
	s, _ := res["requestState"].(string)
	return s
}

// The user's accept approves the one call it was asked for, once, on
// whichever replica the answer arrives: a replayed answer, one for other
// arguments, or one presented by another token is asked again, never
// taken as approval.
func TestConfirm_AnswerSingleUseAcrossReplicas(t *testing.T) {
	t.Parallel()
	p := newReplicaPair(t)
	accept := mcp.ElicitationResponseActionAccept
	args := map[string]any{"image_url": jpeg, "caption": "one approval, one post", "idempotency_key": "k1"}
	teamA := scope.With(context.Background(), &scope.Grant{Name: "team-a"})
	teamB := scope.With(context.Background(), &scope.Grant{Name: "team-b"})

	state := asked(callRound(t, teamA, p.a, args, nil, ""))
	if !strings.HasPrefix(state, "igmcp-confirm-v2:") {
		t.Fatalf("first round asked with state %q", state)
	}
	// Another token presenting the answer is asked again.
	if again := asked(callRound(t, teamB, p.b, args, &accept, state)); again == "" || again == state {
		t.Fatalf("another token's answer was taken (state %q)", again)
	}
	// Other arguments with the answer: asked again.
	other := map[string]any{"image_url": jpeg, "caption": "something else", "idempotency_key": "k1"}
	if asked(callRound(t, teamA, p.b, other, &accept, state)) == "" {
		t.Fatal("an answer for other arguments was taken")
	}
	// The answer on the other replica publishes.
	res := callRound(t, teamA, p.b, args, &accept, state)
	if sc, _ := res["structuredContent"].(map[string]any); sc["status"] != "published" {
		t.Fatalf("approved round: %v", res)
	}
	// The same answer again, on either replica: asked again, nothing more
	// reaches Instagram.
	for _, srv := range []*server.MCPServer{p.a, p.b} {
		if asked(callRound(t, teamA, srv, args, &accept, state)) == "" {
			t.Fatal("a replayed answer was taken as approval")
		}
	}
	// A state igmcp never issued, and the old hash-only form: asked.
	for _, forged := range []string{"igmcp-confirm-v2:made-up", "igmcp-confirm-v1:0123456789abcdef", ""} {
		if asked(callRound(t, teamA, p.a, args, &accept, forged)) == "" {
			t.Fatalf("state %q was taken as approval", forged)
		}
	}
	if n := len(p.fake.Published(brandA.ID)); n != 1 {
		t.Errorf("%d posts, want exactly 1", n)
	}
	sends := 0
	for _, c := range p.fake.Containers() {
		sends += p.fake.MediaPublishes(c.ID)
	}
	if sends != 1 {
		t.Errorf("media_publish sent %d times, want 1", sends)
	}
}
