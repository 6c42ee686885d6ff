package httpserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTokens(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("hashed-token-0123456789"))
	good := `{"tokens":[
	  {"name":"team-a","token":"plain-token-0123456789","accounts":["@Brand_A"," 1784 "],"toolsets":["publish","insights"]},
	  {"name":"ro","token_sha256":"` + hex.EncodeToString(sum[:]) + `"}]}`
	entries, err := LoadTokens(writeFile(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Accounts[0] != "Brand_A" || entries[0].Accounts[1] != "1784" || len(entries[1].Toolsets) != 0 {
		t.Fatalf("entries: %+v", entries)
	}
	a, err := newAuthenticator("", entries)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := a.check("plain-token-0123456789"); !ok || c.grant.Name != "team-a" {
		t.Fatalf("plain token: %v %v", c, ok)
	}
	if c, ok := a.check("hashed-token-0123456789"); !ok || c.grant.Name != "ro" {
		t.Fatalf("hashed token: %v %v", c, ok)
	}
	if _, ok := a.check("plain-token-012345678"); ok {
		t.Fatal("a prefix of a token was accepted")
	}

	for _, tc := range []struct{ body, want string }{
		{`{"tokens":[]}`, "no tokens"},
		{`{"tokens":[{"token":"plain-token-0123456789"}]}`, "name is required"},
		{`{"tokens":[{"name":"x","token":"short"}]}`, "at least 16"},
		{`{"tokens":[{"name":"x"}]}`, "token or token_sha256 is required"},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","token_sha256":"ab"}]}`, "not both"},
		{`{"tokens":[{"name":"x","token_sha256":"zz"}]}`, "64 hex digits"},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","toolsets":["nope"]}]}`, "nope"},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","scopes":["a"]}]}`, "unknown field"},
		// Entries that name no real scope would widen the token to every
		// account or toolset: refused.
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","accounts":["@"]}]}`, `accounts[0]: account "@"`},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","accounts":[""]}]}`, `accounts[0]: account ""`},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","accounts":[" "]}]}`, `accounts[0]: account " "`},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","accounts":["brand_a","*"]}]}`, `accounts[1]: account "*"`},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","accounts":["a b"]}]}`, `accounts[0]`},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","accounts":[]}]}`, "accounts is empty"},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","toolsets":[""]}]}`, `toolsets[0]: toolset ""`},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","toolsets":["all"]}]}`, `toolsets[0]: toolset "all"`},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","toolsets":["publish",","]}]}`, `toolsets[1]`},
		{`{"tokens":[{"name":"x","token":"plain-token-0123456789","toolsets":[]}]}`, "toolsets is empty"},
		{`not json`, "invalid"},
	} {
		_, err := LoadTokens(writeFile(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: err %v, want %q", tc.body, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "plain-token") {
			t.Fatalf("error message leaks the token: %v", err)
		}
	}
	dup := []TokenEntry{{Name: "a", Token: "same-token-0123456789"}, {Name: "b", Token: "same-token-0123456789"}}
	if _, err := newAuthenticator("", dup); err == nil || strings.Contains(err.Error(), "same-token") {
		t.Fatalf("duplicate tokens: %v", err)
	}
	if _, err := newAuthenticator("same-token-0123456789", dup[:1]); err == nil {
		t.Fatal("IGMCP_HTTP_TOKEN equal to a scoped token was accepted")
	}
}

func TestCheckToken(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		token, listen string
		ok            bool
	}{
		{"short", "0.0.0.0:8080", false}, {"short", ":8080", false}, {"short", "[::]:8080", false},
		{"short", "127.0.0.1:8080", true}, {"short", "localhost:8080", true},
		{"0123456789abcdef", "0.0.0.0:8080", true}, {"", "0.0.0.0:8080", true},
	} {
		err := CheckToken(c.token, c.listen)
		if (err == nil) != c.ok || (err != nil && strings.Contains(err.Error(), c.token)) {
			t.Errorf("CheckToken(%q, %q) = %v", c.token, c.listen, err)
		}
	}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "BEARER abc": "abc"} {
		if got, ok := bearer(h); !ok || got != want {
			t.Fatalf("%q: %q %v", h, got, ok)
		}
	}
	for _, h := range []string{"", "Bearer", "Bearer ", "Basic abc", "abc"} {
		if _, ok := bearer(h); ok {
			t.Fatalf("%q accepted", h)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "127.1.2.3:80": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "192.168.1.5:8080": false, "example.com:80": false,
	} {
		if IsLoopback(addr) != want {
			t.Fatalf("IsLoopback(%q) = %v", addr, !want)
		}
	}
}

func TestOriginPolicy(t *testing.T) {
	t.Parallel()
	def := newOriginPolicy(nil)
	for o, want := range map[string]bool{
		"http://localhost:3000": true, "https://127.0.0.1": true, "http://[::1]:1": true,
		"http://evil.example.com": false, "null": false, "file://": false, "http://localhost.evil.com": false,
	} {
		if def.allows(o) != want {
			t.Fatalf("default allows(%q) = %v", o, !want)
		}
	}
	list := newOriginPolicy([]string{"https://app.example.com"})
	if !list.allows("HTTPS://APP.example.com:443") || list.allows("https://app.example.com:8443") || list.allows("http://localhost:3000") {
		t.Fatal("allow-list matching")
	}
}

// During a drain a new tool call is refused with a retryable docs/reference.md §4 result
// and never reaches the tool.
func TestDrainer_RefusesNewCallsWhileDraining(t *testing.T) {
	t.Parallel()
	d := newDrainer(time.Second)
	reached := 0
	h := d.middleware(func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		reached++
		return &mcp.CallToolResult{}, nil
	})
	if _, err := h(context.Background(), mcp.CallToolRequest{}); err != nil || reached != 1 {
		t.Fatalf("before the drain: %v, reached %d", err, reached)
	}
	n, idle := d.beginDrain()
	if n != 0 {
		t.Fatalf("running: %d", n)
	}
	<-idle
	res, err := h(context.Background(), mcp.CallToolRequest{})
	if err != nil || !res.IsError || reached != 1 {
		t.Fatalf("during the drain: %v %+v, reached %d", err, res, reached)
	}
	m := res.StructuredContent.(map[string]any)
	if e := m["error"]; e == nil {
		t.Fatalf("no error object: %v", m)
	}
}
