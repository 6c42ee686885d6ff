package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

const testAppSecret = "cmd-test-app-secret"

var (
	authFB1 = fakegraph.Account{ID: "17841400000000031", Username: "shop_main", Token: "EAAshopowner"}
	authFB2 = fakegraph.Account{ID: "17841400000000032", Username: "shop_outlet", Token: "EAAshopowner"}
	authIG  = fakegraph.Account{ID: "17841400000000041", Username: "solo_creator", Token: "IGAAsolo", Login: fakegraph.LoginInstagram}
)

type authFixture struct {
	fake *fakegraph.Server
	base string
	dir  string
	vars map[string]string
}

func newAuthFixture(t *testing.T, opts fakegraph.Options) *authFixture {
	t.Helper()
	if len(opts.Accounts) == 0 {
		opts.Accounts = []fakegraph.Account{authFB1, authFB2, authIG}
	}
	opts.AppSecret = testAppSecret
	fake := fakegraph.New(opts)
	base, stop := fake.Start()
	t.Cleanup(stop)
	dir := filepath.Join(t.TempDir(), "data")
	return &authFixture{fake: fake, base: base, dir: dir, vars: map[string]string{
		"IGMCP_DATA_DIR": dir, "INSTAGRAM_APP_ID": "5150", "INSTAGRAM_APP_SECRET": testAppSecret,
		"INSTAGRAM_AUTHORIZE_URL": base, "INSTAGRAM_TOKEN_URL": base, "INSTAGRAM_GRAPH_URL": base,
		"IGMCP_LOG_LEVEL": "debug",
	}}
}

// authRun runs `igmcp auth args…` in-process to completion.
func (f *authFixture) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := runAuth(args, envOf(f.vars), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// records opens the token store the way the server does.
func (f *authFixture) records(t *testing.T) []auth.Record {
	t.Helper()
	s, err := parseAuthSettings(envOf(f.vars))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{DataDir: f.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tokens, err := openTokenStore(context.Background(), st, s)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := tokens.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// secrets is everything that must never be printed or stored in clear:
// every token the fake saw or issued, their proofs, the app secret, the
// authorization codes.
func (f *authFixture) secrets(extra ...string) []string {
	out := append([]string{testAppSecret}, extra...)
	for _, c := range f.fake.Calls() {
		if c.Token != "" {
			out = append(out, c.Token, graph.AppSecretProof(testAppSecret, c.Token))
		}
	}
	return out
}

func assertClean(t *testing.T, what, s string, secrets []string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Fatalf("%s contains a secret (%.6s…):\n%s", what, sec, s)
		}
	}
}

var urlLine = regexp.MustCompile(`(?m)^  (http\S+)$`)

// startLogin runs `igmcp auth login --no-browser …` in the background and
// returns the dialog URL it printed.
func (f *authFixture) startLogin(t *testing.T, stdin io.Reader, args ...string) (loginURL string, out, errOut *syncBuffer, done <-chan int) {
	t.Helper()
	out, errOut = &syncBuffer{}, &syncBuffer{}
	ch := make(chan int, 1)
	go func() {
		ch <- runAuth(append([]string{"login", "--no-browser", "--timeout", "20s"}, args...), envOf(f.vars), stdin, out, errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := urlLine.FindStringSubmatch(out.String()); m != nil {
			return m[1], out, errOut, ch
		}
		select {
		case code := <-ch:
			t.Fatalf("login exited %d before printing a URL:\n%s\n%s", code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitExit(t *testing.T, done <-chan int, out, errOut *syncBuffer) {
	t.Helper()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("login did not finish")
	}
}

// The whole login as a user does it, headless: the command prints the URL,
// a browser (here an http.Client) follows the dialog's redirect to the
// loopback listener, and the accounts land in the store, encrypted.
func TestAuthLogin_NoBrowser_FacebookEndToEnd(t *testing.T) {
	f := newAuthFixture(t, fakegraph.Options{})
	loginURL, out, errOut, done := f.startLogin(t, strings.NewReader(""), "--login", "facebook")
	u, err := url.Parse(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	if redirect.Hostname() != "127.0.0.1" || redirect.Port() == "" || redirect.Path != "/callback" || q.Get("code_challenge") == "" {
		t.Fatalf("dialog URL %s", loginURL)
	}
	// a forged redirect is refused and the login keeps waiting
	resp, err := http.Get(redirect.String() + "?code=AQforged&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged state: HTTP %d", resp.StatusCode)
	}
	// the browser: the dialog redirects to the loopback listener
	resp, err = http.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Logged in") {
		t.Fatalf("callback page: HTTP %d %s", resp.StatusCode, page)
	}
	waitExit(t, done, out, errOut)

	recs := f.records(t)
	if len(recs) != 2 || recs[0].AccountID != authFB1.ID || recs[1].AccountID != authFB2.ID {
		t.Fatalf("stored %+v", recs)
	}
	for _, r := range recs {
		if r.Login != auth.LoginFacebook || r.Expiry.Before(time.Now().Add(59*24*time.Hour)) || len(r.Scopes) != 6 ||
			r.Token == auth.Secret(authFB1.Token) || !strings.HasPrefix(r.Token.Reveal(), "EAA") {
			t.Fatalf("record %+v", r)
		}
	}
	if !strings.Contains(out.String(), "Logged in @shop_main (17841400000000031) with Facebook Login") {
		t.Fatalf("stdout:\n%s", out.String())
	}
	secrets := f.secrets(recs[0].Token.Reveal())
	assertClean(t, "stdout", out.String(), secrets)
	assertClean(t, "stderr (debug log)", errOut.String(), secrets)
	// the store's files hold no token in clear
	disk := dirFiles(t, f.dir)
	for _, r := range recs {
		if bytes.Contains(disk, []byte(r.Token.Reveal())) {
			t.Fatal("a token is stored in clear")
		}
	}
	if fi, err := os.Stat(filepath.Join(f.dir, auth.KeyFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated key file: %v %v", fi, err)
	}

	// status shows them, never the token
	code, stdout, stderr := f.run(t, "", "status")
	if code != 0 || !strings.Contains(stdout, "@shop_outlet (17841400000000032)") || !strings.Contains(stdout, "instagram_content_publish") ||
		!strings.Contains(stdout, "expires ") {
		t.Fatalf("status: %d\n%s\n%s", code, stdout, stderr)
	}
	assertClean(t, "status", stdout+stderr, secrets)
}

func dirFiles(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	return all
}

// Headless with the browser elsewhere: the user pastes the address the
// browser ended on.
func TestAuthLogin_Instagram_PastedRedirect(t *testing.T) {
	f := newAuthFixture(t, fakegraph.Options{})
	pr, pw := io.Pipe()
	defer pw.Close()
	loginURL, out, errOut, done := f.startLogin(t, pr, "--login", "instagram")
	u, _ := url.Parse(loginURL)
	if u.Path != "/oauth/authorize" || u.Query().Has("code_challenge") {
		t.Fatalf("dialog URL %s", loginURL)
	}
	nr := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := nr.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if _, err := io.WriteString(pw, "not an address\n"+loc+"\n"); err != nil {
		t.Fatal(err)
	}
	waitExit(t, done, out, errOut)
	recs := f.records(t)
	if len(recs) != 1 || recs[0].AccountID != authIG.ID || recs[0].Login != auth.LoginInstagram || len(recs[0].Scopes) != 4 {
		t.Fatalf("%+v", recs)
	}
	assertClean(t, "output", out.String()+errOut.String(), f.secrets(recs[0].Token.Reveal()))
}

func TestAuthLogin_Refusals(t *testing.T) {
	f := newAuthFixture(t, fakegraph.Options{})
	noApp := map[string]string{}
	for k, v := range f.vars {
		noApp[k] = v
	}
	delete(noApp, "INSTAGRAM_APP_SECRET")
	var out, errOut syncBuffer
	if code := runAuth([]string{"login", "--no-browser"}, envOf(noApp), strings.NewReader(""), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "INSTAGRAM_APP_SECRET") {
		t.Fatalf("%d %s", code, errOut.String())
	}
	if code, _, stderr := f.run(t, "", "login", "--login", "instagram", "--scopes", "business_basic"); code != 2 || !strings.Contains(stderr, "retired") {
		t.Fatalf("%d %s", code, stderr)
	}
	// the user refuses in the dialog
	f.fake.SetConsent(fakegraph.Consent{Deny: true})
	loginURL, out2, errOut2, done := f.startLogin(t, strings.NewReader(""), "--login", "instagram")
	if resp, err := http.Get(loginURL); err == nil {
		resp.Body.Close()
	}
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(errOut2.String(), "cancelled") {
			t.Fatalf("%d %s %s", code, out2.String(), errOut2.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("login did not end")
	}
	if recs := f.records(t); len(recs) != 0 {
		t.Fatalf("%+v", recs)
	}
}

func TestAuthAddStatusRefreshRemove(t *testing.T) {
	fb1, fb2 := authFB1, authFB2
	fb1.TokenExpiry = time.Now().Add(50 * 24 * time.Hour)
	f := newAuthFixture(t, fakegraph.Options{Accounts: []fakegraph.Account{fb1, fb2, authIG}})
	// bring your own token, on standard input
	code, out, errOut := f.run(t, authIG.Token+"\n", "add", "--login", "instagram")
	if code != 0 || !strings.Contains(out, "Added @solo_creator") {
		t.Fatalf("%d\n%s\n%s", code, out, errOut)
	}
	// and from the environment, keeping one of the two accounts
	f.vars["INSTAGRAM_ACCESS_TOKEN"] = authFB1.Token
	code, out, errOut = f.run(t, "", "add", "--login", "facebook", "--account", "shop_outlet")
	delete(f.vars, "INSTAGRAM_ACCESS_TOKEN")
	if code != 0 || !strings.Contains(out, "Added @shop_outlet") || strings.Contains(out, "shop_main") {
		t.Fatalf("%d\n%s\n%s", code, out, errOut)
	}
	recs := f.records(t)
	if len(recs) != 2 {
		t.Fatalf("%+v", recs)
	}
	code, out, _ = f.run(t, "", "refresh")
	// the Instagram token was renewed at `add` a moment ago (too new); the
	// Facebook one is re-exchanged
	if code != 0 || !strings.Contains(out, "@shop_outlet (17841400000000032): renewed") || !strings.Contains(out, "@solo_creator (17841400000000041): not renewed now") {
		t.Fatalf("%d\n%s", code, out)
	}
	code, out, errOut = f.run(t, "", "remove", "--account", "@solo_creator")
	if code != 0 || len(f.records(t)) != 1 {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	all := strings.Join([]string{out, errOut}, "")
	assertClean(t, "output", all, f.secrets())
}

func TestAuth_KeyProblems(t *testing.T) {
	f := newAuthFixture(t, fakegraph.Options{})
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))), 0o644); err != nil {
		t.Fatal(err)
	}
	f.vars["IGMCP_SECRET_KEY_FILE"] = keyFile
	code, _, stderr := f.run(t, "", "status")
	if code == 0 || !strings.Contains(stderr, "chmod 600") {
		t.Fatalf("a world-readable key file must be refused: %d %s", code, stderr)
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := f.run(t, authIG.Token+"\n", "add", "--login", "instagram"); code != 0 {
		t.Fatal(stderr)
	}
	// another key: a clear error, not garbage
	delete(f.vars, "IGMCP_SECRET_KEY_FILE")
	f.vars["IGMCP_SECRET_KEY"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	code, _, stderr = f.run(t, "", "status")
	if code == 0 || !strings.Contains(stderr, "encrypted with another key") || !strings.Contains(stderr, "IGMCP_SECRET_KEY_FILE") {
		t.Fatalf("%d %s", code, stderr)
	}
	if code, _, stderr := f.run(t, "", "reset"); code != 2 || !strings.Contains(stderr, "--yes") {
		t.Fatalf("%d %s", code, stderr)
	}
	if code, out, stderr := f.run(t, "", "reset", "--yes"); code != 0 || !strings.Contains(out, "IGMCP_SECRET_KEY") {
		t.Fatalf("%d %s %s", code, out, stderr)
	}
	if code, out, _ := f.run(t, "", "status"); code != 0 || !strings.Contains(out, "No stored accounts") {
		t.Fatalf("%d %s", code, out)
	}
}

// testClock is a settable clock shared by the fake and the registry.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A server whose token comes up for renewal mid-session: the background
// refresher renews it, the next tool call succeeds with the new token, and
// Instagram never sees the old token again. Nothing secret reaches a
// result or a debug log line.
func TestServer_TokenRenewedMidSession(t *testing.T) {
	day := 24 * time.Hour
	clk := &testClock{t: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
	ig := authIG
	ig.TokenExpiry = clk.Now().Add(35 * day)
	f := newAuthFixture(t, fakegraph.Options{Accounts: []fakegraph.Account{ig}, Now: clk.Now})
	s, err := parseAuthSettings(envOf(f.vars))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: f.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// the account as `igmcp auth login` left it 25 days ago
	tokens, err := openTokenStore(ctx, st, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Put(ctx, auth.Record{AccountID: ig.ID, Username: ig.Username, Login: auth.LoginInstagram, Token: auth.Secret(ig.Token),
		IssuedAt: clk.Now().Add(-25 * day), Expiry: ig.TokenExpiry, Scopes: auth.DefaultScopes(auth.LoginInstagram)}); err != nil {
		t.Fatal(err)
	}

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	governor := ratelimit.New(ratelimit.Config{})
	graphOptions := func(id string, l auth.Login) []graph.Option {
		return []graph.Option{graph.WithBaseURL(s.graphURL(l)), graph.WithAPIVersion(s.apiVersion), graph.WithAppSecret(s.appSecret),
			graph.WithLimiter(governor.For(id)), graph.WithUserAgent("igmcp/test")}
	}
	reg, stopRenewing, err := openAccounts(ctx, st, s, logger, nil, graphOptions, func(c *auth.RegistryConfig) {
		c.Now = clk.Now
		c.Policy.Poll = 5 * time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stopRenewing() // before the store closes
	deps := &tools.Deps{Accounts: reg, Publisher: publish.New(st, publish.WithLogger(logger)), Journal: st, Logger: logger}
	srv := tools.NewServer(deps, "test", tools.Selection{})
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := initialize(ctx, c, "t"); err != nil {
		t.Fatal(err)
	}
	var results []string
	call := func() {
		t.Helper()
		req := mcp.CallToolRequest{}
		req.Params.Name = "get_insights"
		req.Params.Arguments = map[string]any{"metrics": []string{"reach"}, "period": "day", "account": "solo_creator"}
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := res.MarshalJSON()
		results = append(results, string(raw))
		if res.IsError {
			t.Fatalf("tool failed: %s", raw)
		}
	}
	call() // with the old token: 10 days before its renewal is due
	if n := f.fake.CountCalls("", "/refresh_access_token"); n != 0 {
		t.Fatalf("renewed too early (%d)", n)
	}

	clk.Add(12 * day) // 23 days left: due (renewal at 30 days before expiry)
	reg.Kick()
	deadline := time.Now().Add(10 * time.Second)
	for f.fake.CountCalls("GET", "/refresh_access_token") == 0 || len(reg.Records()) == 0 || reg.Records()[0].Token == auth.Secret(ig.Token) {
		if time.Now().After(deadline) {
			t.Fatalf("the refresher did not renew the token; log:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	calls := f.fake.Calls()
	renewal := len(calls) - 1
	for calls[renewal].Path != "/refresh_access_token" {
		renewal--
	}
	clk.Add(30 * day) // past the old token's expiry: only the new one works
	call()
	call()
	newTok := reg.Records()[0].Token.Reveal()
	after := f.fake.Calls()[renewal+1:]
	if len(after) < 2 {
		t.Fatalf("the tool calls did not reach the fake: %d", len(after))
	}
	for _, c := range after {
		if c.Token == ig.Token {
			t.Fatalf("the old token was sent after the renewal: %s %s", c.Method, c.Path)
		}
		if c.Token != newTok {
			t.Fatalf("unexpected token on %s %s", c.Method, c.Path)
		}
		if c.TokenSource != "bearer" {
			t.Fatalf("token sent in %s", c.TokenSource)
		}
	}
	// stored for the next start, encrypted
	recs := f.records(t)
	if recs[0].Token.Reveal() != newTok || !recs[0].Expiry.After(clk.Now()) {
		t.Fatalf("%+v", recs[0])
	}
	secrets := f.secrets(newTok)
	assertClean(t, "tool results", strings.Join(results, "\n"), secrets)
	assertClean(t, "debug log", logs.String(), secrets)
	if !strings.Contains(logs.String(), "token renewed") {
		t.Fatalf("log:\n%s", logs.String())
	}
	if bytes.Contains(dirFiles(t, f.dir), []byte(newTok)) {
		t.Fatal("the renewed token is stored in clear")
	}
}
