package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/doctor"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
)

// One PostgreSQL server for the test binary (the read-only role case).
var (
	pg      *storetest.Postgres
	pgStart error
)

func TestMain(m *testing.M) {
	storetest.RunWithPostgres(m, "doctor tests", &pg, &pgStart)
}

// requirePG skips without PostgreSQL binaries (fails under CI=true), and
// fails when they exist but the server did not start.
func requirePG(t *testing.T) {
	t.Helper()
	storetest.RequirePostgres(t, pg, pgStart)
}

// toFake sends every request to the fake, whatever host it names, so the
// configuration can name Meta's real hosts (or none) as a user's would.
type toFake struct{ base *url.URL }

func (f toFake) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = f.base.Scheme, f.base.Host, ""
	return http.DefaultTransport.RoundTrip(r)
}

// setup is a fake Graph API and a configuration pointing at it (through
// Meta's default hosts, INSTAGRAM_GRAPH_URL unset), with a fresh data
// directory.
type setup struct {
	fake *fakegraph.Server
	base string
	acct fakegraph.Account
	cfg  doctor.Config
}

// The Meta app of every setup: the fake checks appsecret_proof with it.
const (
	appID     = "1234567890"
	appSecret = "app-secret-0123456789"
)

func newSetup(t *testing.T, opts fakegraph.Options) *setup {
	t.Helper()
	opts.AppSecret = appSecret
	fake := fakegraph.New(opts)
	base, stop := fake.Start()
	t.Cleanup(stop)
	u, _ := url.Parse(base)
	acct := fakegraph.DefaultAccount
	if len(opts.Accounts) > 0 {
		acct = opts.Accounts[0]
	}
	dir := filepath.Join(t.TempDir(), "data")
	login := auth.LoginFacebook
	if acct.Login == fakegraph.LoginInstagram {
		login = auth.LoginInstagram
	}
	return &setup{fake: fake, base: base, acct: acct, cfg: doctor.Config{
		Login: login, APIVersion: "v25.0", Token: auth.Secret(acct.Token), AppID: appID, AppSecret: appSecret,
		Store: store.Config{DataDir: dir}, Key: auth.KeyConfig{DataDir: dir},
		Version: "test", HTTPClient: &http.Client{Transport: toFake{u}, Timeout: 30 * time.Second},
		Probe: doctor.Probe{PollInterval: time.Millisecond, Timeout: time.Minute},
	}}
}

// client acts as the setup's account on the fake (to prepare a state).
func (s *setup) client(t *testing.T) *graph.Client {
	t.Helper()
	c, err := graph.NewClient(graph.WithBaseURL(s.base), graph.WithAppSecret(appSecret),
		graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: s.acct.Token})))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// publish makes n posts on the fake (they count against the quota).
func (s *setup) publish(t *testing.T, n int) {
	t.Helper()
	c := s.client(t)
	for range n {
		ct, _, err := c.CreateContainer(t.Context(), s.acct.ID, &graph.ContainerRequest{ImageURL: "https://cdn.example.com/a.jpg"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Publish(t.Context(), s.acct.ID, ct.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// openStore opens the setup's store (to prepare or inspect it).
func (s *setup) openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), s.cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// outcome is one run as a user sees it: the report, its two renderings
// and the exit status.
type outcome struct {
	report *doctor.Report
	text   string
	json   map[string]any
	raw    string
	code   int
}

// run runs the checks once and renders the report both ways, as the
// command does. No secret may appear in either rendering.
func run(t *testing.T, cfg doctor.Config) outcome {
	t.Helper()
	r := doctor.Run(t.Context(), cfg)
	var text, js bytes.Buffer
	code := r.Write(&text, false)
	if codeJSON := r.Write(&js, true); code != codeJSON {
		t.Fatalf("exit status %d as text, %d as JSON", code, codeJSON)
	}
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, js.String())
	}
	for _, secret := range []string{cfg.Token.Reveal(), cfg.AppSecret.Reveal()} {
		if secret != "" && (strings.Contains(text.String(), secret) || strings.Contains(js.String(), secret)) {
			t.Fatalf("a secret is in the report:\n%s", text.String())
		}
	}
	if cfg.AppSecret != "" && cfg.Token != "" {
		proof := graph.AppSecretProof(cfg.AppSecret.Reveal(), cfg.Token.Reveal())
		if strings.Contains(text.String()+js.String(), proof) {
			t.Fatal("appsecret_proof is in the report")
		}
	}
	return outcome{report: r, text: text.String(), json: m, raw: js.String(), code: code}
}

// check finds the named check's result (the n-th one, for several
// accounts).
func (o outcome) check(t *testing.T, name string) doctor.Result {
	t.Helper()
	for _, r := range o.report.Results {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s check in\n%s", name, o.text)
	return doctor.Result{}
}

// want asserts a check's status and that its detail and fix contain the
// given phrases; a failure or a warning must have a fix.
func (o outcome) want(t *testing.T, name string, status doctor.Status, detail, fix string) doctor.Result {
	t.Helper()
	r := o.check(t, name)
	if r.Status != status || !strings.Contains(r.Detail, detail) || !strings.Contains(r.Fix, fix) {
		t.Fatalf("%s = %s %q (fix %q); want %s with %q (fix %q)\n%s", name, r.Status, r.Detail, r.Fix, status, detail, fix, o.text)
	}
	if (status == doctor.Fail || status == doctor.Warn) && r.Fix == "" {
		t.Fatalf("%s is %s without a fix", name, status)
	}
	if status == doctor.OK && r.Fix != "" {
		t.Fatalf("%s is ok with a fix %q", name, r.Fix)
	}
	return r
}

// statuses is every check's status, "name=status" in report order.
func (o outcome) statuses() string {
	var parts []string
	for _, r := range o.report.Results {
		parts = append(parts, r.Name+"="+string(r.Status))
	}
	return strings.Join(parts, " ")
}

func (o outcome) wantStatuses(t *testing.T, want string, code int) {
	t.Helper()
	if got := o.statuses(); got != want || o.code != code {
		t.Fatalf("checks: %s (exit %d)\nwant:   %s (exit %d)\n%s", got, o.code, want, code, o.text)
	}
}
