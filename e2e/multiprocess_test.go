// Package e2e holds tests across several OS processes sharing one
// PostgreSQL: issue 5's "several servers publish each post exactly once".
//
// The worker processes are this test binary re-executed (TestMain dispatches
// on IGMCP_E2E_WORKER): each runs a real scheduler.Scheduler with its own
// connection pool, publishing through publish.Publisher to a fake Graph API
// served by the parent test process, so the fake outlives every worker and
// counts every publish. Workers, not `igmcp` binaries, because igmcp acts as
// one account per process until the multi-account work lands, and this test
// spreads 500 schedules over 20 accounts; the binary's own multi-process run
// is cmd/igmcp's TestMultiProcess_RealBinaryPostgres.
package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/graph/fakegraph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
)

// Worker environment: the parent passes everything through it.
const (
	envWorker   = "IGMCP_E2E_WORKER"   // worker name; set only in workers
	envDB       = "IGMCP_E2E_DB"       // PostgreSQL URL
	envGraph    = "IGMCP_E2E_GRAPH"    // fake Graph base URL
	envAccounts = "IGMCP_E2E_ACCOUNTS" // id=token,id=token,…
)

var (
	pg      *storetest.Postgres
	pgStart error
)

func TestMain(m *testing.M) {
	if name := os.Getenv(envWorker); name != "" {
		os.Exit(worker(name))
	}
	storetest.RunWithPostgres(m, "e2e", &pg, &pgStart)
}

// worker runs one scheduler until SIGTERM or until its stdin closes (the
// parent died), printing "ready" once it runs.
func worker(name string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // EOF: the parent is gone
		stop()
	}()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, store.Config{DatabaseURL: os.Getenv(envDB)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	defer st.Close()
	res := resolver{}
	for _, pair := range strings.Split(os.Getenv(envAccounts), ",") {
		id, token, _ := strings.Cut(pair, "=")
		c, err := graph.NewClient(graph.WithBaseURL(os.Getenv(envGraph)), graph.WithUserAgent(name),
			graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})))
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			return 1
		}
		res[id] = &auth.Account{ID: id, Username: "u" + id, Login: auth.LoginFacebook, Client: c}
	}
	s, err := scheduler.New(scheduler.Config{
		Store: st, Accounts: res, Publisher: publish.New(st, publish.WithLogger(log)), Logger: log,
		Owner: name, Tick: 200 * time.Millisecond, Lease: 5 * time.Second, Concurrency: 8,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	fmt.Println("ready")
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	return 0
}

// resolver acts as a fixed set of accounts, as multi-account auth will.
type resolver map[string]*auth.Account

func (r resolver) Resolve(_ context.Context, name string) (*auth.Account, error) {
	if a, ok := r[name]; ok {
		return a, nil
	}
	return nil, failure.Invalid("account", "unknown account %q", name)
}

// slowAnswers delays the answer to every media_publish after Instagram did
// the work, widening the window in which a killed process leaves a publish
// sent but unrecorded: the case exactly-once is about.
type slowAnswers struct {
	fake  *fakegraph.Server
	delay time.Duration

	mu   sync.Mutex
	held map[string]int // answers being held, by User-Agent (the worker)
}

// holding reports how many publishes of worker are live but unanswered.
func (h *slowAnswers) holding(worker string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held[worker]
}

func (h *slowAnswers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/media_publish") {
		h.fake.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.fake.ServeHTTP(rec, r) // live at Instagram from here
	ua := r.Header.Get("User-Agent")
	h.mu.Lock()
	h.held[ua]++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.held[ua]--
		h.mu.Unlock()
	}()
	select {
	case <-time.After(h.delay):
	case <-r.Context().Done():
		return // the answer is lost with the process that asked
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

type workerProc struct {
	name   string
	cmd    *exec.Cmd
	stderr *strings.Builder
	mu     sync.Mutex
	done   chan error
}

func startWorker(t *testing.T, name string, env []string) *workerProc {
	t.Helper()
	w := &workerProc{name: name, stderr: &strings.Builder{}, done: make(chan error, 1)}
	w.cmd = exec.Command(os.Args[0], "-test.run=^$")
	w.cmd.Env = append(os.Environ(), append(env, envWorker+"="+name)...)
	w.cmd.Stderr = lockedWriter{&w.mu, w.stderr}
	stdin, err := w.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
	}()
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		_ = stdin.Close() // a graceful stop for those still alive
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("worker %s did not start:\n%s", name, w.logs())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("worker %s did not start", name)
	}
	return w
}

func (w *workerProc) logs() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// 500 schedules over 20 accounts, due within a minute, three worker
// processes on one PostgreSQL, one SIGKILLed midway: every schedule is
// published exactly once. Throughput and lateness are logged, not asserted.
func TestMultiProcess_500Schedules20Accounts(t *testing.T) {
	if pgStart != nil && !errors.Is(pgStart, storetest.ErrNoPostgres) {
		t.Fatalf("PostgreSQL did not start: %v", pgStart)
	}
	storetest.RequirePostgres(t, pg, pgStart)
	const (
		total    = 500
		nAccts   = 20
		spread   = 60 * time.Second
		firstDue = 3 * time.Second
	)
	accts := make([]fakegraph.Account, nAccts)
	var pairs []string
	for i := range accts {
		accts[i] = fakegraph.Account{ID: fmt.Sprintf("178414100000%05d", i+1), Username: fmt.Sprintf("mp_%02d", i+1), Token: fmt.Sprintf("EAAmp%02d", i+1)}
		pairs = append(pairs, accts[i].ID+"="+accts[i].Token)
	}
	// Realistic latency on every call, and media_publish answers arriving
	// 300 ms after the post went live.
	fake := fakegraph.New(fakegraph.Options{Accounts: accts, Latency: 20 * time.Millisecond, QuotaTotal: 1000})
	front := &slowAnswers{fake: fake, delay: 300 * time.Millisecond, held: map[string]int{}}
	ts := httptest.NewServer(front)
	t.Cleanup(ts.Close)

	dbURL := pg.FreshURL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DatabaseURL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	env := []string{envDB + "=" + dbURL, envGraph + "=" + ts.URL, envAccounts + "=" + strings.Join(pairs, ",")}
	var workers []*workerProc
	for i := range 3 {
		workers = append(workers, startWorker(t, fmt.Sprintf("worker-%d", i+1), env))
	}

	// Created straight in the store (schedule_post's checks are the tools
	// tests' business), due evenly over a minute from a few seconds on.
	start := time.Now().Add(firstDue)
	due := map[string]time.Time{}
	for i := range total {
		id := fmt.Sprintf("sch_mp%03d", i)
		at := start.Add(spread * time.Duration(i) / total)
		args := fmt.Sprintf(`{"image_url":"https://cdn.example.com/%s.jpg","caption":"%s"}`, id, id)
		sc, err := st.CreateSchedule(ctx, store.Schedule{ID: id, AccountID: accts[i%nAccts].ID, Kind: store.KindPost,
			PublishAt: at, Args: []byte(args), IdempotencyKey: "schedule:" + id})
		if err != nil {
			t.Fatal(err)
		}
		due[id] = sc.PublishAt
	}

	// Kill worker 2 once half are published, at a moment when one of its
	// publishes is live at Instagram but unanswered: the hard case.
	published := func() []fakegraph.Media {
		var all []fakegraph.Media
		for _, a := range accts {
			all = append(all, fake.Published(a.ID)...)
		}
		return all
	}
	killed := false
	deadline := start.Add(spread + 90*time.Second) // hang guard
	for {
		n := len(published())
		if !killed && n >= total/2 {
			// Prefer a moment when the worker has a publish live but
			// unanswered; under load there may be none for a while, and then
			// it is killed midway all the same.
			wait := time.Now().Add(20 * time.Second)
			for front.holding(workers[1].name) == 0 && time.Now().Before(wait) {
				time.Sleep(2 * time.Millisecond)
			}
			deadline = time.Now().Add(90 * time.Second) // takeover needs lease expiry
			inFlight := front.holding(workers[1].name)
			if err := workers[1].cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
			t.Logf("SIGKILLed %s after %d of %d publishes, with %d of its publishes live but unanswered", workers[1].name, n, total, inFlight)
		}
		final, err := st.ListSchedules(ctx, store.ScheduleFilter{States: []store.RunState{store.RunPublished, store.RunFailed, store.RunMissed, store.RunCancelled}})
		if err != nil {
			t.Fatal(err)
		}
		if len(final) == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d schedules final after the deadline; %d published at Instagram\nworker logs:\n%s\n%s\n%s",
				len(final), total, n, workers[0].logs(), workers[1].logs(), workers[2].logs())
		}
		time.Sleep(100 * time.Millisecond)
	}

	all, err := st.ListSchedules(ctx, store.ScheduleFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byCaption := map[string][]fakegraph.Media{}
	for _, m := range published() {
		byCaption[m.Caption] = append(byCaption[m.Caption], m)
	}
	// lateness: publish_at to the post going live at Instagram; recorded:
	// publish_at to the schedule reading published in the store (later for
	// a schedule whose process died after publishing: another process
	// takes it over once the lease expires and finds it done).
	var lateness, recorded []time.Duration
	recovered, dups, lost := 0, 0, 0
	first, last := time.Time{}, time.Time{}
	for _, sc := range all {
		media := byCaption[sc.ID]
		switch {
		case len(media) > 1:
			dups++
			t.Errorf("%s published %d times", sc.ID, len(media))
		case len(media) == 0 || sc.State != store.RunPublished:
			lost++
			t.Errorf("%s: state %s (%s), %d published", sc.ID, sc.State, sc.ErrorKind, len(media))
			continue
		}
		if media[0].ID != sc.MediaID {
			t.Errorf("%s: recorded media %s, Instagram has %s", sc.ID, sc.MediaID, media[0].ID)
		}
		if sc.Attempts > 0 {
			recovered++
		}
		at := media[0].Timestamp
		lateness = append(lateness, at.Sub(due[sc.ID]))
		recorded = append(recorded, sc.UpdatedAt.Sub(due[sc.ID]))
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	if len(byCaption) != total {
		t.Errorf("%d distinct posts at Instagram, want %d", len(byCaption), total)
	}
	pct := func(ds []time.Duration, p float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(time.Millisecond)
	}
	window := last.Sub(first)
	t.Logf("%d schedules, %d accounts, 3 worker processes on PostgreSQL, 1 SIGKILLed midway: %d published, %d duplicates, %d lost, %d taken over after a lease expired",
		total, nAccts, total-lost, dups, lost, recovered)
	t.Logf("throughput %.1f publishes/s over %s (publish_at spread over %s, so demand-bound); lateness of going live against publish_at: p50 %s, p99 %s, max %s; of the published state being recorded: p50 %s, p99 %s, max %s",
		float64(len(lateness))/window.Seconds(), window.Round(time.Millisecond), spread,
		pct(lateness, 0.50), pct(lateness, 0.99), pct(lateness, 1), pct(recorded, 0.50), pct(recorded, 0.99), pct(recorded, 1))
	if lost > 0 || dups > 0 {
		for _, w := range workers {
			t.Logf("%s log:\n%s", w.name, w.logs())
		}
	}
}
