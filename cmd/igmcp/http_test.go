package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// startHTTP runs `igmcp http ARGS` in process, as run does, until ctx
// ends; it returns the listening address, the exit code channel and the log.
func startHTTP(t *testing.T, ctx context.Context, args []string, vars map[string]string) (string, <-chan int, *syncBuffer) {
	t.Helper()
	cfg, err := parseConfig("http", args, envOf(vars))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		t.Fatal(err)
	}
	a, err := build(cfg, logger)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	code := make(chan int, 1)
	go func() {
		defer a.close()
		code <- runHTTP(ctx, cfg, a, ln, logger)
	}()
	return ln.Addr().String(), code, &logs
}

func exitWithin(t *testing.T, code <-chan int, d time.Duration) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(d):
		t.Fatalf("runHTTP did not return within %s", d)
		return -1
	}
}

// `igmcp http` refuses, in one line and before anything starts, what would
// leave it open beyond loopback: no token, or a short one (issue 12).
func TestHTTP_RefusesUnsafeListen(t *testing.T) {
	t.Parallel()
	const short = "short-token-15c" // 15 characters
	for _, tc := range []struct {
		name   string
		listen string
		env    []string
		want   string
	}{
		{"no token, all addresses", "0.0.0.0:0", nil, "IGMCP_HTTP_TOKEN"},
		{"no token, empty host", ":0", nil, "IGMCP_HTTP_TOKEN"},
		{"no token, IPv6 any", "[::]:0", nil, "IGMCP_HTTP_TOKEN"},
		{"short token", "0.0.0.0:0", []string{"IGMCP_HTTP_TOKEN=" + short}, "shorter than 16 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runBinary(t, childEnv(tc.env...), "http", "--sandbox", "--listen", tc.listen)
			requireOneLineExit(t, code, out, errOut, 2, tc.want)
			if !strings.Contains(errOut, tc.listen) {
				t.Errorf("stderr %q does not name the address %s", errOut, tc.listen)
			}
			if strings.Contains(errOut, short) {
				t.Errorf("stderr echoes the token: %q", errOut)
			}
		})
	}
}

// On loopback a short token is allowed (with a warning): only this machine
// can try it.
func TestHTTP_ShortTokenOnLoopbackStarts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, code, logs := startHTTP(t, ctx, []string{"--sandbox", "--listen", "127.0.0.1:0"}, map[string]string{"IGMCP_HTTP_TOKEN": "short"})
	cancel()
	if c := exitWithin(t, code, hangGuard); c != 0 {
		t.Fatalf("exit %d: %s", c, logs.String())
	}
	if !strings.Contains(logs.String(), "IGMCP_HTTP_TOKEN is short") {
		t.Fatalf("no warning about the short token: %s", logs.String())
	}
}

func TestHTTP_BadSettingsAreOneLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokensFile := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const tokA, tokB = "team-a-token-0123456789", "team-b-token-0123456789"
	bad := tokensFile("tokens.json", `{"tokens":[{"name":"x","token":"short"}]}`)
	// Refused by the HTTP front itself (two tokens alike or named alike):
	// still before anything starts.
	twoNames := tokensFile("names.json", `{"tokens":[{"name":"team","token":"`+tokA+`"},{"name":"team","token":"`+tokB+`"}]}`)
	twoTokens := tokensFile("same.json", `{"tokens":[{"name":"a","token":"`+tokA+`"},{"name":"b","token":"`+tokA+`"}]}`)
	oneToken := tokensFile("one.json", `{"tokens":[{"name":"a","token":"`+tokA+`"}]}`)
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"origins", []string{"IGMCP_ALLOWED_ORIGINS=*"}, "IGMCP_ALLOWED_ORIGINS"},
		{"tokens file", []string{"IGMCP_HTTP_TOKENS_FILE=" + bad}, "IGMCP_HTTP_TOKENS_FILE"},
		{"missing tokens file", []string{"IGMCP_HTTP_TOKENS_FILE=" + filepath.Join(dir, "nope.json")}, "IGMCP_HTTP_TOKENS_FILE"},
		{"two tokens named alike", []string{"IGMCP_HTTP_TOKENS_FILE=" + twoNames}, `two tokens are named "team"`},
		{"the same token twice", []string{"IGMCP_HTTP_TOKENS_FILE=" + twoTokens}, "are the same token"},
		{"a file token is IGMCP_HTTP_TOKEN", []string{"IGMCP_HTTP_TOKENS_FILE=" + oneToken, "IGMCP_HTTP_TOKEN=" + tokA}, "are the same token"},
		{"grace", []string{"IGMCP_HTTP_SHUTDOWN_GRACE=forever"}, "IGMCP_HTTP_SHUTDOWN_GRACE"},
		{"grace too long", []string{"IGMCP_HTTP_SHUTDOWN_GRACE=1h"}, "at most 15m"},
		{"session idle", []string{"IGMCP_HTTP_SESSION_IDLE_TTL=0s"}, "IGMCP_HTTP_SESSION_IDLE_TTL: must be a duration from 1s to 24h"},
		{"session idle too long", []string{"IGMCP_HTTP_SESSION_IDLE_TTL=25h"}, "IGMCP_HTTP_SESSION_IDLE_TTL"},
		{"sessions per token", []string{"IGMCP_HTTP_MAX_SESSIONS_PER_TOKEN=0"}, "IGMCP_HTTP_MAX_SESSIONS_PER_TOKEN: must be 1 to 1000000"},
		{"sessions", []string{"IGMCP_HTTP_MAX_SESSIONS=lots"}, "IGMCP_HTTP_MAX_SESSIONS: must be 1 to 1000000"},
		{"webhooks without the app secret", []string{"INSTAGRAM_WEBHOOK_VERIFY_TOKEN=verify-secret-xyz"}, "INSTAGRAM_APP_SECRET"},
		{"media root not a directory", []string{"IGMCP_MEDIA_ROOT=" + bad}, "IGMCP_MEDIA_ROOT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runBinary(t, childEnv(append(tc.env, "IGMCP_LOG_LEVEL=debug")...), "http", "--sandbox", "--listen", "127.0.0.1:0")
			requireOneLineExit(t, code, out, errOut, 2, tc.want)
			for _, secret := range []string{`short"`, tokA, tokB, "verify-secret-xyz"} {
				if strings.Contains(errOut, secret) {
					t.Fatalf("stderr echoes a secret: %q", errOut)
				}
			}
		})
	}
}

// A port in use is a runtime failure: exit 1, one line, nothing started
// (the address is taken before the store opens or the scheduler starts).
func TestHTTP_ListenFailureExits1(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, out, errOut := runBinary(t, childEnv("IGMCP_LOG_LEVEL=debug"), "http", "--sandbox", "--listen", ln.Addr().String())
	requireOneLineExit(t, code, out, errOut, 1, "listen "+ln.Addr().String())
}

var addrRE = regexp.MustCompile(`msg="igmcp serving on http" addr=(\S+)`)

// The whole command: a token, the sandbox, a real client over both
// transports, then a signal (context cancel) and exit 0.
func TestHTTP_ServesSandboxAndExitsCleanly(t *testing.T) {
	t.Parallel()
	const token = "cmd-test-token-0123456789"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, code, logs := startHTTP(t, ctx, []string{"--sandbox", "--sandbox-image-delay", "10ms", "--listen", "127.0.0.1:0"},
		map[string]string{"IGMCP_HTTP_TOKEN": token})
	for deadline := time.Now().Add(hangGuard); !strings.Contains(logs.String(), "addr="+addr); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the address is not logged: %s", logs.String())
		}
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", res.StatusCode)
	}
	res, err = http.Post("http://"+addr+"/mcp", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", res.StatusCode)
	}

	headers := map[string]string{"Authorization": "Bearer " + token}
	streamTr, err := transport.NewStreamableHTTP("http://"+addr+"/mcp", transport.WithHTTPHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	sseTr, err := transport.NewSSE("http://"+addr+"/sse", transport.WithHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	for name, tr := range map[string]transport.Interface{"streamable": streamTr, "sse": sseTr} {
		c := client.NewClient(tr)
		if err := c.Start(context.Background()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := initialize(ctx, c, "cmd-test"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		req := mcp.CallToolRequest{}
		req.Params.Name = "create_post"
		req.Params.Arguments = map[string]any{"image_url": "https://cdn.example.com/a.jpg"}
		out, err := c.CallTool(ctx, req)
		if err != nil || out.IsError {
			t.Fatalf("%s: create_post: %v %+v", name, err, out)
		}
		if m, _ := out.StructuredContent.(map[string]any); m["sandbox"] != true || m["status"] != "published" {
			t.Fatalf("%s: result %v", name, out.StructuredContent)
		}
		_ = c.Close()
	}

	cancel()
	if c := exitWithin(t, code, hangGuard); c != 0 {
		t.Fatalf("exit %d after the signal: %s", c, logs.String())
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), "EAAsandbox") {
		t.Fatal("a log line contains a secret")
	}
}
