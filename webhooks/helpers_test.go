package webhooks_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
	"github.com/igmcp/igmcp/webhooks"
)

var (
	pg      *storetest.Postgres
	pgStart error
)

func TestMain(m *testing.M) {
	storetest.RunWithPostgres(m, "webhooks tests", &pg, &pgStart)
}

const (
	verifyToken = "verify-me-7Hq"
	appSecret   = "app-secret-for-tests"
)

// backend opens stores of one kind; each call to open is a new handle on
// the same database (another process, another replica).
type backend struct {
	name string
	cfg  func(t testing.TB) store.Config
}

func backends() []backend {
	return []backend{
		{"SQLite", func(t testing.TB) store.Config { return store.Config{DataDir: filepath.Join(t.TempDir(), "data")} }},
		{"PostgreSQL", func(t testing.TB) store.Config {
			requirePG(t)
			return store.Config{DatabaseURL: pg.FreshURL(t)}
		}},
	}
}

// requirePG skips without PostgreSQL binaries (fails under CI=true), and
// fails when they exist but the server did not start.
func requirePG(t testing.TB) {
	t.Helper()
	storetest.RequirePostgres(t, pg, pgStart)
}

func open(t testing.TB, cfg store.Config) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sqliteStore(t testing.TB) store.Store {
	return open(t, backends()[0].cfg(t))
}

func newReceiver(t testing.TB, st webhooks.Appender, mod ...func(*webhooks.Config)) *webhooks.Receiver {
	t.Helper()
	cfg := webhooks.Config{VerifyToken: verifyToken, AppSecrets: []string{appSecret}, Store: st}
	for _, m := range mod {
		m(&cfg)
	}
	r, err := webhooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// post sends body to h with the signature header sig ("" for none) and
// returns the status and answer.
func post(t testing.TB, h http.Handler, body []byte, sig string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, webhooks.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(webhooks.SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func postSigned(t testing.TB, h http.Handler, body string) (int, string) {
	t.Helper()
	return post(t, h, []byte(body), sign(appSecret, body))
}

// sign is the test's own HMAC, independent of the package's.
func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func allEvents(t testing.TB, s store.Events) []store.Event {
	t.Helper()
	var out []store.Event
	cursor := ""
	for {
		es, next, err := s.ListEvents(t.Context(), store.EventQuery{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// deliverHTTP POSTs a signed body to the receiver behind srv, as Meta does.
func deliverHTTP(client *http.Client, srv string, body string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, srv+webhooks.Path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhooks.SignatureHeader, sign(appSecret, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
