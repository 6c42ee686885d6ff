package httpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/httpserver"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/webhooks"
)

const (
	hookToken  = "verify-token-http-tests"
	hookSecret = "app-secret-http-tests"
)

// startHooks builds the receiver on st and the hub that watches st until
// the test ends.
func startHooks(t testing.TB, st store.Store) (*webhooks.Receiver, tools.EventSource) {
	t.Helper()
	rc, err := webhooks.New(webhooks.Config{VerifyToken: hookToken, AppSecrets: []string{hookSecret}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	hub := webhooks.NewHub(st)
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return rc, hub
}

// delivery is a comments change for account, as Meta sends it.
func delivery(account, comment, text string) []byte {
	b, _ := json.Marshal(map[string]any{"object": "instagram", "entry": []any{map[string]any{
		"id": account, "time": 1767225600,
		"changes": []any{map[string]any{"field": "comments", "value": map[string]any{
			"id": comment, "text": text, "from": map[string]any{"id": "17841455500000001", "username": "fan"},
			"media": map[string]any{"id": "17900000000000001"},
		}}},
	}}})
	return b
}

// send makes one plain HTTP request and returns the status and body.
func send(t *testing.T, method, u string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /webhooks/instagram answers Meta without a bearer token or an allowed
// Origin (the signature is its authentication), bounds bodies itself, and
// leaves every other path behind the guards.
func TestWebhooks_MountedOutsideTheGuards(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{cfg: httpserver.Config{Token: adminToken}, webhooks: true})
	hook := e.url + webhooks.Path
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {hookToken}, "hub.challenge": {"1158201444"}}
	if code, body := send(t, http.MethodGet, hook+"?"+q.Encode(), nil, nil); code != http.StatusOK || body != "1158201444" {
		t.Fatalf("verification: %d %q", code, body)
	}
	q.Set("hub.verify_token", "guess")
	if code, _ := send(t, http.MethodGet, hook+"?"+q.Encode(), nil, nil); code != http.StatusForbidden {
		t.Fatalf("wrong verify token: %d", code)
	}
	body := delivery(brandA.ID, "17850000000000001", "hello over HTTP")
	foreign := map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json"}
	if code, _ := send(t, http.MethodPost, hook, body, foreign); code != http.StatusForbidden {
		t.Fatalf("unsigned delivery: %d", code)
	}
	foreign[webhooks.SignatureHeader] = webhooks.Sign(hookSecret, body)
	if code, resp := send(t, http.MethodPost, hook, body, foreign); code != http.StatusOK {
		t.Fatalf("signed delivery: %d %s", code, resp)
	}
	big := append(bytes.Repeat([]byte(" "), webhooks.DefaultMaxBodyBytes), body...)
	if code, _ := send(t, http.MethodPost, hook, big, map[string]string{webhooks.SignatureHeader: webhooks.Sign(hookSecret, big)}); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized delivery: %d", code)
	}
	// The guards still hold everywhere else, near misses of the path included.
	for _, p := range []string{"/mcp", webhooks.Path + "/", "/webhooks/instagram/../../mcp"} {
		if code, _ := send(t, http.MethodPost, e.url+p, body, nil); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d", p, code)
		}
	}
	// The stored event, through MCP with the token.
	c := e.mustConnect(t, streamable, mcp.LATEST_LEGACY_PROTOCOL_VERSION, adminToken)
	res, err := callTool(context.Background(), c, "list_events", map[string]any{"account": "brand_a"})
	if err != nil || res.IsError {
		t.Fatalf("list_events: %v %+v", err, res)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	if !strings.Contains(string(raw), `"untrusted_text":"hello over HTTP"`) || strings.Count(string(raw), `"field":"comments"`) != 1 {
		t.Fatalf("events: %s", raw)
	}
}

// Without webhooks the path is an ordinary guarded path.
func TestWebhooks_OffByDefault(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{cfg: httpserver.Config{Token: adminToken}})
	if code, _ := send(t, http.MethodGet, e.url+webhooks.Path+"?hub.mode=subscribe", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("with a token configured: %d", code)
	}
	open := startServer(t, srvOpts{})
	if code, _ := send(t, http.MethodGet, open.url+webhooks.Path+"?hub.mode=subscribe", nil, nil); code != http.StatusNotFound {
		t.Fatalf("without a token: %d", code)
	}
}

// Two replicas on one store: a session subscribed to instagram://events
// on replica A hears of a delivery replica B received — PostgreSQL through
// LISTEN/NOTIFY, SQLite (two handles in one process) through the store —
// in both protocol eras, over real HTTP.
func TestWebhooks_SubscriberOnAnotherReplica(t *testing.T) {
	pg, pgErr := storetest.StartPostgres(context.Background())
	if pg != nil {
		defer pg.Stop()
	}
	backends := []struct {
		name string
		cfg  func(t *testing.T) store.Config
	}{
		{"SQLite", func(t *testing.T) store.Config { return store.Config{DataDir: filepath.Join(t.TempDir(), "data")} }},
		{"PostgreSQL", func(t *testing.T) store.Config {
			if pgErr != nil && !errors.Is(pgErr, storetest.ErrNoPostgres) {
				t.Fatalf("PostgreSQL did not start: %v", pgErr)
			}
			storetest.RequirePostgres(t, pg, pgErr)
			return store.Config{DatabaseURL: pg.FreshURL(t)}
		}},
	}
	for _, b := range backends {
		for _, era := range eras {
			t.Run(b.name+"/"+eraName(era), func(t *testing.T) {
				cfg := b.cfg(t)
				a := startServer(t, srvOpts{store: cfg, webhooks: true})
				replica := startServer(t, srvOpts{store: cfg, webhooks: true})
				var mu sync.Mutex
				var notes []mcp.JSONRPCNotification
				record := func(n mcp.JSONRPCNotification) { mu.Lock(); notes = append(notes, n); mu.Unlock() }
				seen := func(method string) int {
					mu.Lock()
					defer mu.Unlock()
					n := 0
					for _, x := range notes {
						if x.Method == method && (method != string(mcp.MethodNotificationResourceUpdated) || x.Params.AdditionalFields["uri"] == tools.EventsURI) {
							n++
						}
					}
					return n
				}
				c := listener(t, a.url, era, record)
				ctx := context.Background()
				if era == "" {
					stop, err := c.ListenAsync(ctx, mcp.SubscriptionFilter{ResourceSubscriptions: []string{tools.EventsURI}}, nil)
					if err != nil {
						t.Fatal(err)
					}
					defer stop()
					waitFor(t, "the subscription acknowledged", func() bool { return seen(mcp.MethodNotificationSubscriptionsAcknowledged) > 0 })
				} else {
					// legacy notifications travel on the session's GET stream
					sub := mcp.SubscribeRequest{}
					sub.Params.URI = tools.EventsURI
					if err := c.Subscribe(ctx, sub); err != nil {
						t.Fatal(err)
					}
				}
				body := delivery(brandA.ID, "17850000000000009", "seen by the other replica")
				code, resp := send(t, http.MethodPost, replica.url+webhooks.Path, body, map[string]string{webhooks.SignatureHeader: webhooks.Sign(hookSecret, body)})
				if code != http.StatusOK {
					t.Fatalf("delivery to replica B: %d %s", code, resp)
				}
				waitFor(t, "notifications/resources/updated", func() bool { return seen(string(mcp.MethodNotificationResourceUpdated)) > 0 })
				req := mcp.ReadResourceRequest{}
				req.Params.URI = tools.EventsURI
				rr, err := c.ReadResource(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if txt := rr.Contents[0].(mcp.TextResourceContents).Text; !strings.Contains(txt, "seen by the other replica") {
					t.Fatalf("replica A reads %s", txt)
				}
			})
		}
	}
}

// listener connects a Streamable HTTP client that, in the legacy era,
// keeps the session's GET stream open: that is where a 2025 server sends
// notifications outside a request. (2026-07-28 uses subscriptions/listen.)
func listener(t *testing.T, base, era string, onNote func(mcp.JSONRPCNotification)) *client.Client {
	t.Helper()
	var opts []transport.StreamableHTTPCOption
	if era != "" {
		opts = append(opts, transport.WithContinuousListening())
	}
	tr, err := transport.NewStreamableHTTP(base+"/mcp", opts...)
	if err != nil {
		t.Fatal(err)
	}
	var copts []client.ClientOption
	if era != "" {
		copts = append(copts, client.WithProtocolVersion(era))
	}
	c := client.NewClient(tr, copts...)
	c.OnNotification(onNote)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "igmcp-events-test", Version: "1"}
	init.Params.ProtocolVersion = era
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return c
}
