package main

// Hostile local paths and a widening tokens file, against the real binary
// (issue 12): the stdio server must answer FIFOs and its own descriptors at
// once, with the JSON-RPC stream intact, and `igmcp http` must refuse at
// start a tokens file whose entries name no real scope.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
		cmd.Env = childEnv("IGMCP_HTTP_TOKENS_FILE="+file, "IGMCP_DATA_DIR="+t.TempDir())
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
		// The error is one "igmcp:" line (log lines may come with it).
		out := stderr.String()
		var errLines []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "igmcp:") {
				errLines = append(errLines, l)
			}
		}
		if code := cmd.ProcessState.ExitCode(); code != 2 || len(errLines) != 1 ||
			!strings.Contains(errLines[0], "team-a") || strings.Contains(out, "team-a-secret") {
			t.Errorf("%s: exit %d, stderr %q", entry, code, out)
		}
	}
}
