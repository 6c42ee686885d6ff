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

// startHTTP parses the configuration as `igmcp http ARGS` would, builds the
// app and runs runHTTP; it returns the exit code channel and the captured
// stderr and log.
func startHTTP(t *testing.T, ctx context.Context, args []string, vars map[string]string) (<-chan int, *syncBuffer, *syncBuffer) {
	t.Helper()
	cfg, err := parseConfig("http", args, envOf(vars))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	var stderr, logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := build(cfg, logger)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	code := make(chan int, 1)
	go func() {
		defer a.close()
		code <- runHTTP(ctx, cfg, a, envOf(vars), &stderr, logger)
	}()
	return code, &stderr, &logs
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

func TestRunHTTP_RefusesNonLoopbackWithoutToken(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		code, stderr, _ := startHTTP(t, context.Background(), []string{"--sandbox", "--listen", listen}, nil)
		if c := exitWithin(t, code, 10*time.Second); c != 2 {
			t.Fatalf("%s: exit %d, want 2", listen, c)
		}
		out := stderr.String()
		if strings.Count(out, "\n") != 1 || !strings.Contains(out, "IGMCP_HTTP_TOKEN") || !strings.Contains(out, listen) {
			t.Fatalf("%s: want one line naming the address and IGMCP_HTTP_TOKEN, got %q", listen, out)
		}
	}
}

func TestRunHTTP_BadSettingsAreOneLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(bad, []byte(`{"tokens":[{"name":"x","token":"short"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, vars := range map[string]map[string]string{
		"origins":     {"IGMCP_ALLOWED_ORIGINS": "*"},
		"tokens file": {"IGMCP_HTTP_TOKENS_FILE": bad},
		"missing":     {"IGMCP_HTTP_TOKENS_FILE": filepath.Join(dir, "nope.json")},
		"grace":       {"IGMCP_HTTP_SHUTDOWN_GRACE": "forever"},
	} {
		code, stderr, _ := startHTTP(t, context.Background(), []string{"--sandbox", "--listen", "127.0.0.1:0"}, vars)
		if c := exitWithin(t, code, 10*time.Second); c != 2 {
			t.Fatalf("%s: exit %d, want 2", name, c)
		}
		if out := stderr.String(); strings.Count(out, "\n") != 1 || strings.Contains(out, "short\"") {
			t.Fatalf("%s: stderr %q", name, out)
		}
	}
}

func TestRunHTTP_ListenFailureExits1(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, stderr, _ := startHTTP(t, context.Background(), []string{"--sandbox", "--listen", ln.Addr().String()}, nil)
	if c := exitWithin(t, code, 10*time.Second); c != 1 || !strings.Contains(stderr.String(), "listen") {
		t.Fatalf("exit %d, stderr %q", c, stderr.String())
	}
}

var addrRE = regexp.MustCompile(`msg="igmcp serving on http" addr=(\S+)`)

// The whole command: a token, the sandbox, a real client over both
// transports, then a signal (context cancel) and exit 0.
func TestRunHTTP_ServesSandboxAndExitsCleanly(t *testing.T) {
	t.Parallel()
	const token = "cmd-test-token-0123456789"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code, stderr, logs := startHTTP(t, ctx, []string{"--sandbox", "--sandbox-image-delay", "10ms", "--listen", "127.0.0.1:0"},
		map[string]string{"IGMCP_HTTP_TOKEN": token})
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("no address logged: %s", logs.String())
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
		init := mcp.InitializeRequest{}
		init.Params.ClientInfo = mcp.Implementation{Name: "cmd-test", Version: "1"}
		if _, err := c.Initialize(ctx, init); err != nil {
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
	if c := exitWithin(t, code, 30*time.Second); c != 0 {
		t.Fatalf("exit %d after the signal, stderr %q", c, stderr.String())
	}
	if stderr.String() != "" {
		t.Fatalf("stderr: %q", stderr.String())
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), "EAAsandbox") {
		t.Fatal("a log line contains a secret")
	}
}
