package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/store"
)

// The webhook settings every test here uses.
const (
	hookVerify = "cmd-verify-token-4c1d"
	hookSecret = "cmd-hook-app-secret-9f2e"
)

func hookEnv(extra ...string) []string {
	return childEnv(append([]string{"INSTAGRAM_WEBHOOK_VERIFY_TOKEN=" + hookVerify, "INSTAGRAM_APP_SECRET=" + hookSecret}, extra...)...)
}

// hubSign is X-Hub-Signature-256 as Meta computes it: hex HMAC-SHA256 of
// the raw body keyed by the app secret (docs/reference.md §5).
func hubSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// commentDelivery is a comments delivery of Meta's shape for the sandbox
// account.
func commentDelivery(commentID, text string) []byte {
	return []byte(fmt.Sprintf(`{"object":"instagram","entry":[{"id":%q,"time":1767225600,"changes":[{"field":"comments",`+
		`"value":{"id":%q,"text":%q,"from":{"id":"17841455555555555","username":"a_fan"},"media":{"id":"17900000000000042","media_product_type":"FEED"}}}]}]}`,
		fakegraph.DefaultAccount.ID, commentID, text))
}

func postDelivery(t *testing.T, addr string, body []byte, signature string) int {
	t.Helper()
	return postStatus(t, "http://"+addr+"/webhooks/instagram", body, map[string]string{"X-Hub-Signature-256": signature})
}

// listedEvents is list_events' events (docs/reference.md §5).
type listedEvents struct {
	Events []struct {
		Field         string `json:"field"`
		AccountID     string `json:"account_id"`
		MediaID       string `json:"media_id"`
		CommentID     string `json:"comment_id"`
		Own           bool   `json:"own"`
		UntrustedText string `json:"untrusted_text"`
	} `json:"events"`
}

func decodeEvents(t *testing.T, m map[string]any) listedEvents {
	t.Helper()
	b, _ := json.Marshal(m)
	var l listedEvents
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("list_events: %v in %s", err, b)
	}
	return l
}

// igmcp http --sandbox with webhooks configured: /webhooks/instagram is
// mounted (no bearer token: Meta sends none), answers Meta's verification,
// stores a delivery signed with the app secret so that list_events over
// MCP shows it and instagram://events subscribers hear of it, and refuses a
// forged one.
func TestWebhooks_HTTPSandboxReceives(t *testing.T) {
	t.Parallel()
	const bearer = "cmd-webhooks-bearer-0123456789"
	p := startHTTPProc(t, "webhooks", hookEnv("IGMCP_HTTP_TOKEN="+bearer, "IGMCP_LOG_LEVEL=debug"), "--sandbox")
	headers := map[string]string{"Authorization": "Bearer " + bearer}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()

	// A 2025-era client on the SSE transport, subscribed to the events.
	sseTr, err := transport.NewSSE("http://"+p.addr+"/sse", transport.WithHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(sseTr, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	var mu sync.Mutex
	var updated []string
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationResourceUpdated) {
			mu.Lock()
			updated = append(updated, fmt.Sprint(n.Params.AdditionalFields["uri"]))
			mu.Unlock()
		}
	})
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := initialize(ctx, c, "cmd-webhooks"); err != nil {
		t.Fatal(err)
	}
	tl, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil || !slices.ContainsFunc(tl.Tools, func(x mcp.Tool) bool { return x.Name == "list_events" }) {
		t.Fatalf("webhooks configured, but list_events is not exposed by default (%v)", err)
	}
	sub := mcp.SubscribeRequest{}
	sub.Params.URI = "instagram://events"
	if err := c.Subscribe(ctx, sub); err != nil {
		t.Fatal(err)
	}

	// Verification: the challenge echoed for the right verify token only.
	for _, tc := range []struct {
		token  string
		status int
		body   string
	}{{hookVerify, 200, "1158201444"}, {"wrong-verify-token", 403, ""}} {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {tc.token}, "hub.challenge": {"1158201444"}}
		res, err := http.Get("http://" + p.addr + "/webhooks/instagram?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != tc.status || (tc.body != "" && string(b) != tc.body) {
			t.Fatalf("verification with %q: %d %q", tc.token, res.StatusCode, b)
		}
	}

	// A delivery signed with the app secret, and forged ones.
	genuine := commentDelivery("17865799348089039", "This is an example.")
	if code := postDelivery(t, p.addr, genuine, hubSign(hookSecret, genuine)); code != http.StatusOK {
		t.Fatalf("signed delivery: %d\n%s", code, p.logs.String())
	}
	forged := commentDelivery("17865799348089040", "forged")
	for _, sig := range []string{hubSign("another-secret", forged), hubSign(hookSecret, genuine), ""} {
		if code := postDelivery(t, p.addr, forged, sig); code != http.StatusForbidden {
			t.Fatalf("forged delivery (signature %q): %d", sig, code)
		}
	}

	req := mcp.CallToolRequest{}
	req.Params.Name = "list_events"
	req.Params.Arguments = map[string]any{}
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("list_events: %v %+v", err, res)
	}
	got := decodeEvents(t, res.StructuredContent.(map[string]any))
	if len(got.Events) != 1 {
		t.Fatalf("events: %+v", got)
	}
	if e := got.Events[0]; e.Field != "comments" || e.CommentID != "17865799348089039" || e.AccountID != fakegraph.DefaultAccount.ID ||
		e.MediaID != "17900000000000042" || e.UntrustedText != "This is an example." {
		t.Fatalf("event: %+v", e)
	}
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := slices.Index(updated, "instagram://events")
		mu.Unlock()
		if n >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the instagram://events subscriber was not notified")
		}
	}
	if logs := p.logs.String(); strings.Contains(logs, hookSecret) || strings.Contains(logs, hookVerify) || strings.Contains(logs, bearer) {
		t.Fatal("a log line holds a secret")
	}
}

// igmcp stdio --sandbox with webhooks configured: no HTTP listener, but the
// simulated Meta delivers to the receiver in process, so the comments the
// sandbox seeds on a new post reach list_events.
func TestWebhooks_StdioSandboxDeliversInProcess(t *testing.T) {
	t.Parallel()
	s := startClient(t, "", hookEnv(), sandboxArgs...)
	post := s.ok(t, "create_post", map[string]any{"image_url": "https://cdn.example.com/photo.jpg", "caption": "seeded"})
	media, _ := post["media_id"].(string)
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(50 * time.Millisecond) {
		got := decodeEvents(t, s.ok(t, "list_events", map[string]any{"field": "comments"}))
		n := 0
		for _, e := range got.Events {
			if e.MediaID == media && !e.Own && e.UntrustedText != "" {
				n++
			}
		}
		if n == fakegraph.SandboxSeedComments {
			break
		}
		if n > fakegraph.SandboxSeedComments || time.Now().After(deadline) {
			t.Fatalf("%d seeded comment events on %s, want %d: %+v", n, media, fakegraph.SandboxSeedComments, got)
		}
	}
	s.close(t)
}

// igmcp stdio serves no receiver, but with webhooks configured it lists
// the events another process (an igmcp http) stored in the same store.
func TestWebhooks_StdioReadsTheSharedStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	acct := fakegraph.DefaultAccount
	st, err := store.Open(context.Background(), store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.AppendEvents(context.Background(), []store.Event{{Key: "from-http", AccountID: acct.ID, Field: "comments",
		MediaID: "17900000000000005", CommentID: "17800000000000005", Text: "received elsewhere", Value: json.RawMessage(`{}`)}})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	fake := fakegraph.New(fakegraph.Options{})
	base, stop := fake.Start()
	defer stop()
	s := startClient(t, "", hookEnv("IGMCP_DATA_DIR="+dir, "INSTAGRAM_ACCESS_TOKEN="+acct.Token, "INSTAGRAM_USER_ID="+acct.ID, "INSTAGRAM_GRAPH_URL="+base), "stdio")
	got := decodeEvents(t, s.ok(t, "list_events", nil))
	if len(got.Events) != 1 || got.Events[0].CommentID != "17800000000000005" || got.Events[0].UntrustedText != "received elsewhere" {
		t.Fatalf("events: %+v", got)
	}
	s.close(t)
}

// Events older than 30 days are removed at start, except story_insights
// (a Story's final insights outlive it).
func TestWebhooks_OldEventsPruned(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	acct := fakegraph.DefaultAccount.ID
	old, recent := time.Now().Add(-31*24*time.Hour), time.Now().Add(-29*24*time.Hour)
	_, err = st.AppendEvents(context.Background(), []store.Event{
		{Key: "old-comment", AccountID: acct, Field: "comments", CommentID: "17800000000000001", ReceivedAt: old, Value: json.RawMessage(`{}`)},
		{Key: "recent-comment", AccountID: acct, Field: "comments", CommentID: "17800000000000002", ReceivedAt: recent, Value: json.RawMessage(`{}`)},
		{Key: "old-insights", AccountID: acct, Field: "story_insights", MediaID: "17900000000000003", ReceivedAt: old, Value: json.RawMessage(`{"reach":5}`)},
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := startClient(t, "", hookEnv("IGMCP_DATA_DIR="+dir), sandboxArgs...)
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(50 * time.Millisecond) {
		got := decodeEvents(t, s.ok(t, "list_events", nil))
		var ids []string
		for _, e := range got.Events {
			ids = append(ids, e.Field+":"+e.CommentID+e.MediaID)
		}
		if slices.Equal(ids, []string{"story_insights:17900000000000003", "comments:17800000000000002"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events after start: %v", ids)
		}
	}
	s.close(t)
}

// igmcp webhooks subscribe|status: per account, through the Graph API it
// is configured with (the sandbox's, or one given by INSTAGRAM_GRAPH_URL),
// exit 0 only when every subscription is complete.
func TestWebhooks_Command(t *testing.T) {
	t.Parallel()
	type answer struct {
		OK            bool `json:"ok"`
		Subscriptions []struct {
			AccountID  string   `json:"account_id"`
			Object     string   `json:"object"`
			Subscribed bool     `json:"subscribed"`
			Fields     []string `json:"fields"`
			Missing    []string `json:"missing"`
			OK         bool     `json:"ok"`
		} `json:"subscriptions"`
	}
	parse := func(t *testing.T, out string) answer {
		t.Helper()
		var a answer
		if err := json.Unmarshal([]byte(out), &a); err != nil || len(a.Subscriptions) != 1 {
			t.Fatalf("--json: %v\n%s", err, out)
		}
		return a
	}

	t.Run("sandbox", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runBinary(t, childEnv(), "webhooks", "status", "--sandbox")
		if code != 1 || !strings.Contains(out, "not subscribed") || !strings.Contains(out, "run igmcp webhooks subscribe") {
			t.Fatalf("status, nothing subscribed: exit %d\n%s\n%s", code, out, errOut)
		}
		code, out, errOut = runBinary(t, childEnv(), "webhooks", "subscribe", "--sandbox", "--json")
		if a := parse(t, out); code != 0 || !a.OK || !a.Subscriptions[0].Subscribed || !slices.Equal(a.Subscriptions[0].Fields, []string{"feed"}) {
			t.Fatalf("subscribe: exit %d\n%s\n%s", code, out, errOut)
		}
		// With webhooks configured the sandbox's simulated Meta has
		// subscribed the account, as for the sandbox server.
		code, out, errOut = runBinary(t, hookEnv(), "webhooks", "status", "--sandbox", "--json")
		if a := parse(t, out); code != 0 || !a.OK || a.Subscriptions[0].AccountID != fakegraph.DefaultAccount.ID {
			t.Fatalf("status, webhooks configured: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("Graph API, Instagram Login", func(t *testing.T) {
		t.Parallel()
		acct := fakegraph.Account{ID: "17841400000000077", Username: "ig_brand", Token: "IGAAwebhooks-command-token", Login: fakegraph.LoginInstagram}
		fake := fakegraph.New(fakegraph.Options{Accounts: []fakegraph.Account{acct}})
		base, stop := fake.Start()
		defer stop()
		env := childEnv("INSTAGRAM_ACCESS_TOKEN="+acct.Token, "INSTAGRAM_LOGIN=instagram", "INSTAGRAM_GRAPH_URL="+base)
		code, out, _ := runBinary(t, env, "webhooks", "status", "--json")
		if a := parse(t, out); code != 1 || a.OK || a.Subscriptions[0].Subscribed || a.Subscriptions[0].AccountID != acct.ID {
			t.Fatalf("status: exit %d\n%s", code, out)
		}
		code, out, errOut := runBinary(t, env, "webhooks", "subscribe")
		want := []string{"comments", "live_comments", "mentions"}
		if code != 0 || !strings.Contains(out, "subscribed on the account to comments, live_comments, mentions") {
			t.Fatalf("subscribe: exit %d\n%s\n%s", code, out, errOut)
		}
		if got := fake.Subscribed(acct.ID); !slices.Equal(got, want) || fake.CountCalls(http.MethodPost, "/subscribed_apps") != 1 {
			t.Fatalf("the fake has %v after %d POSTs", got, fake.CountCalls(http.MethodPost, "/subscribed_apps"))
		}
		if strings.Contains(out+errOut, acct.Token) {
			t.Fatal("the token is in the output")
		}
	})

	t.Run("usage", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{{"webhooks"}, {"webhooks", "list"}, {"webhooks", "status", "--bogus"}} {
			code, out, errOut := runBinary(t, childEnv(), args...)
			requireOneLineExit(t, code, out, errOut, 2)
		}
		code, out, _ := runBinary(t, childEnv(), "webhooks", "status", "--help")
		if code != 0 || !strings.Contains(out, "usage: igmcp webhooks subscribe|status") || !strings.Contains(out, "--account VALUE") {
			t.Fatalf("help: exit %d\n%s", code, out)
		}
	})
}
