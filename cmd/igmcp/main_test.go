package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
)

// envOf is a getenv over a fixed map, so the developer's real INSTAGRAM_*
// variables never reach a test.
func envOf(m map[string]string) env {
	return func(k string) string { return m[k] }
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runCapture(t *testing.T, args []string, vars map[string]string, stdin io.Reader) (code int, stdout, stderr string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut syncBuffer
	code = run(args, envOf(vars), stdin, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRun_Version(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version", "-version"} {
		code, out, errOut := runCapture(t, []string{arg}, nil, nil)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", arg, code, errOut)
		}
		if errOut != "" {
			t.Fatalf("%s: stderr %q", arg, errOut)
		}
		if !strings.Contains(out, version) || !strings.Contains(out, graph.DefaultAPIVersion) {
			t.Fatalf("%s: stdout %q lacks version %q or Graph API %q", arg, out, version, graph.DefaultAPIVersion)
		}
		if strings.Count(out, "\n") != 1 {
			t.Fatalf("%s: want one line, got %q", arg, out)
		}
	}
}

func TestRun_Help(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCapture(t, []string{"help"}, nil, nil)
	if code != 0 || errOut != "" || !strings.Contains(out, "usage: igmcp") {
		t.Fatalf("help: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestRun_UsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage: igmcp"},
		{"unknown command", []string{"serve"}, `unknown command "serve"`},
		{"flag as command", []string{"--sandbox"}, `unknown command "--sandbox"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCapture(t, tc.args, nil, nil)
			if code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
			if out != "" {
				t.Fatalf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "usage: igmcp") {
				t.Fatalf("stderr %q lacks %q and the usage", errOut, tc.want)
			}
		})
	}
}

func TestRun_BadConfig_OneLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing-token")
	unreadable := dir // a directory: os.ReadFile fails even as root
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want string // substring of the one line
	}{
		{"login", map[string]string{"INSTAGRAM_LOGIN": "x"}, nil, "INSTAGRAM_LOGIN"},
		{"login flag", nil, []string{"--login", "myspace"}, "INSTAGRAM_LOGIN"},
		{"api version", map[string]string{"INSTAGRAM_API_VERSION": "25"}, nil, "INSTAGRAM_API_VERSION"},
		{"api version flag", nil, []string{"--api-version", "v25"}, "INSTAGRAM_API_VERSION"},
		{"api version leading zero", map[string]string{"INSTAGRAM_API_VERSION": "v025.0"}, nil, "INSTAGRAM_API_VERSION"},
		{"toolsets", map[string]string{"IGMCP_TOOLSETS": "nope"}, nil, "nope"},
		{"toolsets flag", nil, []string{"--toolsets", "publish,nope"}, "nope"},
		{"token and token file", map[string]string{"INSTAGRAM_ACCESS_TOKEN": "EAAx", "INSTAGRAM_ACCESS_TOKEN_FILE": missing}, nil, "not both"},
		{"app secret and file", map[string]string{"INSTAGRAM_APP_SECRET": "s", "INSTAGRAM_APP_SECRET_FILE": missing}, nil, "not both"},
		{"missing token file", map[string]string{"INSTAGRAM_ACCESS_TOKEN_FILE": missing}, nil, "INSTAGRAM_ACCESS_TOKEN_FILE"},
		{"unreadable token file", map[string]string{"INSTAGRAM_ACCESS_TOKEN_FILE": unreadable}, nil, "INSTAGRAM_ACCESS_TOKEN_FILE"},
		{"unreadable app secret file", map[string]string{"INSTAGRAM_APP_SECRET_FILE": unreadable}, nil, "INSTAGRAM_APP_SECRET_FILE"},
		{"log level", map[string]string{"IGMCP_LOG_LEVEL": "loud"}, nil, "IGMCP_LOG_LEVEL"},
		{"log level flag", nil, []string{"--log-level", "trace"}, "trace"},
		{"unknown flag", nil, []string{"--bogus"}, "bogus"},
		{"bad duration", nil, []string{"--sandbox", "--sandbox-video-delay", "soon"}, "sandbox-video-delay"},
		{"stray argument", nil, []string{"extra"}, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"stdio"}, tc.args...)
			code, out, errOut := runCapture(t, args, tc.vars, nil)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			if out != "" {
				t.Fatalf("stdout %q, want nothing", out)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") {
				t.Fatalf("want exactly one line on stderr, got %q", errOut)
			}
			if !strings.HasPrefix(errOut, "igmcp: ") || !strings.Contains(errOut, tc.want) {
				t.Fatalf("stderr %q: want igmcp: … %s", errOut, tc.want)
			}
			for _, secret := range []string{"EAAx"} {
				if strings.Contains(errOut, secret) {
					t.Fatalf("stderr leaks a secret: %q", errOut)
				}
			}
		})
	}
}

func TestParseConfig_Defaults(t *testing.T) {
	t.Parallel()
	c, err := parseConfig("stdio", nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.sandbox || c.token != "" || c.appSecret != "" || c.userID != "" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.login != auth.LoginFacebook || c.graphURL != graph.FacebookGraphURL || c.apiVersion != graph.DefaultAPIVersion {
		t.Fatalf("login %q, graph URL %q, version %q", c.login, c.graphURL, c.apiVersion)
	}
	if len(c.selection.Toolsets) != 0 || c.selection.ReadOnly {
		t.Fatalf("selection: %+v", c.selection)
	}
	if c.logLevel != slog.LevelInfo {
		t.Fatalf("log level %v", c.logLevel)
	}
	if c.sandboxImage != time.Second || c.sandboxVideo != 15*time.Second {
		t.Fatalf("sandbox delays %v/%v, want 1s/15s (README)", c.sandboxImage, c.sandboxVideo)
	}
}

func TestParseConfig_Env(t *testing.T) {
	t.Parallel()
	c, err := parseConfig("stdio", nil, envOf(map[string]string{
		"INSTAGRAM_ACCESS_TOKEN": "  EAAenv \n",
		"INSTAGRAM_USER_ID":      " 1784 ",
		"INSTAGRAM_LOGIN":        "Instagram",
		"INSTAGRAM_API_VERSION":  "v24.0",
		"IGMCP_TOOLSETS":         "comments, insights",
		"IGMCP_READ_ONLY":        "true",
		"IGMCP_LOG_LEVEL":        "WARN",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "EAAenv" || c.userID != "1784" {
		t.Fatalf("token %q, user %q: want trimmed", c.token, c.userID)
	}
	if c.login != auth.LoginInstagram || c.graphURL != graph.InstagramGraphURL || c.apiVersion != "v24.0" {
		t.Fatalf("login %q, graph URL %q, version %q", c.login, c.graphURL, c.apiVersion)
	}
	if !slices.Equal(c.selection.Toolsets, []string{"comments", "insights"}) || !c.selection.ReadOnly {
		t.Fatalf("selection: %+v", c.selection)
	}
	if c.logLevel != slog.LevelWarn {
		t.Fatalf("log level %v", c.logLevel)
	}
}

func TestParseConfig_ReadOnlyValues(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{"1": true, "true": true, "YES": true, "on": true, " 1 ": true, "0": false, "false": false, "": false, "no": false} {
		c, err := parseConfig("stdio", nil, envOf(map[string]string{"IGMCP_READ_ONLY": v}))
		if err != nil {
			t.Fatal(err)
		}
		if c.selection.ReadOnly != want {
			t.Errorf("IGMCP_READ_ONLY=%q: read-only %v, want %v", v, c.selection.ReadOnly, want)
		}
	}
}

func TestParseConfig_FlagsOverrideEnv(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"IGMCP_TOOLSETS":        "comments",
		"IGMCP_READ_ONLY":       "1",
		"IGMCP_LOG_LEVEL":       "error",
		"INSTAGRAM_LOGIN":       "facebook",
		"INSTAGRAM_API_VERSION": "v23.0",
		"INSTAGRAM_GRAPH_URL":   "https://env.example.com",
		"INSTAGRAM_USER_ID":     "111",
	}
	c, err := parseConfig("stdio", []string{
		"--toolsets", "publish",
		"--read-only=false",
		"--log-level", "debug",
		"--login", "instagram",
		"--api-version", "v25.0",
		"--graph-url", "https://flag.example.com",
		"--user-id", "222",
		"--sandbox", "--sandbox-image-delay", "0s", "--sandbox-video-delay", "2s",
	}, envOf(vars))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.selection.Toolsets, []string{"publish"}) {
		t.Errorf("--toolsets publish lost to IGMCP_TOOLSETS: %v", c.selection.Toolsets)
	}
	if c.selection.ReadOnly {
		t.Errorf("--read-only=false lost to IGMCP_READ_ONLY=1")
	}
	if c.logLevel != slog.LevelDebug {
		t.Errorf("--log-level debug lost: %v", c.logLevel)
	}
	if c.login != auth.LoginInstagram || c.apiVersion != "v25.0" || c.graphURL != "https://flag.example.com" || c.userID != "222" {
		t.Errorf("flags lost: login %q, version %q, graph URL %q, user %q", c.login, c.apiVersion, c.graphURL, c.userID)
	}
	if !c.sandbox || c.sandboxImage != 0 || c.sandboxVideo != 2*time.Second {
		t.Errorf("sandbox flags: %v %v %v", c.sandbox, c.sandboxImage, c.sandboxVideo)
	}

	// Without flags the same environment applies.
	c, err = parseConfig("stdio", nil, envOf(vars))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.selection.Toolsets, []string{"comments"}) || !c.selection.ReadOnly || c.graphURL != "https://env.example.com" {
		t.Errorf("env not applied: %+v %q", c.selection, c.graphURL)
	}
}

func TestParseConfig_SecretsFromFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := parseConfig("stdio", nil, envOf(map[string]string{
		"INSTAGRAM_ACCESS_TOKEN_FILE": write("token", "  EAAfromfile\r\n\n"),
		"INSTAGRAM_APP_SECRET_FILE":   write("secret", "\tappsecret \n"),
		"IGMCP_HTTP_TOKEN_FILE":       write("http", "httptok\n"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "EAAfromfile" || c.appSecret != "appsecret" || c.httpToken != "httptok" {
		t.Fatalf("secrets not read and trimmed: token %q, app secret %q, http token %q", c.token, c.appSecret, c.httpToken)
	}
}

// The stdio tests run the real stdio server in process; mcp-go keeps one
// package-level stdio session, so they are not parallel.

func TestRun_StdioEOF_ExitsCleanly(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"sandbox", []string{"stdio", "--sandbox"}},
		{"no token", []string{"stdio"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Its own data dir: without a token the server opens the token
			// store there (never the developer's real one).
			code, out, errOut := runCapture(t, tc.args, map[string]string{"IGMCP_LOG_LEVEL": "debug", "IGMCP_DATA_DIR": t.TempDir()}, strings.NewReader(""))
			if code != 0 {
				t.Fatalf("exit %d on EOF, stderr %q", code, errOut)
			}
			if out != "" {
				t.Fatalf("stdout on EOF: %q, want nothing", out)
			}
			if strings.Contains(errOut, fakegraph.DefaultAccount.Token) {
				t.Fatalf("stderr contains the sandbox token: %q", errOut)
			}
		})
	}
}

func TestRun_StdioStdoutIsProtocolOnly(t *testing.T) {
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_container_status","arguments":{"container_id":"nope"}}}`,
	}, "\n") + "\n"
	code, out, errOut := runCapture(t, []string{"stdio", "--sandbox"}, map[string]string{"IGMCP_LOG_LEVEL": "debug"}, strings.NewReader(in))
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	ids := map[float64]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<22)
	for sc.Scan() {
		var msg map[string]any
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatalf("stdout line is not JSON: %q", sc.Text())
		}
		if msg["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC: %q", sc.Text())
		}
		if id, ok := msg["id"].(float64); ok {
			ids[id] = true
		}
	}
	// Requests read before EOF are answered (a queued tool call may be
	// dropped by mcp-go when input ends, so id 3 is not required).
	if !ids[1] || !ids[2] {
		t.Fatalf("initialize or tools/list unanswered on stdout: %q", out)
	}
	if strings.Contains(out, fakegraph.DefaultAccount.Token) || strings.Contains(errOut, fakegraph.DefaultAccount.Token) {
		t.Fatal("the sandbox token appeared in the output")
	}
}
