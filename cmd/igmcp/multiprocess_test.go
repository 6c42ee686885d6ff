package main

// Several igmcp processes sharing one PostgreSQL (issue 5): posts scheduled
// through one of them are published exactly once between them, also when
// one is SIGKILLed midway. The processes are stdio servers kept alive (the
// scheduler runs inside every igmcp process, whatever its transport) acting
// as the one account of INSTAGRAM_ACCESS_TOKEN; fleet_test.go runs `igmcp
// http` processes acting as 20 accounts of the shared token store.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
)

// lateAnswers answers media_publish a while after the post went live, so a
// killed process is likely to die with a publish sent but unrecorded.
type lateAnswers struct {
	fake  *fakegraph.Server
	delay time.Duration

	mu   sync.Mutex
	held map[string]bool // containers published whose answer is held
}

func (h *lateAnswers) holding(containerID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held[containerID]
}

// holdingAny counts the publishes live at Instagram whose answer is held.
func (h *lateAnswers) holdingAny() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.held)
}

func (h *lateAnswers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/media_publish") {
		h.fake.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	rec := httptest.NewRecorder()
	h.fake.ServeHTTP(rec, r)
	if id := form.Get("creation_id"); rec.Code == http.StatusOK && id != "" {
		h.mu.Lock()
		h.held[id] = true
		h.mu.Unlock()
		defer func() {
			h.mu.Lock()
			delete(h.held, id)
			h.mu.Unlock()
		}()
	}
	select {
	case <-time.After(h.delay):
	case <-r.Context().Done():
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// testPostgres is one PostgreSQL server for this test binary, started by
// the first test that needs it (a cluster costs seconds to start, a schema
// per test almost nothing) and stopped by TestMain.
type testPostgres struct {
	once sync.Once
	pg   *storetest.Postgres
	err  error
}

func (p *testPostgres) stop() {
	if p.pg != nil {
		p.pg.Stop()
	}
}

// freshPostgres returns the URL of a new, empty schema on the test binary's
// PostgreSQL. Without PostgreSQL binaries the test skips locally and fails
// under CI=true (storetest.RequirePostgres; README "Tests").
func freshPostgres(t *testing.T) string {
	t.Helper()
	sharedPostgres.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		sharedPostgres.pg, sharedPostgres.err = storetest.StartPostgres(ctx)
	})
	if err := sharedPostgres.err; err != nil && !errors.Is(err, storetest.ErrNoPostgres) {
		t.Fatalf("PostgreSQL did not start: %v", err)
	}
	storetest.RequirePostgres(t, sharedPostgres.pg, sharedPostgres.err)
	return sharedPostgres.pg.FreshURL(t)
}

// progressGuard fails a wait that stops making progress for too long: a
// hang guard that stays generous on a loaded machine, never a timing
// assertion.
type progressGuard struct {
	idle     time.Duration
	last     int
	deadline time.Time
}

func newProgressGuard(idle time.Duration) *progressGuard {
	return &progressGuard{idle: idle, last: -1}
}

// stuck records the progress count n and reports whether it has not grown
// for the guard's idle time.
func (g *progressGuard) stuck(n int) bool {
	if n > g.last {
		g.last, g.deadline = n, time.Now().Add(g.idle)
		return false
	}
	return time.Now().After(g.deadline)
}

func TestMultiProcess_RealBinaryPostgres(t *testing.T) {
	t.Parallel()
	dbURL := freshPostgres(t)

	acct := fakegraph.DefaultAccount
	fake := fakegraph.New(fakegraph.Options{Latency: 10 * time.Millisecond, QuotaTotal: 1000})
	front := &lateAnswers{fake: fake, delay: 300 * time.Millisecond, held: map[string]bool{}}
	ts := httptest.NewServer(front)
	t.Cleanup(ts.Close)

	env := childEnv("INSTAGRAM_GRAPH_URL="+ts.URL, "INSTAGRAM_ACCESS_TOKEN="+acct.Token, "INSTAGRAM_USER_ID="+acct.ID,
		"IGMCP_DATABASE_URL="+dbURL, "IGMCP_LOG_LEVEL=info", "IGMCP_SCHEDULER_LEASE=2s", "IGMCP_SCHEDULER_TICK=100ms",
		// A publish sent by the killed process that never reached Instagram
		// is in flight for the send grace (default 2 min): shortened.
		"IGMCP_SEND_GRACE=10s")
	var procs []*e2eServer
	for range 3 {
		s := startClient(t, "", env, "stdio")
		requireArg(t, s, "schedule_post", "publish_at")
		procs = append(procs, s)
	}

	const total = 90
	start := time.Now().Add(3 * time.Second)
	ids := make([]string, total)
	for i := range ids {
		caption := fmt.Sprintf("mp-real-%02d", i)
		at := start.Add(20 * time.Second * time.Duration(i) / total)
		m := procs[0].ok(t, "schedule_post", map[string]any{"kind": "post", "publish_at": at.Format(time.RFC3339Nano),
			"post": map[string]any{"image_url": "https://cdn.example.com/" + caption + ".jpg", "caption": caption}})
		ids[i] = m["schedule_id"].(string)
	}

	st, err := store.Open(context.Background(), store.Config{DatabaseURL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func(states ...store.RunState) int {
		ss, err := st.ListSchedules(context.Background(), store.ScheduleFilter{States: states})
		if err != nil {
			t.Fatal(err)
		}
		return len(ss)
	}
	// sentBy2 finds a schedule process 2 holds whose post is live at
	// Instagram while the answer is held (the scheduler's lease owner is
	// host/pid/…; the ledger names the container).
	owner2 := fmt.Sprintf("/%d/", procs[1].cmd.Process.Pid)
	sentBy2 := func() string {
		ss, err := st.ListSchedules(context.Background(), store.ScheduleFilter{States: []store.RunState{store.RunPublishing}})
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range ss {
			if strings.Contains(sc.LeaseOwner, owner2) {
				if p, err := st.GetPublish(context.Background(), sc.AccountID, sc.IdempotencyKey); err == nil && p.State == store.PublishSent && front.holding(p.ContainerID) {
					return sc.ID
				}
			}
		}
		return ""
	}
	killed := false
	// Takeover of the killed process's posts waits for its lease (2 s), the
	// send grace (10 s) and the ledger's 30 s retry_after.
	guard := newProgressGuard(2 * time.Minute)
	for count(store.RunPublished, store.RunFailed, store.RunMissed) < total {
		if n := len(fake.Published(acct.ID)); !killed && n >= total/2 {
			// Prefer to kill process 2 while one of its posts is live with
			// the answer held; under load it may hold none for a while, and
			// then it is killed midway all the same.
			victim, wait := sentBy2(), time.Now().Add(20*time.Second)
			for victim == "" && time.Now().Before(wait) {
				time.Sleep(5 * time.Millisecond)
				victim = sentBy2()
			}
			if victim == "" {
				victim = "(none held at that moment)"
			}
			t.Logf("SIGKILL process 2 after %d of %d publishes, while its post of %s was live and the answer held", n, total, victim)
			if err := procs[1].cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = procs[1].client.Close()
			procs[1].closed = true
			killed = true
		}
		if n := count(store.RunPublished, store.RunFailed, store.RunMissed); n < total && guard.stuck(n) {
			t.Fatalf("%d of %d final, no progress for %s; logs of process 1:\n%s", n, total, guard.idle, procs[0].stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	got := map[string]int{}
	for _, m := range fake.Published(acct.ID) {
		got[m.Caption]++
	}
	list := procs[0].ok(t, "list_scheduled_posts", map[string]any{"limit": 1000})["schedules"].([]any)
	if len(list) != total {
		t.Fatalf("list_scheduled_posts shows %d schedules, want %d", len(list), total)
	}
	taken := 0
	for i, x := range list {
		sc := x.(map[string]any)
		if sc["state"] != "published" {
			t.Errorf("%s: %v", sc["schedule_id"], sc)
		}
		caption := fmt.Sprintf("mp-real-%02d", i)
		if got[caption] != 1 {
			t.Errorf("%s published %d times", caption, got[caption])
		}
	}
	all, _ := st.ListSchedules(context.Background(), store.ScheduleFilter{})
	for _, sc := range all {
		if sc.Attempts > 0 {
			taken++
		}
	}
	t.Logf("%d posts scheduled through process 1, published by 3 igmcp processes on PostgreSQL (one SIGKILLed): %d distinct posts at Instagram, %d taken over after a lease expired",
		total, len(got), taken)
	procs[0].close(t)
	procs[2].close(t)
}
