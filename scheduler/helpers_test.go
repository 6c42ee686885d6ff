package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
)

// One PostgreSQL server for the test binary; each test gets a fresh schema.
var (
	pg      *storetest.Postgres
	pgStart error
)

func TestMain(m *testing.M) {
	storetest.RunWithPostgres(m, "scheduler tests", &pg, &pgStart)
}

// backend opens fresh stores of one kind. open may be called several times
// per test for the same database: each handle stands for another process.
type backend struct {
	name string
	// location returns a new empty database for t.
	location func(t *testing.T) store.Config
}

func backends() []backend {
	return []backend{
		{"SQLite", func(t *testing.T) store.Config {
			return store.Config{DataDir: filepath.Join(t.TempDir(), "data")}
		}},
		{"PostgreSQL", func(t *testing.T) store.Config {
			if pgStart != nil && !errors.Is(pgStart, storetest.ErrNoPostgres) {
				t.Fatalf("PostgreSQL did not start: %v", pgStart)
			}
			storetest.RequirePostgres(t, pg, pgStart)
			return store.Config{DatabaseURL: pg.FreshURL(t)}
		}},
	}
}

// forEachBackend runs fn as a subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, cfg store.Config)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b.location(t)) })
	}
}

func openStore(t *testing.T, cfg store.Config) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Fast polling keeps the lifecycle's shape at test speed.
var fastPolls = publish.PollPolicy{
	Image: publish.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.5},
	Video: publish.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 1.6},
}

// sendGrace is the publishers' IGMCP_SEND_GRACE: a send whose answer was
// lost is not repeated before it (default 2 min).
const sendGrace = time.Second

var fastRetry = graph.RetryPolicy{MaxTries: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: time.Second}

// accounts builds n fake accounts with tokens of their own.
func accounts(n int) []fakegraph.Account {
	out := make([]fakegraph.Account, n)
	for i := range out {
		out[i] = fakegraph.Account{ID: fmt.Sprintf("178414000000%05d", i+1), Username: fmt.Sprintf("acct_%02d", i+1), Token: fmt.Sprintf("EAAtest%02d", i+1)}
	}
	return out
}

// resolver acts as a fixed set of accounts by id, like a multi-account
// auth would; any other name is invalid_input, as auth.Single answers.
type resolver map[string]*auth.Account

func (r resolver) Resolve(_ context.Context, name string) (*auth.Account, error) {
	if a, ok := r[name]; ok {
		return a, nil
	}
	return nil, failure.Invalid("account", "unknown account %q", name)
}

// newResolver gives each account a Graph client to base.
func newResolver(t *testing.T, base string, accts ...fakegraph.Account) resolver {
	t.Helper()
	r := resolver{}
	for _, a := range accts {
		c, err := graph.NewClient(graph.WithBaseURL(base), graph.WithRetryPolicy(fastRetry),
			graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: a.Token})))
		if err != nil {
			t.Fatal(err)
		}
		r[a.ID] = &auth.Account{ID: a.ID, Username: a.Username, Login: auth.LoginFacebook, Client: c}
	}
	return r
}

// env is one fake Instagram and a database shared by any number of
// schedulers ("processes").
type env struct {
	t     *testing.T
	cfg   store.Config
	fake  *fakegraph.Server
	base  string
	accts []fakegraph.Account
	st    store.Store // the test's own handle, for setup and assertions
}

func newEnv(t *testing.T, cfg store.Config, fo fakegraph.Options) *env {
	t.Helper()
	if len(fo.Accounts) == 0 {
		fo.Accounts = accounts(2)
	}
	if fo.StatusLag == 0 && !fo.Optimistic {
		// the fake's status lag (2 s) scaled down with the send grace,
		// inside which it must stay (as 2 s is inside 2 minutes)
		fo.StatusLag = sendGrace / 10
	}
	fake := fakegraph.New(fo)
	base, stop := fake.Start()
	t.Cleanup(stop)
	return &env{t: t, cfg: cfg, fake: fake, base: base, accts: fo.Accounts, st: openStore(t, cfg)}
}

// scheduler builds a scheduler with its own store handle (its own
// connection pool, like a separate process) acting as accts (default: all).
func (e *env) scheduler(mod func(*scheduler.Config), accts ...fakegraph.Account) *scheduler.Scheduler {
	e.t.Helper()
	if len(accts) == 0 {
		accts = e.accts
	}
	st := openStore(e.t, e.cfg)
	cfg := scheduler.Config{
		Store:     st,
		Accounts:  newResolver(e.t, e.base, accts...),
		Publisher: publish.New(st, publish.WithPollPolicy(fastPolls), publish.WithSendGrace(sendGrace)),
		RetryBase: 10 * time.Millisecond,
		Logger:    testLogger(e.t),
		Tick:      20 * time.Millisecond,
		Lease:     2 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := scheduler.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// start runs s until the test ends (or stop is called) and checks that Run
// returns.
func start(t *testing.T, s *scheduler.Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// post is create_post's arguments with a caption that identifies it.
func post(caption string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"image_url": "https://cdn.example.com/" + strings.ReplaceAll(caption, " ", "-") + ".jpg", "caption": caption})
	return b
}

// createDirect stores a schedule the way Scheduler.Schedule does, for
// times Schedule refuses (the past) and accounts no resolver knows.
func (e *env) createDirect(id, acct, caption string, at time.Time) store.Schedule {
	e.t.Helper()
	sc, err := e.st.CreateSchedule(context.Background(), store.Schedule{ID: id, AccountID: acct, Kind: store.KindPost,
		PublishAt: at, Args: post(caption), IdempotencyKey: "schedule:" + id})
	if err != nil {
		e.t.Fatal(err)
	}
	return sc
}

// waitFor polls cond until it holds; the deadline is a hang guard, not a
// timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitState waits until schedule id is in a final state and returns it.
func (e *env) waitFinal(id string) store.Schedule {
	e.t.Helper()
	var sc store.Schedule
	waitFor(e.t, id+" to finish", func() bool {
		var err error
		sc, err = e.st.GetSchedule(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		return sc.State.Final()
	})
	return sc
}

// published counts, per caption, the media the fake published for every
// account: the exactly-once ledger of the tests.
func (e *env) published() map[string]int {
	out := map[string]int{}
	for _, a := range e.accts {
		for _, m := range e.fake.Published(a.ID) {
			out[m.Caption]++
		}
	}
	return out
}

// requireOnce checks that each caption was published exactly once and
// that no container got more than one media_publish request (a second
// send is a second post on real Instagram, whatever the fake answers).
func (e *env) requireOnce(captions ...string) {
	e.t.Helper()
	e.requirePosted(captions...)
	for _, c := range e.fake.Containers() {
		if n := e.fake.MediaPublishes(c.ID); n > 1 {
			e.t.Errorf("container %s (%q): media_publish sent %d times", c.ID, c.Caption, n)
		}
	}
}

// requirePosted checks that each caption was published exactly once.
func (e *env) requirePosted(captions ...string) {
	e.t.Helper()
	got := e.published()
	for _, c := range captions {
		if got[c] != 1 {
			e.t.Errorf("%q published %d times, want exactly once", c, got[c])
		}
	}
}

func errorObject(t *testing.T, sc store.Schedule) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(sc.Error, &m); err != nil {
		t.Fatalf("schedule %s error %q: %v", sc.ID, sc.Error, err)
	}
	for _, k := range []string{"kind", "message", "retryable", "action"} {
		if _, ok := m[k]; !ok {
			t.Errorf("error object lacks %s: %v", k, m)
		}
	}
	if m["kind"] != sc.ErrorKind {
		t.Errorf("error kind %v, error_kind column %q", m["kind"], sc.ErrorKind)
	}
	return m
}

// as is a requester without a scoped token (stdio), acting as acct.
func as(acct string) scheduler.Requester { return scheduler.Requester{AccountID: acct} }

// clock is a clock the test moves: the schedulers' leases and the fake's
// processing follow it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
