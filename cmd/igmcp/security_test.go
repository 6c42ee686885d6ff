package main

// Hostile local paths and a widening tokens file, against the real binary
// (issue 12): the stdio server must answer FIFOs and its own descriptors at
// once, with the JSON-RPC stream intact, and `igmcp http` must refuse at
// start a tokens file whose entries name no real scope.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

func TestSecurity_StdioAnswersFIFOsAndOwnDescriptorsAtOnce(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	pipe := filepath.Join(root, "clip.mp4")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	toStdout := filepath.Join(root, "out.mp4")
	if err := os.Symlink("/proc/self/fd/1", toStdout); err != nil {
		t.Fatal(err)
	}
	r := startRaw(t, childEnv("IGMCP_MEDIA_ROOT="+root), sandboxArgs...)
	r.initialize(t)

	// More FIFO calls than the stdio worker pool (16) has workers: each one
	// that blocked in open(2) would hold a worker for good.
	type call struct{ tool, args string }
	var calls []call
	for i := range 20 {
		switch i % 3 {
		case 0:
			calls = append(calls, call{"publish_story", fmt.Sprintf(`{"file_path":%q}`, pipe)})
		case 1:
			calls = append(calls, call{"publish_reel", fmt.Sprintf(`{"file_path":%q}`, pipe)})
		default:
			calls = append(calls, call{"validate_post", fmt.Sprintf(`{"kind":"story","post":{"file_path":%q}}`, pipe)})
		}
	}
	// The server's own standard streams, directly and through a link.
	for _, p := range []string{"/proc/self/fd/1", "/proc/self/fd/0", "/dev/stdin", "/dev/fd/1", toStdout} {
		calls = append(calls, call{"publish_story", fmt.Sprintf(`{"file_path":%q}`, p)},
			call{"validate_post", fmt.Sprintf(`{"kind":"reel","post":{"file_path":%q}}`, p)})
	}
	for i, c := range calls {
		r.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, 100+i, c.tool, c.args))
	}
	r.send(t, `{"jsonrpc":"2.0","id":999,"method":"tools/list"}`)

	// Every call is answered (in any order), every stdout line is JSON-RPC
	// (readUntil fails on anything else), and each answer is a refusal.
	answered := map[float64]map[string]any{}
	for len(answered) < len(calls)+1 {
		msg := r.readUntil(t, "the answers", func(m map[string]any) bool { _, ok := m["id"].(float64); return ok && m["method"] == nil })
		answered[msg["id"].(float64)] = msg
	}
	for i, c := range calls {
		msg := answered[float64(100+i)]
		res, _ := msg["result"].(map[string]any)
		if res == nil {
			t.Fatalf("%s %s: %v", c.tool, c.args, msg)
		}
		sc, _ := res["structuredContent"].(map[string]any)
		if c.tool == "validate_post" {
			probs, _ := sc["problems"].([]any)
			if sc["valid"] != false || len(probs) == 0 || probs[0].(map[string]any)["kind"] != "invalid_input" || sc["media"] != nil {
				t.Errorf("%s %s: %v", c.tool, c.args, sc)
			}
			continue
		}
		e, _ := sc["error"].(map[string]any)
		if res["isError"] != true || e["kind"] != "invalid_input" || e["field"] != "file_path" {
			t.Errorf("%s %s: %v", c.tool, c.args, sc)
		}
	}
	if res, _ := answered[999]["result"].(map[string]any); res == nil || res["tools"] == nil {
		t.Fatalf("tools/list after the calls: %v", answered[999])
	}
	if err := r.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	r.requireExit0(t, "stdin closed")
}

// A tokens file entry that names no real account or toolset is a start-up
// error: exit 2, one line naming the entry, no token in it.
func TestSecurity_WideningTokensFileRefusedAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i, entry := range []string{
		`"accounts": ["@"]`, `"accounts": [""]`, `"accounts": [" "]`, `"toolsets": [""]`, `"toolsets": ["all"]`, `"accounts": []`,
	} {
		file := filepath.Join(dir, fmt.Sprintf("tokens%d.json", i))
		body := `{"tokens":[{"name":"team-a","token":"team-a-secret-0123456789",` + entry + `}]}`
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binPath, "http", "--sandbox", "--listen", "127.0.0.1:0")
		cmd.Env = childEnv("IGMCP_HTTP_TOKENS_FILE="+file, "IGMCP_DATA_DIR="+t.TempDir(), "IGMCP_LOG_LEVEL=debug")
		var stderr syncBuffer
		cmd.Stderr = &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(hangGuard):
			_ = cmd.Process.Kill()
			t.Fatalf("%s: the server started", entry)
		}
		// The error is one "igmcp:" line, with nothing logged before it.
		if code := cmd.ProcessState.ExitCode(); code != 2 || strings.Count(stderr.String(), "\n") != 1 ||
			!strings.HasPrefix(stderr.String(), "igmcp:") || !strings.Contains(stderr.String(), "team-a") || strings.Contains(stderr.String(), "team-a-secret") {
			t.Errorf("%s: exit %d, stderr %q", entry, code, stderr.String())
		}
	}
}

// validateFile asks validate_post to check a Reel from a local file, and
// returns its problems' messages ("" when the media-root gate let the path
// through: the file was then examined).
func validateFile(t *testing.T, call func(name string, args map[string]any) map[string]any, path string) []string {
	t.Helper()
	sc := call("validate_post", map[string]any{"kind": "reel", "post": map[string]any{"file_path": path}})
	var msgs []string
	probs, _ := sc["problems"].([]any)
	for _, p := range probs {
		m, _ := p.(map[string]any)
		msgs = append(msgs, fmt.Sprint(m["kind"], ": ", m["message"]))
	}
	return msgs
}

const (
	refusedRemote  = "does not read local files for remote callers"
	refusedOutside = "is not a file this server may read"
)

func refusedWith(msgs []string, phrase string) bool {
	return len(msgs) == 1 && strings.HasPrefix(msgs[0], "invalid_input: ") && strings.Contains(msgs[0], phrase)
}

func gateRefused(msgs []string) bool {
	for _, m := range msgs {
		if strings.Contains(m, refusedRemote) || strings.Contains(m, refusedOutside) {
			return true
		}
	}
	return false
}

// The media-root gate of the real binary (docs/reference.md §2): without
// IGMCP_MEDIA_ROOT, igmcp stdio reads under the home and temporary
// directories (outside hidden ones, never the data directory) and igmcp
// http reads nothing; with it, only that directory, over both.
func TestSecurity_MediaRootGate(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	write := func(rel string) string {
		p := filepath.Join(home, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("not really a video"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clip, hidden := write("videos/clip.mp4"), write(".private/clip.mp4")
	dataDir := filepath.Join(home, "igmcp-data")
	env := childEnv("HOME="+home, "IGMCP_DATA_DIR="+dataDir)

	t.Run("stdio defaults", func(t *testing.T) {
		t.Parallel()
		s := startClient(t, "", env, sandboxArgs...)
		call := func(name string, args map[string]any) map[string]any { return s.ok(t, name, args) }
		if msgs := validateFile(t, call, clip); gateRefused(msgs) {
			t.Fatalf("a file in the home directory refused over stdio: %v", msgs)
		}
		if msgs := validateFile(t, call, hidden); !refusedWith(msgs, refusedOutside) {
			t.Fatalf("a file in a hidden directory: %v", msgs)
		}
		// The data directory holds the database (and the key): never read.
		if msgs := validateFile(t, call, filepath.Join(dataDir, "igmcp.db")); !refusedWith(msgs, refusedOutside) {
			t.Fatalf("the database in IGMCP_DATA_DIR: %v", msgs)
		}
		s.close(t)
	})

	t.Run("http defaults", func(t *testing.T) {
		t.Parallel()
		p := startHTTPProc(t, "media-root", env, "--sandbox")
		call := func(name string, args map[string]any) map[string]any {
			m, err := p.call(context.Background(), name, args)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		if msgs := validateFile(t, call, clip); !refusedWith(msgs, refusedRemote) {
			t.Fatalf("igmcp http without IGMCP_MEDIA_ROOT: %v", msgs)
		}
	})

	t.Run("http with a media root", func(t *testing.T) {
		t.Parallel()
		p := startHTTPProc(t, "media-root-set", append(env, "IGMCP_MEDIA_ROOT="+filepath.Join(home, "videos")), "--sandbox")
		call := func(name string, args map[string]any) map[string]any {
			m, err := p.call(context.Background(), name, args)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		if msgs := validateFile(t, call, clip); gateRefused(msgs) {
			t.Fatalf("a file inside IGMCP_MEDIA_ROOT: %v", msgs)
		}
		if msgs := validateFile(t, call, write("elsewhere/clip.mp4")); !refusedWith(msgs, refusedOutside) {
			t.Fatalf("a file outside IGMCP_MEDIA_ROOT: %v", msgs)
		}
	})
}

// initializeStatus opens a Streamable HTTP session with a raw initialize
// presenting bearer, and returns the status.
func initializeStatus(t *testing.T, addr, bearer string) int {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + mcp.LATEST_LEGACY_PROTOCOL_VERSION + `","capabilities":{},"clientInfo":{"name":"cmd-sessions","version":"1"}}}`
	return postStatus(t, "http://"+addr+"/mcp", []byte(body), map[string]string{
		"Accept": "application/json, text/event-stream", "Authorization": "Bearer " + bearer})
}

// postStatus POSTs a JSON body with headers and returns the status.
func postStatus(t *testing.T, url string, body []byte, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode
}

// The session settings reach igmcp http (docs/reference.md §2): a
// session beyond IGMCP_HTTP_MAX_SESSIONS is refused (503), one beyond
// IGMCP_HTTP_MAX_SESSIONS_PER_TOKEN too (429), until an idle one is reaped
// after IGMCP_HTTP_SESSION_IDLE_TTL.
func TestSecurity_SessionLimits(t *testing.T) {
	t.Parallel()
	const admin, teamA = "admin-token-0123456789abcdef", "team-a-token-0123456789abcdef"
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(tokens, []byte(`{"tokens":[{"name":"team-a","token":"`+teamA+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     []string
		second  string // the token of the second session
		refused int
	}{
		{"in all", []string{"IGMCP_HTTP_MAX_SESSIONS=1"}, teamA, http.StatusServiceUnavailable},
		{"per token", []string{"IGMCP_HTTP_MAX_SESSIONS_PER_TOKEN=1"}, admin, http.StatusTooManyRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := childEnv(append(tc.env, "IGMCP_HTTP_SESSION_IDLE_TTL=1s", "IGMCP_HTTP_TOKENS_FILE="+tokens, "IGMCP_HTTP_TOKEN="+admin)...)
			p := startHTTPProc(t, "sessions", env, "--sandbox")
			// startHTTPProc's client speaks the stateless 2026-07-28
			// protocol: only the initialize handshake of the 2025 versions
			// opens a session.
			if code := initializeStatus(t, p.addr, admin); code != http.StatusOK {
				t.Fatalf("the first session: %d", code)
			}
			if code := initializeStatus(t, p.addr, tc.second); code != tc.refused {
				t.Fatalf("a second session: %d, want %d", code, tc.refused)
			}
			for deadline := time.Now().Add(hangGuard); initializeStatus(t, p.addr, tc.second) != http.StatusOK; time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the idle session was never reaped")
				}
			}
		})
	}
}
