package main

// Crash tests (issue 5): the real binary is SIGKILLed at each stage of a
// scheduled publish and restarted on the same data directory; every post
// must end published exactly once (or missed, when it was too late).
//
// The fake Graph API runs in this test process, not in the igmcp process
// (--sandbox's fake dies with the process): igmcp is started without
// --sandbox, with INSTAGRAM_GRAPH_URL pointing here and the fake's token, so
// the fake outlives every igmcp process and counts every publish. A stage is
// held open by holding one Graph request in the fake's front handler, either
// before Instagram does the work (the request never reached it) or after
// (Instagram did it, the answer is lost); the process is killed while it
// waits for that answer.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/store"
)

// hold stops the first request that matches, before or after the fake does
// its work, until released or until the client goes away.
type hold struct {
	match     func(r *http.Request) bool
	afterWork bool // Instagram did it; only the answer is held
	reached   chan struct{}
	release   chan struct{}
	fired     bool
}

// holdingGraph fronts a fakegraph.Server with holds.
type holdingGraph struct {
	fake  *fakegraph.Server
	mu    sync.Mutex
	holds []*hold
	stop  chan struct{}
}

func (h *holdingGraph) add(afterWork bool, match func(*http.Request) bool) *hold {
	hd := &hold{match: match, afterWork: afterWork, reached: make(chan struct{}), release: make(chan struct{})}
	h.mu.Lock()
	h.holds = append(h.holds, hd)
	h.mu.Unlock()
	return hd
}

func (h *holdingGraph) take(r *http.Request) *hold {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hd := range h.holds {
		if !hd.fired && hd.match(r) {
			hd.fired = true
			return hd
		}
	}
	return nil
}

func (h *holdingGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := h.take(r)
	if hd == nil {
		h.fake.ServeHTTP(w, r)
		return
	}
	// Reading the body first lets net/http notice a client that goes away
	// (it watches the connection only once the body is consumed).
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !hd.afterWork {
		close(hd.reached)
		select {
		case <-hd.release:
			h.fake.ServeHTTP(w, r)
		case <-r.Context().Done(): // the request never reached Instagram
		case <-h.stop:
		}
		return
	}
	rec := httptest.NewRecorder()
	h.fake.ServeHTTP(rec, r) // Instagram did it
	close(hd.reached)
	select {
	case <-hd.release:
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	case <-r.Context().Done(): // the answer is lost
	case <-h.stop:
	}
}

var containerPath = regexp.MustCompile(`^/v[0-9.]+/[0-9]+$`)

// crashRig is one fake Instagram and one data directory that igmcp
// processes come and go on.
type crashRig struct {
	t       *testing.T
	graph   *holdingGraph
	url     string
	acct    fakegraph.Account
	dataDir string
	extra   []string
}

func newCrashRig(t *testing.T, fo fakegraph.Options, extraEnv ...string) *crashRig {
	t.Helper()
	fake := fakegraph.New(fo)
	hg := &holdingGraph{fake: fake, stop: make(chan struct{})}
	ts := httptest.NewServer(hg)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(hg.stop) }) // runs first: unblock held handlers
	return &crashRig{t: t, graph: hg, url: ts.URL, acct: fakegraph.DefaultAccount, dataDir: t.TempDir(), extra: extraEnv}
}

// start runs an igmcp process on the rig's data. A binary without the
// schedule tools fails the test: these tests exist to exercise them.
func (c *crashRig) start() *e2eServer {
	c.t.Helper()
	env := childEnv(append([]string{
		"INSTAGRAM_GRAPH_URL=" + c.url, "INSTAGRAM_ACCESS_TOKEN=" + c.acct.Token, "INSTAGRAM_USER_ID=" + c.acct.ID,
		"IGMCP_DATA_DIR=" + c.dataDir, "IGMCP_LOG_LEVEL=debug",
		// A killed process's posts are taken over after 2 s, not a minute.
		"IGMCP_SCHEDULER_LEASE=2s", "IGMCP_SCHEDULER_TICK=100ms",
	}, c.extra...)...)
	s := startClient(c.t, "", env, "stdio")
	requireArg(c.t, s, "schedule_post", "publish_at")
	requireArg(c.t, s, "list_scheduled_posts", "limit")
	return s
}

// kill SIGKILLs the process: no release, no cleanup, like a crash.
func (c *crashRig) kill(s *e2eServer) {
	c.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		c.t.Fatal(err)
	}
	_ = s.client.Close()
	s.closed = true
}

func (c *crashRig) schedule(s *e2eServer, caption string, at time.Time, extra map[string]any) string {
	c.t.Helper()
	post := map[string]any{"image_url": "https://cdn.example.com/" + strings.ReplaceAll(caption, " ", "-") + ".jpg", "caption": caption}
	for k, v := range extra {
		post[k] = v
	}
	m := s.ok(c.t, "schedule_post", map[string]any{"kind": "post", "publish_at": at.Format(time.RFC3339Nano), "post": post})
	return m["schedule_id"].(string)
}

// peek reads the schedule and its ledger record straight from the data
// directory, as a second process would.
func (c *crashRig) peek(id string) (store.Schedule, store.Publish) {
	c.t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: c.dataDir})
	if err != nil {
		c.t.Fatal(err)
	}
	defer st.Close()
	sc, err := st.GetSchedule(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	p, _ := st.GetPublish(context.Background(), c.acct.ID, sc.IdempotencyKey)
	return sc, p
}

// waitFinal polls list_scheduled_posts on s until id is final.
func (c *crashRig) waitFinal(s *e2eServer, id string, within time.Duration) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := s.ok(c.t, "list_scheduled_posts", map[string]any{})
		for _, x := range m["schedules"].([]any) {
			sc := x.(map[string]any)
			if sc["schedule_id"] == id && slices.Contains([]any{"published", "failed", "missed", "cancelled"}, sc["state"]) {
				return sc
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("schedule %s not final after %s: %v\nstderr:\n%s", id, within, m, s.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *crashRig) published(caption string) int {
	n := 0
	for _, m := range c.graph.fake.Published(c.acct.ID) {
		if m.Caption == caption {
			n++
		}
	}
	return n
}

func waitReached(t *testing.T, h *hold, s *e2eServer, what string) {
	t.Helper()
	select {
	case <-h.reached:
	case <-time.After(hangGuard):
		t.Fatalf("never reached %s\nstderr:\n%s", what, s.stderr.String())
	}
}

func TestCrash_KillAtEachStage(t *testing.T) {
	t.Parallel()
	type stage struct {
		name string
		// fo configures the fake; extraEnv the igmcp processes.
		fo       fakegraph.Options
		extraEnv []string
		// firstComment makes the publish post a first comment (a stage
		// after media_publish answered).
		firstComment bool
		// arm installs the hold that the process is killed in (nil: kill
		// before the post is due) and says what must be true at the kill.
		arm func(c *crashRig) *hold
		// at is publish_at relative to scheduling; wait is how long to stay
		// down after the kill.
		at, down time.Duration
		// check looks at the stored state at the kill.
		check func(t *testing.T, sc store.Schedule, p store.Publish)
		want  string // final state
	}
	isGET := func(r *http.Request) bool { return r.Method == http.MethodGet }
	stages := []stage{
		{
			name: "scheduled, restarted within grace", at: 2 * time.Second, down: 3 * time.Second,
			check: func(t *testing.T, sc store.Schedule, p store.Publish) {
				if sc.State != store.RunScheduled || p.State != "" {
					t.Errorf("at kill: schedule %s, ledger %q", sc.State, p.State)
				}
			},
			want: "published",
		},
		{
			name: "scheduled, restarted beyond grace", at: time.Second, down: 3 * time.Second,
			extraEnv: []string{"IGMCP_SCHEDULE_GRACE=1s"},
			check: func(t *testing.T, sc store.Schedule, p store.Publish) {
				if sc.State != store.RunScheduled {
					t.Errorf("at kill: schedule %s", sc.State)
				}
			},
			want: "missed",
		},
		{
			name: "claimed",
			arm: func(c *crashRig) *hold {
				return c.graph.add(false, func(*http.Request) bool { return true }) // the publish's first Graph call
			},
			check: func(t *testing.T, sc store.Schedule, p store.Publish) {
				if sc.State != store.RunPublishing || sc.LeaseOwner == "" || p.State == store.PublishContainerCreated || p.State == store.PublishSent {
					t.Errorf("at kill: schedule %s (owner %q), ledger %q", sc.State, sc.LeaseOwner, p.State)
				}
			},
			want: "published",
		},
		{
			name: "container created",
			fo:   fakegraph.Options{ImageProcessing: 3 * time.Second},
			arm: func(c *crashRig) *hold {
				return c.graph.add(false, func(r *http.Request) bool {
					return isGET(r) && containerPath.MatchString(r.URL.Path) && !strings.HasSuffix(r.URL.Path, "/"+c.acct.ID)
				})
			},
			check: func(t *testing.T, sc store.Schedule, p store.Publish) {
				if sc.State != store.RunPublishing || p.State != store.PublishContainerCreated || p.ContainerID == "" {
					t.Errorf("at kill: schedule %s, ledger %q container %q", sc.State, p.State, p.ContainerID)
				}
			},
			want: "published",
		},
		{
			name: "publish sent, Instagram published, answer lost",
			arm: func(c *crashRig) *hold {
				return c.graph.add(true, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/media_publish") })
			},
			check: func(t *testing.T, sc store.Schedule, p store.Publish) {
				if sc.State != store.RunPublishing || p.State != store.PublishSent {
					t.Errorf("at kill: schedule %s, ledger %q", sc.State, p.State)
				}
			},
			want: "published",
		},
		{
			name: "publish sent, never reached Instagram",
			// The ledger's send grace (2 minutes by default) decides that an
			// unanswered publish never reached Instagram; shortened here.
			extraEnv: []string{"IGMCP_SEND_GRACE=3s"},
			arm: func(c *crashRig) *hold {
				return c.graph.add(false, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/media_publish") })
			},
			check: func(t *testing.T, sc store.Schedule, p store.Publish) {
				if sc.State != store.RunPublishing || p.State != store.PublishSent {
					t.Errorf("at kill: schedule %s, ledger %q", sc.State, p.State)
				}
			},
			want: "published",
		},
		{
			name: "publish answered", firstComment: true,
			arm: func(c *crashRig) *hold {
				return c.graph.add(false, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/comments") })
			},
			check: func(t *testing.T, sc store.Schedule, p store.Publish) {
				if sc.State != store.RunPublishing || p.State != store.PublishSent {
					t.Errorf("at kill: schedule %s, ledger %q", sc.State, p.State)
				}
			},
			want: "published",
		},
	}
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			c := newCrashRig(t, st.fo, st.extraEnv...)
			s := c.start()
			var h *hold
			if st.arm != nil {
				h = st.arm(c)
			}
			caption := "crash " + st.name
			var extra map[string]any
			if st.firstComment {
				extra = map[string]any{"first_comment": "first!"}
			}
			id := c.schedule(s, caption, time.Now().Add(st.at), extra)
			if h != nil {
				waitReached(t, h, s, st.name)
			}
			c.kill(s)
			sc, p := c.peek(id)
			st.check(t, sc, p)
			atKill := fmt.Sprintf("schedule %s, ledger %q", sc.State, p.State)
			time.Sleep(st.down)

			s2 := c.start()
			got := c.waitFinal(s2, id, 2*time.Minute)
			if got["state"] != st.want {
				t.Fatalf("after restart: %v\nstderr:\n%s", got, s2.stderr.String())
			}
			want := 1
			if st.want == "missed" {
				want = 0
			}
			if n := c.published(caption); n != want {
				t.Fatalf("published %d times, want %d\nstderr of the restarted process:\n%s", n, want, s2.stderr.String())
			}
			if want == 1 {
				media := c.graph.fake.Published(c.acct.ID)
				if got["media_id"] != media[len(media)-1].ID {
					t.Errorf("recorded media %v, Instagram has %s", got["media_id"], media[len(media)-1].ID)
				}
			}
			if st.firstComment {
				// The process died with the first comment held: the resume
				// finds it missing among the media's comments and posts it,
				// once.
				n := 0
				for _, call := range c.graph.fake.Calls() {
					if call.Method == http.MethodPost && strings.HasSuffix(call.Path, "/comments") && call.Status == http.StatusOK {
						n++
					}
				}
				if n != 1 {
					t.Errorf("stage %q: %d first comments posted, want 1", st.name, n)
				}
			}
			sc, p = c.peek(id)
			t.Logf("stage %q: at kill %s; after restart schedule %s (lease recoveries %d), ledger %q, published %d time(s)",
				st.name, atKill, sc.State, sc.Attempts, p.State, c.published(caption))
			s2.close(t)
		})
	}
}

// A background job (wait: false) whose process dies while publishing is
// finished by the next process, once.
func TestCrash_JobFinishedByNextProcess(t *testing.T) {
	t.Parallel()
	c := newCrashRig(t, fakegraph.Options{})
	s := c.start()
	requireArg(t, s, "create_post", "wait")
	requireArg(t, s, "get_job", "job_id")
	h := c.graph.add(true, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/media_publish") })
	m := s.ok(t, "create_post", map[string]any{"image_url": "https://cdn.example.com/job.jpg", "caption": "crash job", "wait": false})
	id, _ := m["job_id"].(string)
	if id == "" {
		t.Fatalf("no job id: %v", m)
	}
	waitReached(t, h, s, "media_publish of the job")
	c.kill(s)
	s2 := c.start()
	deadline := time.Now().Add(2 * time.Minute) // hang guard
	for {
		j := s2.ok(t, "get_job", map[string]any{"job_id": id})
		if j["state"] == "published" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not finished: %v\nstderr:\n%s", j, s2.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := c.published("crash job"); n != 1 {
		t.Fatalf("job published %d times", n)
	}
	s2.close(t)
}

// requireArg fails the test unless the server lists tool with argument
// arg: a test that needs a tool must fail, never skip, when it is gone.
func requireArg(t *testing.T, s *e2eServer, tool, arg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	res, err := s.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	for _, tl := range res.Tools {
		if tl.Name == tool {
			if _, ok := tl.InputSchema.Properties[arg]; !ok {
				t.Fatalf("the server's %s has no argument %q", tool, arg)
			}
			return
		}
	}
	t.Fatalf("the server does not list %s (default toolsets)", tool)
}
