package httpserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/httpserver"
)

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`

func rawRequest(t *testing.T, method, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

func TestAuth_401WithoutOrWithWrongToken(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{cfg: httpserver.Config{Token: adminToken}})
	for _, path := range []string{"/mcp", "/sse", "/message?sessionId=x", "/nowhere"} {
		for _, auth := range []string{"", "Bearer wrong-token-0123456789abc", "Basic " + adminToken, "Bearer"} {
			method, body := http.MethodPost, initBody
			if path == "/sse" {
				method, body = http.MethodGet, ""
			}
			h := map[string]string{}
			if auth != "" {
				h["Authorization"] = auth
			}
			res := rawRequest(t, method, e.url+path, body, h)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s %s with %q: status %d, want 401", method, path, auth, res.StatusCode)
			}
			if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s: WWW-Authenticate %q", method, path, res.Header.Get("WWW-Authenticate"))
			}
		}
	}
	// /healthz needs no token; the right token opens /mcp.
	if res := rawRequest(t, http.MethodGet, e.url+"/healthz", "", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", res.StatusCode)
	}
	if res := rawRequest(t, http.MethodPost, e.url+"/mcp", initBody, map[string]string{"Authorization": "bearer " + adminToken}); res.StatusCode != http.StatusOK {
		t.Fatalf("right token: %d", res.StatusCode)
	}
	// Real clients: refused without or with a wrong token, on both transports.
	for _, kind := range []transportKind{streamable, sse} {
		for _, era := range eras {
			for _, tok := range []string{"", "wrong-token-0123456789abcdef"} {
				if c, err := e.connect(t, kind, era, tok); err == nil {
					_ = c.Close()
					t.Fatalf("%s %s: client with token %q connected", kind, eraName(era), tok)
				}
			}
			e.mustConnect(t, kind, era, adminToken)
		}
	}
	if strings.Contains(e.logs.String(), "wrong-token") {
		t.Fatal("a refused token was logged")
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{})
	res := rawRequest(t, http.MethodGet, e.url+"/healthz", "", nil)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `"ok"`) || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("healthz: %d %q", res.StatusCode, b)
	}
	if res := rawRequest(t, http.MethodPost, e.url+"/healthz", "{}", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz: %d", res.StatusCode)
	}
}

func TestOrigin_ForeignIs403(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{cfg: httpserver.Config{Token: adminToken}})
	auth := "Bearer " + adminToken
	for _, origin := range []string{"http://evil.example.com", "null", "http://localhost.evil.example.com", "https://127.0.0.1.nip.io"} {
		res := rawRequest(t, http.MethodPost, e.url+"/mcp", initBody, map[string]string{"Authorization": auth, "Origin": origin})
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("Origin %s: status %d, want 403", origin, res.StatusCode)
		}
		if res := rawRequest(t, http.MethodGet, e.url+"/sse", "", map[string]string{"Authorization": auth, "Origin": origin}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("SSE with Origin %s: status %d", origin, res.StatusCode)
		}
	}
	// Loopback origins are allowed by default, any port; no Origin is fine.
	for _, origin := range []string{"http://localhost:6274", "http://127.0.0.1:3000", "http://[::1]:8080", ""} {
		h := map[string]string{"Authorization": auth}
		if origin != "" {
			h["Origin"] = origin
		}
		res := rawRequest(t, http.MethodPost, e.url+"/mcp", initBody, h)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("Origin %q: status %d", origin, res.StatusCode)
		}
		if origin != "" && res.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Fatalf("Origin %q: CORS %q", origin, res.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

func TestOrigin_AllowList(t *testing.T) {
	t.Parallel()
	origins, err := httpserver.ParseOrigins("https://App.Example.com:443, http://localhost:5173")
	if err != nil {
		t.Fatal(err)
	}
	e := startServer(t, srvOpts{cfg: httpserver.Config{Token: adminToken, AllowedOrigins: origins}})
	auth := "Bearer " + adminToken
	ok := rawRequest(t, http.MethodPost, e.url+"/mcp", initBody, map[string]string{"Authorization": auth, "Origin": "https://app.example.com"})
	if ok.StatusCode != http.StatusOK {
		t.Fatalf("allowed origin: %d", ok.StatusCode)
	}
	// The list replaces the loopback default.
	if res := rawRequest(t, http.MethodPost, e.url+"/mcp", initBody, map[string]string{"Authorization": auth, "Origin": "http://127.0.0.1:3000"}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("loopback origin outside the list: %d", res.StatusCode)
	}
	// A browser's preflight carries no credentials and must be answered.
	pre := rawRequest(t, http.MethodOptions, e.url+"/mcp", "", map[string]string{
		"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version, x-evil",
	})
	allowed := strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers"))
	if pre.StatusCode != http.StatusNoContent || !strings.Contains(allowed, "authorization") || strings.Contains(allowed, "x-evil") {
		t.Fatalf("preflight: %d, allow-headers %q", pre.StatusCode, allowed)
	}
	if _, err := httpserver.ParseOrigins("https://*.example.com"); err == nil {
		t.Fatal("wildcard origin accepted")
	}
}

func TestBodyLimit_413(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{cfg: httpserver.Config{MaxBodyBytes: 4096}})
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 8192) + `"}}`
	if res := rawRequest(t, http.MethodPost, e.url+"/mcp", big, nil); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("big body: %d", res.StatusCode)
	}
	// Chunked (no Content-Length) is bounded too.
	req, _ := http.NewRequest(http.MethodPost, e.url+"/mcp", io.NopCloser(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked big body: %d", res.StatusCode)
	}
}

// Without a token the server is for this machine only: mcp-go's Host check
// refuses a rebinding name even without an Origin header.
func TestNoToken_HostGuard(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/mcp", strings.NewReader(initBody))
	req.Host = "evil.example.com"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("rebinding Host without token: %d", res.StatusCode)
	}
}

// Every transport and era reaches the tools, resources and prompts.
func TestTransports_ToolsResourcesPrompts(t *testing.T) {
	t.Parallel()
	e := startServer(t, srvOpts{cfg: httpserver.Config{Token: adminToken}})
	for _, kind := range []transportKind{streamable, sse} {
		for _, era := range eras {
			t.Run(string(kind)+"/"+eraName(era), func(t *testing.T) {
				c := e.mustConnect(t, kind, era, adminToken)
				ctx := context.Background()
				tl, err := c.ListTools(ctx, mcp.ListToolsRequest{})
				if err != nil || len(tl.Tools) < 7 {
					t.Fatalf("tools/list: %v %v", err, tl)
				}
				res, err := callTool(ctx, c, "create_post", map[string]any{"image_url": jpeg})
				if err != nil || res.IsError {
					t.Fatalf("create_post: %v %+v", err, res)
				}
				rl, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
				// The accounts, and the two MCP Apps views (sorted by name).
				if err != nil || len(rl.Resources) != 3 || rl.Resources[0].URI != "igmcp://accounts" {
					t.Fatalf("resources/list: %v %+v", err, rl)
				}
				rr := mcp.ReadResourceRequest{}
				rr.Params.URI = rl.Resources[0].URI
				read, err := c.ReadResource(ctx, rr)
				if err != nil || len(read.Contents) != 1 {
					t.Fatalf("resources/read: %v %+v", err, read)
				}
				pl, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
				if err != nil || len(pl.Prompts) != 2 {
					t.Fatalf("prompts/list: %v %+v", err, pl)
				}
				gp := mcp.GetPromptRequest{}
				gp.Params.Name, gp.Params.Arguments = "plan_week", map[string]string{"topic": "launch"}
				if p, err := c.GetPrompt(ctx, gp); err != nil || len(p.Messages) != 1 {
					t.Fatalf("prompts/get: %v %+v", err, p)
				}
			})
		}
	}
}

func writeTokens(t *testing.T, v any) string {
	t.Helper()
	b, _ := json.Marshal(v)
	path := t.TempDir() + "/tokens.json"
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// One server, two teams: team A may publish and read insights as brand_a
// only; the admin token (IGMCP_HTTP_TOKEN) may do everything.
func TestScopedTokens_OverHTTP(t *testing.T) {
	t.Parallel()
	path := writeTokens(t, map[string]any{"tokens": []map[string]any{
		{"name": "team-a", "token": teamAToken, "accounts": []string{"brand_a"}, "toolsets": []string{"insights"}},
	}})
	entries, err := httpserver.LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	e := startServer(t, srvOpts{cfg: httpserver.Config{Token: adminToken, Tokens: entries}})
	for _, kind := range []transportKind{streamable, sse} {
		for _, era := range eras {
			t.Run(string(kind)+"/"+eraName(era), func(t *testing.T) {
				ctx := context.Background()
				team := e.mustConnect(t, kind, era, teamAToken)
				tl, err := team.ListTools(ctx, mcp.ListToolsRequest{})
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, x := range tl.Tools {
					names = append(names, x.Name)
				}
				if !slices.Contains(names, "get_insights") || slices.Contains(names, "create_post") || slices.Contains(names, "reply_comment") {
					t.Fatalf("team-a sees %v", names)
				}
				res, err := callTool(ctx, team, "create_post", map[string]any{"image_url": jpeg})
				if k, _ := errKind(res); err != nil || k != "permission_denied" {
					t.Fatalf("team-a create_post: %v %+v", err, res)
				}
				for _, other := range []string{"brand_b", brandB.ID, "@BRAND_B"} {
					res, err = callTool(ctx, team, "get_insights", map[string]any{"account": other, "metrics": []string{"reach"}})
					if k, _ := errKind(res); err != nil || k != "permission_denied" {
						t.Fatalf("team-a as %s: %v %+v", other, err, res)
					}
				}
				res, err = callTool(ctx, team, "get_insights", map[string]any{"account": "brand_a", "metrics": []string{"reach"}})
				if err != nil || res.IsError {
					t.Fatalf("team-a own account: %v %+v", err, res)
				}
				rr := mcp.ReadResourceRequest{}
				rr.Params.URI = "igmcp://accounts"
				read, err := team.ReadResource(ctx, rr)
				if err != nil {
					t.Fatal(err)
				}
				text := read.Contents[0].(mcp.TextResourceContents).Text
				if strings.Contains(text, "brand_b") || !strings.Contains(text, "brand_a") {
					t.Fatalf("team-a accounts resource: %s", text)
				}

				admin := e.mustConnect(t, kind, era, adminToken)
				res, err = callTool(ctx, admin, "get_insights", map[string]any{"account": "brand_b", "metrics": []string{"reach"}})
				if err != nil || res.IsError {
					t.Fatalf("admin as brand_b: %v %+v", err, res)
				}
			})
		}
	}
	if n := e.fake.CountCalls("POST", "/media"); n != 0 {
		t.Fatalf("a denied publish reached Instagram (%d container creations)", n)
	}
}
