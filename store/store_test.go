package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
)

// One PostgreSQL server serves the whole test binary: starting a cluster
// costs about a second, a fresh schema per test almost nothing.
var (
	pg      *storetest.Postgres
	pgStart error
)

func TestMain(m *testing.M) {
	storetest.RunWithPostgres(m, "store tests", &pg, &pgStart)
}

// requirePG skips without PostgreSQL binaries (fails under CI=true), and
// fails when they exist but the server did not start.
func requirePG(t *testing.T) {
	t.Helper()
	storetest.RequirePostgres(t, pg, pgStart)
}

func openCfg(t *testing.T, cfg store.Config) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// backend describes how to get a fresh location for each backend, and how
// to look underneath the Store at its tables.
type backend struct {
	name   string
	config func(t *testing.T) store.Config
	raw    func(t *testing.T, cfg store.Config) *sql.DB
}

func backends() []backend {
	return []backend{
		{
			name:   "SQLite",
			config: func(t *testing.T) store.Config { return store.Config{DataDir: filepath.Join(t.TempDir(), "data")} },
			raw: func(t *testing.T, cfg store.Config) *sql.DB {
				db, err := sql.Open("sqlite", filepath.Join(cfg.DataDir, "igmcp.db"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			},
		},
		{
			name: "PostgreSQL",
			config: func(t *testing.T) store.Config {
				requirePG(t)
				return store.Config{DatabaseURL: pg.FreshURL(t)}
			},
			raw: func(t *testing.T, cfg store.Config) *sql.DB {
				db, err := sql.Open("pgx", cfg.DatabaseURL)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			},
		},
	}
}

func TestConformance(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "PostgreSQL" {
				requirePG(t)
			}
			storetest.Run(t, func(t *testing.T) store.Store { return openCfg(t, b.config(t)) })
		})
	}
}

// Data survives close and reopen, and reopening migrates nothing again.
func TestReopen(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			cfg := b.config(t)
			s, err := store.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2031, 1, 2, 3, 4, 5, 678901234, time.UTC)
			if _, err := s.CreateSchedule(ctx, store.Schedule{ID: "s1", AccountID: "a", Kind: store.KindStory,
				PublishAt: at, IdempotencyKey: "k"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Reserve(ctx, "a", "k", "d"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PutToken(ctx, store.TokenRecord{AccountID: "a", Username: "u", LoginFlow: "f", Ciphertext: []byte{0, 1}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			versions := func() string {
				rows, err := b.raw(t, cfg).QueryContext(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var v int
					var n string
					if err := rows.Scan(&v, &n); err != nil {
						t.Fatal(err)
					}
					out = append(out, fmt.Sprint(v, n))
				}
				return fmt.Sprint(out)
			}
			first := versions()
			if first == "[]" {
				t.Fatal("no migrations recorded")
			}

			for range 2 {
				s = openCfg(t, cfg)
				if v := versions(); v != first {
					t.Fatalf("reopen changed schema_migrations: %s → %s", first, v)
				}
				sc, err := s.GetSchedule(ctx, "s1")
				if err != nil || sc.Kind != store.KindStory || !sc.PublishAt.Equal(at.Truncate(time.Microsecond)) {
					t.Fatalf("schedule after reopen: %+v, %v", sc, err)
				}
				if p, _, err := s.Reserve(ctx, "a", "k", "d"); err != nil || p.State != store.PublishReserved {
					t.Fatalf("ledger after reopen: %+v, %v", p, err)
				}
				if tok, err := s.GetToken(ctx, "a"); err != nil || len(tok.Ciphertext) != 2 {
					t.Fatalf("token after reopen: %+v, %v", tok, err)
				}
			}
		})
	}
}

// Several processes opening one fresh database at once all succeed: the
// migration runs once, the others wait and find it done.
func TestConcurrentOpen(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.config(t)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := store.Open(t.Context(), cfg)
					if err == nil {
						_, err = s.ListTokens(t.Context())
						s.Close()
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("opener %d: %v", i, err)
				}
			}
		})
	}
}

// Separate Store handles on one database stand for separate processes:
// their claims never overlap either.
func TestClaimsAcrossHandles(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			cfg := b.config(t)
			handles := []store.Store{openCfg(t, cfg), openCfg(t, cfg), openCfg(t, cfg)}
			at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			const total = 90
			for i := range total {
				if _, err := handles[i%3].CreateSchedule(ctx, store.Schedule{ID: fmt.Sprint("s", i), AccountID: "a",
					Kind: store.KindPost, PublishAt: at, IdempotencyKey: fmt.Sprint("k", i)}); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			claimed := map[string]int{}
			var wg sync.WaitGroup
			for p, h := range handles {
				for g := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						owner := fmt.Sprintf("proc%d-%d", p, g)
						for {
							got, err := h.ClaimDue(ctx, at, owner, time.Minute, 4)
							if err != nil {
								t.Error(err)
								return
							}
							if len(got) == 0 {
								return
							}
							mu.Lock()
							for _, s := range got {
								claimed[s.ID]++
							}
							mu.Unlock()
						}
					}()
				}
			}
			wg.Wait()
			if len(claimed) != total {
				t.Fatalf("claimed %d of %d", len(claimed), total)
			}
			for id, n := range claimed {
				if n != 1 {
					t.Errorf("%s claimed %d times", id, n)
				}
			}
		})
	}
}

// A database migrated by a newer igmcp is refused rather than written with
// a schema this binary does not know.
func TestNewerSchemaRefused(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.config(t)
			s := openCfg(t, cfg)
			raw := b.raw(t, cfg)
			q := `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`
			if b.name == "PostgreSQL" {
				q = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', now())`
			}
			if _, err := raw.ExecContext(t.Context(), q); err != nil {
				t.Fatal(err)
			}
			_ = s
			_, err := store.Open(t.Context(), cfg)
			if err == nil || !errors.Is(err, store.ErrConflict) {
				t.Fatalf("Open of a newer schema: %v", err)
			}
		})
	}
}

func TestOpenConfig(t *testing.T) {
	ctx := t.Context()
	if _, err := store.Open(ctx, store.Config{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty config: %v", err)
	}
	if _, err := store.Open(ctx, store.Config{DatabaseURL: "mysql://x"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("mysql URL: %v", err)
	}
	// The database file is private, in WAL mode, and odd characters in
	// the path are no problem.
	dir := filepath.Join(t.TempDir(), "d a?b#c%20")
	s := openCfg(t, store.Config{DataDir: dir})
	if _, err := s.ListTokens(ctx); err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "file", Path: filepath.Join(dir, "igmcp.db"), RawQuery: "mode=ro"}
	raw, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	for _, name := range []string{"", "igmcp.db"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", filepath.Join(dir, name), fi.Mode().Perm())
		}
	}
}
