package main

// End-to-end tests: the real binary, built once in TestMain, driven over
// stdio by mcp-go's client (and, for process-lifecycle checks, by raw
// JSON-RPC lines). The child gets an explicit minimal environment so the
// developer's INSTAGRAM_* variables never leak in.

import (
	"github.com/igmcp/igmcp/tools"

	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/fakegraph"
)

// binPath is the igmcp binary TestMain built, once for the whole test
// binary; every real-binary test runs it.
var binPath string

// sharedPostgres is the test binary's PostgreSQL (freshPostgres).
var sharedPostgres testPostgres

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "igmcp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "igmcp")
	// -buildvcs=auto stamps the commit when this is a git checkout (the
	// environment may say -buildvcs=false), for igmcp version's test.
	build := exec.Command(goTool(), "build", "-buildvcs=auto", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	sharedPostgres.stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// sandboxToken is the sandbox account's access token; it must never appear
// in a result or a log line.
var sandboxToken = fakegraph.DefaultAccount.Token

// childEnv is the explicit environment of the server process. Preflight
// is off: the tests' media URLs name hosts beyond loopback, which a test
// must never try to reach (not even a DNS lookup); a test that wants it
// passes IGMCP_PREFLIGHT=on (the last value wins).
func childEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "IGMCP_PREFLIGHT=off"}, extra...)
}

// hangGuard bounds every e2e wait; it is a safety net against a hung child,
// not a timing assertion, so it is generous for a loaded machine.
const hangGuard = time.Minute

var sandboxArgs = []string{"stdio", "--sandbox", "--sandbox-image-delay", "0s", "--sandbox-video-delay", "2s"}

// defaultTools is what the binary must list without IGMCP_TOOLSETS: the
// default toolsets of docs/reference.md §2, selected by the tools
// package's own registry (built without dependencies; only the definitions
// are read).
var defaultTools = toolNames(tools.Selection{Toolsets: defaultToolsetNames()})

func defaultToolsetNames() []string {
	ts, err := tools.ParseToolsets("publish,comments,insights,schedule")
	if err != nil {
		panic(err)
	}
	return ts
}

func toolNames(sel tools.Selection) []string {
	var names []string
	for _, t := range tools.Select(tools.All(&tools.Deps{}), sel) {
		names = append(names, t.Tool.Name)
	}
	slices.Sort(names)
	return names
}

type e2eServer struct {
	client *client.Client
	cmd    *exec.Cmd
	stderr *syncBuffer
	closed bool
}

// startClient starts the binary under mcp-go's stdio client and initializes
// it in the given protocol era ("" = the client's default).
func startClient(t *testing.T, era string, env []string, args ...string) *e2eServer {
	t.Helper()
	s := &e2eServer{stderr: &syncBuffer{}}
	// NewStdioMCPClient appends env to os.Environ(); a command func gives the
	// child exactly env, and captures its standard error.
	tr := transport.NewStdioWithOptions(binPath, env, args, transport.WithCommandFunc(
		func(ctx context.Context, command string, env []string, args []string) (*exec.Cmd, error) {
			cmd := exec.CommandContext(ctx, command, args...)
			cmd.Env = env
			cmd.Stderr = s.stderr
			s.cmd = cmd
			return cmd, nil
		}))
	var opts []client.ClientOption
	if era != "" {
		opts = append(opts, client.WithProtocolVersion(era))
	}
	s.client = client.NewClient(tr, opts...)
	// The transport ties the child's life to Start's context: it must
	// outlive this function.
	if err := s.client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !s.closed {
			_ = s.client.Close()
		}
		if strings.Contains(s.stderr.String(), sandboxToken) {
			t.Errorf("server logs contain the sandbox token:\n%s", s.stderr.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	res, err := initialize(ctx, s.client, "igmcp-e2e")
	if err != nil {
		t.Fatalf("initialize: %v\nstderr:\n%s", err, s.stderr.String())
	}
	if res.ServerInfo.Name != "igmcp" {
		t.Fatalf("server info: %+v", res.ServerInfo)
	}
	want := mcp.LATEST_PROTOCOL_VERSION
	if era != "" {
		want = era
	}
	if res.ProtocolVersion != want {
		t.Fatalf("negotiated protocol %q, want %q", res.ProtocolVersion, want)
	}
	return s
}

// close ends the session by closing stdin and requires a clean exit.
func (s *e2eServer) close(t *testing.T) {
	t.Helper()
	s.closed = true
	if err := s.client.Close(); err != nil {
		t.Fatalf("server did not exit cleanly when stdin closed: %v\nstderr:\n%s", err, s.stderr.String())
	}
	if st := s.cmd.ProcessState; st == nil || st.ExitCode() != 0 {
		t.Fatalf("exit state %v", st)
	}
}

func (s *e2eServer) toolNames(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	res, err := s.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// call invokes a tool and returns the result and its structuredContent;
// no result may contain the sandbox token.
func (s *e2eServer) call(t *testing.T, name string, args map[string]any) (*mcp.CallToolResult, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := s.client.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: protocol error: %v\nstderr:\n%s", name, err, s.stderr.String())
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), sandboxToken) {
		t.Fatalf("%s: result contains the access token: %s", name, raw)
	}
	var m map[string]any
	if res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
	}
	if m == nil {
		t.Fatalf("%s: no structuredContent: %s", name, raw)
	}
	return res, m
}

func (s *e2eServer) ok(t *testing.T, name string, args map[string]any) map[string]any {
	t.Helper()
	res, m := s.call(t, name, args)
	if res.IsError {
		t.Fatalf("%s: unexpected error result: %v", name, m)
	}
	return m
}

func (s *e2eServer) fail(t *testing.T, name string, args map[string]any, kind string) map[string]any {
	t.Helper()
	res, m := s.call(t, name, args)
	if !res.IsError {
		t.Fatalf("%s: want error %s, got %v", name, kind, m)
	}
	e, _ := m["error"].(map[string]any)
	if e == nil || e["kind"] != kind {
		t.Fatalf("%s: want error kind %s, got %v", name, kind, m)
	}
	if a, _ := e["action"].(string); a == "" {
		t.Fatalf("%s: error without action: %v", name, e)
	}
	if _, isBool := e["retryable"].(bool); !isBool {
		t.Fatalf("%s: retryable is not a boolean: %v", name, e)
	}
	return e
}

func requirePublished(t *testing.T, what string, m map[string]any) {
	t.Helper()
	if m["status"] != "published" {
		t.Fatalf("%s: status %v: %v", what, m["status"], m)
	}
	if id, _ := m["media_id"].(string); id == "" {
		t.Fatalf("%s: no media_id: %v", what, m)
	}
	// The sandbox's permalinks are on a host that cannot exist (README
	// "Sandbox"): the binary runs fakegraph.NewSandbox, not the plain fake.
	if p, _ := m["permalink"].(string); !strings.HasPrefix(p, "https://sandbox.igmcp.invalid/") {
		t.Fatalf("%s: permalink %v", what, m["permalink"])
	}
	if m["sandbox"] != true {
		t.Fatalf("%s: result not marked sandbox: %v", what, m)
	}
}

func eraLabel(era string) string {
	if era == "" {
		return "default-" + mcp.LATEST_PROTOCOL_VERSION
	}
	return era
}

func TestE2E_SandboxPublishing(t *testing.T) {
	t.Parallel()
	for _, era := range []string{"", mcp.LATEST_LEGACY_PROTOCOL_VERSION} {
		t.Run(eraLabel(era), func(t *testing.T) {
			t.Parallel()
			s := startClient(t, era, childEnv("IGMCP_LOG_LEVEL=debug"), sandboxArgs...)

			if got := s.toolNames(t); !slices.Equal(got, defaultTools) {
				t.Fatalf("tools/list: %v, want %v", got, defaultTools)
			}

			post := s.ok(t, "create_post", map[string]any{"image_url": "https://cdn.example.com/photo.jpg", "caption": "Hello from e2e #igmcp"})
			requirePublished(t, "create_post", post)

			items := []any{
				map[string]any{"image_url": "https://cdn.example.com/1.jpg"},
				map[string]any{"image_url": "https://cdn.example.com/2.jpg"},
				map[string]any{"image_url": "https://cdn.example.com/3.jpg"},
			}
			car := s.ok(t, "create_carousel", map[string]any{"items": items, "caption": "three"})
			requirePublished(t, "create_carousel", car)
			if ids, _ := car["child_container_ids"].([]any); len(ids) != 3 {
				t.Fatalf("carousel children: %v", car["child_container_ids"])
			}

			reel := s.ok(t, "publish_reel", map[string]any{"video_url": "https://cdn.example.com/clip.mp4", "caption": "reel", "wait_seconds": 0})
			cid, _ := reel["container_id"].(string)
			if reel["status"] != "processing" || cid == "" {
				t.Fatalf("publish_reel wait_seconds=0: %v", reel)
			}
			st := s.ok(t, "get_container_status", map[string]any{"container_id": cid})
			if st["status_code"] != "IN_PROGRESS" {
				t.Fatalf("get_container_status: %v", st)
			}
			p1 := s.ok(t, "publish_container", map[string]any{"container_id": cid, "wait_seconds": 30})
			requirePublished(t, "publish_container", p1)
			p2 := s.ok(t, "publish_container", map[string]any{"container_id": cid})
			if p2["status"] != "published" || p2["media_id"] != p1["media_id"] {
				t.Fatalf("repeat publish_container: %v, first %v", p2, p1)
			}

			e := s.fail(t, "create_post", map[string]any{"image_url": "https://cdn.example.com/photo.jpg", "caption": strings.Repeat("a", 2201)}, "invalid_input")
			if e["field"] != "caption" {
				t.Fatalf("invalid caption: field %v: %v", e["field"], e)
			}

			s.close(t)
		})
	}
}

func TestE2E_ReadOnly(t *testing.T) {
	t.Parallel()
	s := startClient(t, "", childEnv("IGMCP_READ_ONLY=1"), "stdio", "--sandbox")
	got := s.toolNames(t)
	if len(got) == 0 {
		t.Fatal("read-only mode exposes no tools")
	}
	for _, name := range got {
		if !strings.HasPrefix(name, "get_") && !strings.HasPrefix(name, "list_") && !strings.HasPrefix(name, "validate_") {
			t.Fatalf("read-only mode exposes %s (all: %v)", name, got)
		}
	}
	if want := toolNames(tools.Selection{Toolsets: defaultToolsetNames(), ReadOnly: true}); !slices.Equal(got, want) || len(want) == 0 {
		t.Fatalf("read-only tools: %v, want %v", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "create_post"
	req.Params.Arguments = map[string]any{"image_url": "https://cdn.example.com/photo.jpg"}
	if res, err := s.client.CallTool(ctx, req); err == nil && !res.IsError {
		t.Fatalf("create_post ran in read-only mode: %+v", res)
	}
	s.close(t)
}

func TestE2E_NoTokenAnswersAuthExpired(t *testing.T) {
	t.Parallel()
	// No --sandbox and no token: the server must start without calling
	// Instagram and answer every call with auth_expired.
	// Its own data dir: without a token the server opens the token store.
	s := startClient(t, mcp.LATEST_LEGACY_PROTOCOL_VERSION, childEnv("IGMCP_DATA_DIR="+t.TempDir()), "stdio")
	s.fail(t, "create_post", map[string]any{"image_url": "https://cdn.example.com/photo.jpg"}, "auth_expired")
	s.fail(t, "get_container_status", map[string]any{"container_id": "17900000000000001"}, "auth_expired")
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := s.client.Ping(ctx); err != nil {
		t.Fatalf("server stopped answering after auth_expired: %v", err)
	}
	if got := s.toolNames(t); !slices.Equal(got, defaultTools) {
		t.Fatalf("tools/list: %v, want %v", got, defaultTools)
	}
	s.close(t)
}

// rawServer is the binary driven by raw JSON-RPC lines, for checks on the
// process itself (signals, stdin closing mid-call).
type rawServer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *syncBuffer
	waited chan error
}

func startRaw(t *testing.T, env []string, args ...string) *rawServer {
	t.Helper()
	r := &rawServer{cmd: exec.Command(binPath, args...), stderr: &syncBuffer{}, waited: make(chan error, 1)}
	r.cmd.Env = env
	r.cmd.Stderr = r.stderr
	var err error
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.stdout = bufio.NewReaderSize(out, 1<<20)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A hung child is killed, which ends every pending read with EOF.
	guard := time.AfterFunc(hangGuard, func() { _ = r.cmd.Process.Kill() })
	go func() {
		// Wait only after stdout is fully read is the documented order, but
		// readers here stop at known lines; the pipes close on exit.
		r.waited <- r.cmd.Wait()
		guard.Stop()
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.waited
		if strings.Contains(r.stderr.String(), sandboxToken) {
			t.Errorf("server logs contain the sandbox token:\n%s", r.stderr.String())
		}
	})
	return r
}

func (r *rawServer) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := io.WriteString(r.stdin, msg+"\n"); err != nil {
		t.Fatalf("write to server: %v", err)
	}
}

// readUntil reads stdout lines until one satisfies match; every line must
// be a JSON-RPC message.
func (r *rawServer) readUntil(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	for {
		line, err := r.stdout.ReadBytes('\n')
		if err != nil {
			t.Fatalf("waiting for %s: %v\nstderr:\n%s", what, err, r.stderr.String())
		}
		var msg map[string]any
		if err := json.Unmarshal(line, &msg); err != nil || msg["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC: %q", line)
		}
		if match(msg) {
			return msg
		}
	}
}

func responseTo(id float64) func(map[string]any) bool {
	return func(m map[string]any) bool { v, ok := m["id"].(float64); return ok && v == id && m["method"] == nil }
}

func (r *rawServer) initialize(t *testing.T) {
	t.Helper()
	r.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+mcp.LATEST_LEGACY_PROTOCOL_VERSION+`","capabilities":{},"clientInfo":{"name":"igmcp-e2e-raw","version":"1"}}}`)
	resp := r.readUntil(t, "initialize response", responseTo(1))
	if resp["result"] == nil {
		t.Fatalf("initialize: %v", resp)
	}
	r.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

// startReelWait starts a publish_reel that waits for a long-processing video
// and returns once the server reported progress, i.e. the call is in flight.
func (r *rawServer) startReelWait(t *testing.T) {
	t.Helper()
	r.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"publish_reel","arguments":{"video_url":"https://cdn.example.com/clip.mp4","wait_seconds":600},"_meta":{"progressToken":"e2e"}}}`)
	r.readUntil(t, "a progress notification", func(m map[string]any) bool { return m["method"] == "notifications/progress" })
}

func (r *rawServer) requireExit0(t *testing.T, how string) {
	t.Helper()
	err := <-r.waited
	r.waited <- err // for Cleanup
	if err != nil {
		t.Fatalf("after %s: %v (want exit 0)\nstderr:\n%s", how, err, r.stderr.String())
	}
	if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("after %s: killed by %v", how, ws.Signal())
	}
}

func TestE2E_ProcessLifecycle(t *testing.T) {
	t.Parallel()
	args := []string{"stdio", "--sandbox", "--sandbox-video-delay", "1h"}
	env := childEnv("IGMCP_LOG_LEVEL=debug")
	for _, tc := range []struct {
		name    string
		inCall  bool
		closeIn bool // close stdin; otherwise SIGTERM
	}{
		{"stdin closed", false, true},
		{"stdin closed during a reel wait", true, true},
		{"SIGTERM", false, false},
		{"SIGTERM during a reel wait", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := startRaw(t, env, args...)
			r.initialize(t)
			if tc.inCall {
				r.startReelWait(t)
			}
			how := "SIGTERM"
			if tc.closeIn {
				how = "stdin closed"
				if err := r.stdin.Close(); err != nil {
					t.Fatal(err)
				}
			} else if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			r.requireExit0(t, how)
		})
	}
}

// initialize opens an MCP session as the client named name.
func initialize(ctx context.Context, c *client.Client, name string) (*mcp.InitializeResult, error) {
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: name, Version: "1"}
	return c.Initialize(ctx, init)
}
