package auth

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output from concurrent writers.
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

func debugLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testStore is a SQLite store in a temporary data dir with a generated key.
type testStore struct {
	dir    string
	st     store.Store
	key    *Sealer
	tokens *TokenStore
}

func newTestStore(t *testing.T) *testStore {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key, err := LoadKey(KeyConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := NewTokenStore(context.Background(), st, key)
	if err != nil {
		t.Fatal(err)
	}
	return &testStore{dir: dir, st: st, key: key, tokens: tokens}
}

func (ts *testStore) put(t *testing.T, r Record) Record {
	t.Helper()
	out, err := ts.tokens.Put(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dirBytes is every file of the data dir (database, WAL, key) concatenated.
func dirBytes(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// fakeEnv is a started fake Graph API with an app secret.
type fakeEnv struct {
	fake *fakegraph.Server
	base string
	clk  *clock
}

const appSecret = "app-secret-value"

func newFake(t *testing.T, clk *clock, accts ...fakegraph.Account) *fakeEnv {
	t.Helper()
	opts := fakegraph.Options{Accounts: accts, AppSecret: appSecret}
	if clk != nil {
		opts.Now = clk.Now
	}
	f := fakegraph.New(opts)
	base, stop := f.Start()
	t.Cleanup(stop)
	return &fakeEnv{fake: f, base: base, clk: clk}
}

func (f *fakeEnv) oauth(clk *clock) *OAuth {
	cfg := OAuthConfig{AppID: "4242", AppSecret: appSecret, Endpoints: Endpoints{AuthorizeURL: f.base, TokenURL: f.base, GraphURL: f.base}}
	if clk != nil {
		cfg.Now = clk.Now
	}
	return NewOAuth(cfg)
}

var fastRetry = graph.RetryPolicy{MaxTries: 2, Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: time.Second}

func (f *fakeEnv) graphOptions(string, Login) []graph.Option {
	return []graph.Option{graph.WithBaseURL(f.base), graph.WithAppSecret(appSecret), graph.WithRetryPolicy(fastRetry)}
}

// noRedirect is an HTTP client that stops at the dialog's redirect.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// assertNoSecrets fails when s holds any of the secrets.
func assertNoSecrets(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Fatalf("%s contains a secret (%.6s…):\n%s", what, sec, s)
		}
	}
}

// tokensSeen is every token the fake received, with the proofs they imply.
func tokensSeen(f *fakegraph.Server) []string {
	var out []string
	for _, c := range f.Calls() {
		if c.Token != "" {
			out = append(out, c.Token, graph.AppSecretProof(appSecret, c.Token))
		}
	}
	return out
}
