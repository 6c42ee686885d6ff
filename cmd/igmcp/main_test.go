package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
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

// runBinary runs the built igmcp with env and args, stdin empty (not a
// terminal), and returns its exit code and output.
func runBinary(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		t.Fatalf("igmcp %v: %v\nstderr:\n%s", args, err, errOut.String())
	}
	return code, out.String(), errOut.String()
}

// requireOneLineExit: exit code want, nothing on stdout, and exactly one
// line on stderr ("igmcp: …" containing every substring).
func requireOneLineExit(t *testing.T, code int, stdout, stderr string, want int, substr ...string) {
	t.Helper()
	if code != want {
		t.Fatalf("exit %d, want %d (stderr %q)", code, want, stderr)
	}
	if stdout != "" {
		t.Fatalf("stdout %q, want nothing", stdout)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "igmcp: ") {
		t.Fatalf("want exactly one line \"igmcp: …\" on stderr, got %q", stderr)
	}
	for _, s := range substr {
		if !strings.Contains(stderr, s) {
			t.Fatalf("stderr %q lacks %q", stderr, s)
		}
	}
}

// igmcp version prints the commit the Go tool stamped into the binary: the
// oracle is `go version -m`, which reads the build information itself.
func TestVersion_RealBinary(t *testing.T) {
	t.Parallel()
	mod, err := exec.Command(goTool(), "version", "-m", binPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	wantCommit := "commit unknown (built without VCS information"
	if m := regexp.MustCompile(`(?m)^\s+build\s+vcs\.revision=(\S+)$`).FindSubmatch(mod); m != nil {
		wantCommit = "commit " + string(m[1])
	}
	// A checkout built from a release tag reports the tag; otherwise (no
	// tag: go build records a pseudo-version) the dev version.
	wantVersion := version
	if m := regexp.MustCompile(`(?m)^\s+mod\s+\S+\s+(v\d+\.\d+\.\d+)\s`).FindSubmatch(mod); m != nil {
		wantVersion = string(m[1])
	}
	for _, arg := range []string{"version", "--version", "-version"} {
		code, out, errOut := runBinary(t, childEnv(), arg)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", arg, code, errOut)
		}
		if strings.Count(out, "\n") != 1 {
			t.Fatalf("%s: want one line, got %q", arg, out)
		}
		for _, want := range []string{"igmcp " + wantVersion + ",", wantCommit, "Graph API " + graph.DefaultAPIVersion} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q lacks %q (go version -m says:\n%s)", arg, out, want, mod)
			}
		}
	}
}

func TestVersionLine(t *testing.T) {
	t.Parallel()
	stamped := func(mainVersion string, kv ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/igmcp/igmcp", Version: mainVersion}}
		for i := 0; i < len(kv); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return bi
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "igmcp 0.1.0-dev, commit unknown (built without VCS information: -buildvcs=false, or not from a git checkout), Graph API " + graph.DefaultAPIVersion},
		{"-buildvcs=false", stamped("(devel)", "-buildvcs", "false"), "igmcp 0.1.0-dev, commit unknown (built without VCS information"},
		{"git checkout", stamped("(devel)", "vcs", "git", "vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.modified", "false"),
			"igmcp 0.1.0-dev, commit 0123456789abcdef0123456789abcdef01234567, Graph API"},
		{"uncommitted changes", stamped("(devel)", "vcs.revision", "89abcdef", "vcs.modified", "true"),
			"igmcp 0.1.0-dev, commit 89abcdef (with uncommitted changes), Graph API"},
		{"go install @version", stamped("v1.4.2", "vcs.revision", "89abcdef"), "igmcp v1.4.2, commit 89abcdef, Graph API"},
		{"untagged checkout (pseudo-version)", stamped("v0.0.0-20261203150211-9f91803c5e4f", "vcs.revision", "9f91803c5e4f67d2"),
			"igmcp 0.1.0-dev, commit 9f91803c5e4f67d2, Graph API"},
		{"untagged, modified", stamped("v0.0.0-20261203150211-9f91803c5e4f+dirty", "vcs.revision", "9f91803c", "vcs.modified", "true"),
			"igmcp 0.1.0-dev, commit 9f91803c (with uncommitted changes), Graph API"},
		{"toolchain", stamped("(devel)"), ", go1.99.1 "},
	} {
		if got := versionLine(tc.bi); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q lacks %q", tc.name, got, tc.want)
		}
	}
}

func TestRun_Help(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, errOut := runBinary(t, childEnv(), args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "usage: igmcp <command>") || !strings.Contains(out, "exit status: 0") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// igmcp stdio --help and igmcp http --help list the command's flags on
// stdout and exit 0 (they used to print "flag: help requested", exit 2).
func TestCommandHelp_RealBinary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"stdio", "--help"},
			[]string{"usage: igmcp stdio [flags]", "--sandbox ", "--toolsets VALUE", "IGMCP_TOOLSETS", "default publish,comments,insights,schedule",
				"--read-only ", "INSTAGRAM_ACCESS_TOKEN[_FILE]", "exit status"},
			[]string{"--listen", "IGMCP_HTTP_TOKEN", "help requested"}},
		{[]string{"http", "-h"},
			[]string{"usage: igmcp http [flags]", "--listen VALUE", "default 127.0.0.1:8080", "IGMCP_HTTP_TOKEN[_FILE]", "IGMCP_ALLOWED_ORIGINS", "--sandbox "},
			[]string{"help requested"}},
		{[]string{"http", "--sandbox", "-help"}, []string{"usage: igmcp http [flags]"}, nil},
	} {
		code, out, errOut := runBinary(t, childEnv("IGMCP_READ_ONLY=bogus"), tc.args...) // help wins over bad settings
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: help lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(out, w) {
				t.Errorf("%v: help has %q:\n%s", tc.args, w, out)
			}
		}
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

// A configuration error is one line on stderr and exit 2, and nothing else:
// no log line before it (the real binary, with debug logging on).
func TestRun_BadConfig_OneLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing-token")
	unreadable := dir // a directory: os.ReadFile fails even as root
	for _, tc := range []struct {
		name string
		vars []string
		args []string
		want string // substring of the one line
	}{
		{"login", []string{"INSTAGRAM_LOGIN=x"}, nil, "INSTAGRAM_LOGIN"},
		{"login flag", nil, []string{"--login", "myspace"}, "INSTAGRAM_LOGIN"},
		{"api version", []string{"INSTAGRAM_API_VERSION=25"}, nil, "INSTAGRAM_API_VERSION"},
		{"api version flag", nil, []string{"--api-version", "v25"}, "--api-version"},
		{"api version leading zero", []string{"INSTAGRAM_API_VERSION=v025.0"}, nil, "INSTAGRAM_API_VERSION"},
		{"graph url without scheme", []string{"INSTAGRAM_GRAPH_URL=graph.facebook.com"}, nil, "INSTAGRAM_GRAPH_URL"},
		{"toolsets", []string{"IGMCP_TOOLSETS=nope"}, nil, "nope"},
		{"toolsets flag", nil, []string{"--toolsets", "publish,nope"}, "nope"},
		{"toolsets naming none", []string{"IGMCP_TOOLSETS= , "}, nil, "IGMCP_TOOLSETS"},
		{"read-only bogus", []string{"IGMCP_READ_ONLY=bogus"}, nil, `IGMCP_READ_ONLY (--read-only): must be on or off`},
		{"read-only flag bogus", nil, []string{"--read-only=maybe"}, `"maybe"`},
		{"confirm bogus", []string{"IGMCP_CONFIRM=sometimes"}, nil, "IGMCP_CONFIRM"},
		{"scheduler bogus", []string{"IGMCP_SCHEDULER=paused"}, nil, "IGMCP_SCHEDULER"},
		{"preflight bogus", []string{"IGMCP_PREFLIGHT=maybe"}, nil, "IGMCP_PREFLIGHT"},
		{"lease", []string{"IGMCP_SCHEDULER_LEASE=0s"}, nil, "IGMCP_SCHEDULER_LEASE (--scheduler-lease): must be a positive duration"},
		{"concurrency", nil, []string{"--scheduler-concurrency", "0"}, "--scheduler-concurrency"},
		{"media root", []string{"IGMCP_MEDIA_ROOT=relative/dir"}, nil, "IGMCP_MEDIA_ROOT"},
		{"media root missing", []string{"IGMCP_MEDIA_ROOT=" + missing}, nil, "IGMCP_MEDIA_ROOT"},
		{"webhooks without the app secret", []string{"INSTAGRAM_WEBHOOK_VERIFY_TOKEN=EAAx"}, nil, "INSTAGRAM_APP_SECRET"},
		{"verify token and file", []string{"INSTAGRAM_WEBHOOK_VERIFY_TOKEN=EAAx", "INSTAGRAM_WEBHOOK_VERIFY_TOKEN_FILE=" + missing}, nil, "not both"},
		{"token and token file", []string{"INSTAGRAM_ACCESS_TOKEN=EAAx", "INSTAGRAM_ACCESS_TOKEN_FILE=" + missing}, nil, "not both"},
		{"app secret and file", []string{"INSTAGRAM_APP_SECRET=EAAx", "INSTAGRAM_APP_SECRET_FILE=" + missing}, nil, "not both"},
		{"secret key and file", []string{"IGMCP_SECRET_KEY=EAAx", "IGMCP_SECRET_KEY_FILE=" + missing}, nil, "not both"},
		{"missing token file", []string{"INSTAGRAM_ACCESS_TOKEN_FILE=" + missing}, nil, "INSTAGRAM_ACCESS_TOKEN_FILE"},
		{"unreadable token file", []string{"INSTAGRAM_ACCESS_TOKEN_FILE=" + unreadable}, nil, "INSTAGRAM_ACCESS_TOKEN_FILE"},
		{"unreadable app secret file", []string{"INSTAGRAM_APP_SECRET_FILE=" + unreadable}, nil, "INSTAGRAM_APP_SECRET_FILE"},
		{"staging without credentials", []string{"IGMCP_STAGING_BUCKET=b", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="}, nil, "staging"},
		{"log level", []string{"IGMCP_LOG_LEVEL=loud"}, nil, "IGMCP_LOG_LEVEL"},
		{"log level flag", nil, []string{"--log-level", "trace"}, "trace"},
		{"unknown flag", nil, []string{"--bogus"}, "bogus"},
		{"http-only flag on stdio", nil, []string{"--listen", "127.0.0.1:0"}, "listen"},
		{"bad duration", nil, []string{"--sandbox", "--sandbox-video-delay", "soon"}, "--sandbox-video-delay"},
		{"stray argument", nil, []string{"extra"}, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := append([]string{"IGMCP_LOG_LEVEL=debug", "IGMCP_DATA_DIR=" + t.TempDir()}, tc.vars...)
			code, out, errOut := runBinary(t, childEnv(vars...), append([]string{"stdio"}, tc.args...)...)
			requireOneLineExit(t, code, out, errOut, 2, tc.want)
			if strings.Contains(errOut, "EAAx") {
				t.Fatalf("stderr leaks a secret: %q", errOut)
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
	if c.login != auth.LoginFacebook || c.serverGraphURL() != graph.FacebookGraphURL || c.apiVersion != graph.DefaultAPIVersion {
		t.Fatalf("login %q, graph URL %q, version %q", c.login, c.serverGraphURL(), c.apiVersion)
	}
	// docs/reference.md §2: the default toolsets (context is always on).
	if want := []string{"publish", "comments", "insights", "schedule"}; !slices.Equal(c.selection.Toolsets, want) || c.selection.ReadOnly {
		t.Fatalf("selection: %+v, want toolsets %v", c.selection, want)
	}
	if !c.scheduler || !c.preflight || c.confirm {
		t.Fatalf("scheduler %v, preflight %v, confirm %v: want on, on, off", c.scheduler, c.preflight, c.confirm)
	}
	if c.logLevel != slog.LevelInfo {
		t.Fatalf("log level %v", c.logLevel)
	}
	if c.sandboxImage != time.Second || c.sandboxVideo != 15*time.Second {
		t.Fatalf("sandbox delays %v/%v, want 1s/15s (README)", c.sandboxImage, c.sandboxVideo)
	}
}

// Webhooks configured add the events toolset to the default
// (docs/reference.md §2); a list given stays as given.
func TestParseConfig_ToolsetsFollowWebhooks(t *testing.T) {
	t.Parallel()
	hooks := map[string]string{"INSTAGRAM_WEBHOOK_VERIFY_TOKEN": "v", "INSTAGRAM_APP_SECRET": "s"}
	for _, tc := range []struct {
		cmd  string
		vars map[string]string
		want []string
	}{
		{"stdio", nil, []string{"publish", "comments", "insights", "schedule"}},
		{"http", hooks, []string{"publish", "comments", "insights", "schedule", "events"}},
		{"doctor", hooks, []string{"publish", "comments", "insights", "schedule", "events"}},
		{"stdio", map[string]string{"INSTAGRAM_WEBHOOK_VERIFY_TOKEN": "v", "INSTAGRAM_APP_SECRET": "s", "IGMCP_TOOLSETS": "comments"}, []string{"comments"}},
	} {
		c, err := parseConfig(tc.cmd, nil, envOf(tc.vars))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.selection.Toolsets, tc.want) {
			t.Errorf("%s %v: toolsets %v, want %v", tc.cmd, tc.vars, c.selection.Toolsets, tc.want)
		}
	}
}

// The session settings become httpserver's limits; unset ones stay zero
// (httpserver's defaults).
func TestParseConfig_Sessions(t *testing.T) {
	t.Parallel()
	c, err := parseConfig("http", nil, envOf(map[string]string{"IGMCP_HTTP_SESSION_IDLE_TTL": "90s", "IGMCP_HTTP_MAX_SESSIONS": "300"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.httpConfig(nil).Sessions; got.IdleTTL != 90*time.Second || got.Total != 300 || got.PerToken != 0 {
		t.Fatalf("sessions %+v", got)
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
	if c.login != auth.LoginInstagram || c.serverGraphURL() != graph.InstagramGraphURL || c.apiVersion != "v24.0" {
		t.Fatalf("login %q, graph URL %q, version %q", c.login, c.serverGraphURL(), c.apiVersion)
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
	for v, want := range map[string]bool{"1": true, "true": true, "YES": true, "on": true, " 1 ": true, "0": false, "false": false, "": false, "no": false, "Off": false} {
		c, err := parseConfig("stdio", nil, envOf(map[string]string{"IGMCP_READ_ONLY": v}))
		if err != nil {
			t.Fatal(err)
		}
		if c.selection.ReadOnly != want {
			t.Errorf("IGMCP_READ_ONLY=%q: read-only %v, want %v", v, c.selection.ReadOnly, want)
		}
	}
	// Anything else is an error, not silently off.
	for _, v := range []string{"bogus", "2", "y", "enabled"} {
		if _, err := parseConfig("stdio", nil, envOf(map[string]string{"IGMCP_READ_ONLY": v})); err == nil {
			t.Errorf("IGMCP_READ_ONLY=%q accepted", v)
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
	if c.login != auth.LoginInstagram || c.apiVersion != "v25.0" || c.serverGraphURL() != "https://flag.example.com" || c.userID != "222" {
		t.Errorf("flags lost: login %q, version %q, graph URL %q, user %q", c.login, c.apiVersion, c.serverGraphURL(), c.userID)
	}
	if c.auth.endpoints.GraphURL != "https://flag.example.com" || c.auth.login != auth.LoginInstagram || c.auth.defaultAccount != "222" {
		t.Errorf("the token store does not follow the flags: %+v", c.auth)
	}
	if !c.sandbox || c.sandboxImage != 0 || c.sandboxVideo != 2*time.Second {
		t.Errorf("sandbox flags: %v %v %v", c.sandbox, c.sandboxImage, c.sandboxVideo)
	}

	// Without flags the same environment applies.
	c, err = parseConfig("stdio", nil, envOf(vars))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.selection.Toolsets, []string{"comments"}) || !c.selection.ReadOnly || c.serverGraphURL() != "https://env.example.com" {
		t.Errorf("env not applied: %+v %q", c.selection, c.serverGraphURL())
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
	c, err := parseConfig("http", nil, envOf(map[string]string{
		"INSTAGRAM_ACCESS_TOKEN_FILE": write("token", "  EAAfromfile\r\n\n"),
		"INSTAGRAM_APP_SECRET_FILE":   write("secret", "\tappsecret \n"),
		"IGMCP_HTTP_TOKEN_FILE":       write("http", "httptok\n"),
		"IGMCP_DATABASE_URL_FILE":     write("db", "postgres://u:pw@db/igmcp\n"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "EAAfromfile" || c.appSecret != "appsecret" || c.httpToken != "httptok" || c.databaseURL != "postgres://u:pw@db/igmcp" {
		t.Fatalf("secrets not read and trimmed: token %q, app secret %q, http token %q, database URL %q", c.token, c.appSecret, c.httpToken, c.databaseURL)
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
