package scheduler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
)

// Schedules are published once each, not before publish_at, with the media
// id and the publish result recorded.
func TestPublishesAtPublishAt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		s := e.scheduler(nil)
		ctx := context.Background()
		acct := e.accts[0].ID
		at := time.Now().Add(400 * time.Millisecond)
		var ids []string
		for i := range 3 {
			sc, err := s.Schedule(ctx, as(acct), "post", post(fmt.Sprint("timed ", i)), at.Add(time.Duration(i)*100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if sc.State != store.RunScheduled || !strings.HasPrefix(sc.ID, scheduler.SchedulePrefix) || sc.IdempotencyKey != "schedule:"+sc.ID {
				t.Fatalf("scheduled %+v", sc)
			}
			ids = append(ids, sc.ID)
		}
		start(t, s)
		for i, id := range ids {
			sc := e.waitFinal(id)
			if sc.State != store.RunPublished || sc.MediaID == "" || sc.LeaseOwner != "" {
				t.Fatalf("%s: %+v", id, sc)
			}
			var res publish.Result
			if err := json.Unmarshal(sc.Result, &res); err != nil || res.MediaID != sc.MediaID || res.Status != "published" || res.Permalink == "" {
				t.Fatalf("%s result %s: %v", id, sc.Result, err)
			}
			for _, m := range e.fake.Published(acct) {
				if m.ID == sc.MediaID && m.Timestamp.Before(sc.PublishAt) {
					t.Errorf("%s published at %v, before publish_at %v", id, m.Timestamp, sc.PublishAt)
				}
			}
			e.requireOnce(fmt.Sprint("timed ", i))
		}
	})
}

// A failure is stored as the docs/reference.md §4 error object, with its kind beside it.
func TestFailureStoresErrorObject(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		e.fake.SetMediaOutcome("broken", fakegraph.Outcome{StatusCode: fakegraph.StatusError, Subcode: 2207026})
		s := e.scheduler(nil)
		start(t, s)
		sc, err := s.Schedule(context.Background(), as(e.accts[0].ID), "reel",
			json.RawMessage(`{"video_url":"https://cdn.example.com/broken.mp4","caption":"bad video"}`), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		sc = e.waitFinal(sc.ID)
		if sc.State != store.RunFailed || sc.ErrorKind != string(failure.ContainerFailed) || sc.MediaID != "" {
			t.Fatalf("failed schedule %+v", sc)
		}
		errorObject(t, sc)
		if n := len(e.fake.Published(e.accts[0].ID)); n != 0 {
			t.Fatalf("%d published", n)
		}
	})
}

// A post whose time passed while no scheduler ran is published when one
// starts within the grace window, and marked missed beyond it (without
// calling Instagram for it).
func TestGraceWindowOnStart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		acct := e.accts[0].ID
		now := time.Now()
		e.createDirect("sch_late", acct, "late but in grace", now.Add(-50*time.Minute))
		e.createDirect("sch_old", acct, "too old", now.Add(-2*time.Hour))
		e.createDirect("sch_job_old", acct, "old job", now.Add(-61*time.Minute))
		start(t, e.scheduler(func(c *scheduler.Config) { c.Grace = time.Hour }))
		if sc := e.waitFinal("sch_late"); sc.State != store.RunPublished {
			t.Fatalf("late schedule: %+v", sc)
		}
		for _, id := range []string{"sch_old", "sch_job_old"} {
			if sc := e.waitFinal(id); sc.State != store.RunMissed {
				t.Fatalf("%s: %+v", id, sc)
			}
		}
		got := e.published()
		if got["late but in grace"] != 1 || got["too old"] != 0 || got["old job"] != 0 {
			t.Fatalf("published %v", got)
		}
		for _, c := range e.fake.Calls() {
			if strings.Contains(c.Params.Get("image_url"), "too-old") {
				t.Fatalf("Instagram was called for a missed schedule: %+v", c)
			}
		}
	})
}

// A schedule left publishing by a process that died (its lease expires) is
// recovered and published by another, once.
func TestRecoversExpiredLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		acct := e.accts[0].ID
		e.createDirect("sch_orphan", acct, "orphan", time.Now().Add(-time.Second))
		claimed, err := e.st.ClaimDue(context.Background(), time.Now(), "dead-process", 300*time.Millisecond, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim as the dead process: %v %v", claimed, err)
		}
		start(t, e.scheduler(nil))
		sc := e.waitFinal("sch_orphan")
		if sc.State != store.RunPublished || sc.Attempts != 1 {
			t.Fatalf("recovered schedule %+v", sc)
		}
		e.requireOnce("orphan")
	})
}

// At shutdown a publish in flight gets DrainTimeout, then is cancelled and
// its schedule released (not failed): the next process publishes it once.
// The cancelled media_publish may have reached Instagram, so the next
// process sends it again only after the send grace.
func TestShutdownReleases(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		// media_publish hangs for a long time before doing anything.
		e.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Nth: 1, Action: fakegraph.FaultLatency, Delay: time.Minute})
		s1 := e.scheduler(func(c *scheduler.Config) { c.DrainTimeout = 100 * time.Millisecond })
		stop := start(t, s1)
		sc, err := s1.Schedule(context.Background(), as(e.accts[0].ID), "post", post("drained"), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "media_publish in flight", func() bool { return inFlight(e.fake, "/media_publish") > 0 })
		stop()
		got, err := e.st.GetSchedule(context.Background(), sc.ID)
		if err != nil || got.State != store.RunScheduled || got.LeaseOwner != "" || got.Attempts != 0 {
			t.Fatalf("after shutdown: %+v %v", got, err)
		}
		start(t, e.scheduler(nil))
		if got := e.waitFinal(sc.ID); got.State != store.RunPublished {
			t.Fatalf("after restart: %+v", got)
		}
		e.requirePosted("drained")
		var sends []fakegraph.Call
		for _, c := range e.fake.Calls() {
			if strings.HasSuffix(c.Path, "/media_publish") {
				sends = append(sends, c)
			}
		}
		// The grace counts from the send's claim in the ledger, a moment
		// before the request: half of it is a safe lower bound here.
		if len(sends) != 2 || sends[0].Params.Get("creation_id") != sends[1].Params.Get("creation_id") || sends[1].Time.Sub(sends[0].Time) < sendGrace/2 {
			t.Fatalf("want the cancelled send, then one more after the %v grace: %d sends", sendGrace, len(sends))
		}
	})
}

// inFlight counts requests to a path the fake has not answered yet.
func inFlight(f *fakegraph.Server, suffix string) int {
	n := 0
	for _, c := range f.Calls() {
		if strings.HasSuffix(c.Path, suffix) && c.Status == 0 {
			n++
		}
	}
	return n
}

// A publish that outlasts many leases keeps its schedule: the lease is
// renewed while it runs, and nobody else takes the schedule over. Leases
// are judged on the schedulers' clock (Config.Now), and the test drives it,
// together with the fake's processing: the clock moves half a lease only
// after a renewal written at the current time has been seen. However slow
// the machine, a renewing scheduler is then never behind, while a second
// scheduler recovers expired leases at every step; a scheduler that does
// not renew is caught at the first step. (Mutant: keepLease that never
// calls RenewLease: the test fails waiting for the first renewal.)
func TestLeaseRenewedDuringLongPublish(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		const lease = 300 * time.Millisecond
		clk := newClock(time.Now())
		e := newEnv(t, cfg, fakegraph.Options{VideoProcessing: 4 * lease, Now: clk.Now})
		timed := func(c *scheduler.Config) { c.Lease, c.Now, c.Tick = lease, clk.Now, lease/2 }
		a := e.scheduler(timed)
		start(t, a)
		ctx := context.Background()
		sc, err := a.Schedule(ctx, as(e.accts[0].ID), "reel", json.RawMessage(`{"video_url":"https://cdn.example.com/long.mp4","caption":"long reel"}`), clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the reel's container", func() bool { return len(e.fake.Containers()) > 0 })
		start(t, e.scheduler(timed)) // another process, recovering expired leases at every tick
		processed := e.fake.Containers()[0].Created.Add(4 * lease)
		steps := 0
		for clk.Now().Before(processed) {
			clk.Advance(lease / 2)
			steps++
			renewedTo := clk.Now().Add(lease).UTC().Truncate(time.Microsecond)
			waitFor(t, fmt.Sprintf("the lease renewed after step %d", steps), func() bool {
				got, err := e.st.GetSchedule(ctx, sc.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got.State == store.RunPublished || !got.LeaseExpiresAt.Before(renewedTo)
			})
		}
		got := e.waitFinal(sc.ID)
		if got.State != store.RunPublished || got.Attempts != 0 {
			t.Fatalf("long reel after %d half leases: %+v", steps, got)
		}
		if n := len(e.fake.Containers()); n != 1 {
			t.Errorf("%d containers: the reel was started twice", n)
		}
		e.requireOnce("long reel")
	})
}

// Several processes over one database: every schedule published exactly
// once, each process within its concurrency bound.
func TestSeveralProcessesPublishOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{Accounts: accounts(3), Latency: 5 * time.Millisecond})
		const total = 60
		now := time.Now()
		for i := range total {
			e.createDirect(fmt.Sprintf("sch_%03d", i), e.accts[i%3].ID, fmt.Sprint("multi ", i), now.Add(time.Duration(i)*10*time.Millisecond))
		}
		for range 3 {
			start(t, e.scheduler(func(c *scheduler.Config) { c.Concurrency = 2 }))
		}
		for i := range total {
			if sc := e.waitFinal(fmt.Sprintf("sch_%03d", i)); sc.State != store.RunPublished {
				t.Fatalf("%+v", sc)
			}
		}
		got := e.published()
		if len(got) != total {
			t.Errorf("%d distinct posts published, want %d", len(got), total)
		}
		for c, n := range got {
			if n != 1 {
				t.Errorf("%q published %d times", c, n)
			}
		}
		if n := e.fake.MaxConcurrent("POST", "/media_publish"); n > 6 {
			t.Errorf("%d publishes at once; 3 processes × 2 allow 6", n)
		}
	})
}

// One process never runs more than Concurrency publishes at once.
func TestConcurrencyBound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{Latency: 30 * time.Millisecond})
		for i := range 8 {
			e.createDirect(fmt.Sprint("sch_c", i), e.accts[0].ID, fmt.Sprint("bounded ", i), time.Now())
		}
		start(t, e.scheduler(func(c *scheduler.Config) { c.Concurrency = 2 }))
		for i := range 8 {
			e.waitFinal(fmt.Sprint("sch_c", i))
		}
		if n := e.fake.MaxConcurrent("POST", "/media"); n > 2 || n < 1 {
			t.Fatalf("%d containers created at once, want at most 2", n)
		}
	})
}

// Schedules of an account this process cannot act as are left to others:
// they do not block its own, and a process that can act as the account
// publishes them.
func TestLeavesOtherAccountsToOthers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		mine, theirs := e.accts[0], e.accts[1]
		now := time.Now()
		for i := range 4 {
			e.createDirect(fmt.Sprint("sch_t", i), theirs.ID, fmt.Sprint("theirs ", i), now.Add(-time.Minute))
		}
		e.createDirect("sch_m", mine.ID, "mine", now)
		start(t, e.scheduler(func(c *scheduler.Config) { c.Concurrency = 1; c.SkipFor = time.Hour }, mine))
		if sc := e.waitFinal("sch_m"); sc.State != store.RunPublished {
			t.Fatalf("own schedule: %+v", sc)
		}
		for i := range 4 {
			sc, _ := e.st.GetSchedule(context.Background(), fmt.Sprint("sch_t", i))
			if sc.State != store.RunScheduled || sc.Attempts != 0 {
				t.Fatalf("other account's schedule touched: %+v", sc)
			}
		}
		start(t, e.scheduler(nil, theirs))
		for i := range 4 {
			if sc := e.waitFinal(fmt.Sprint("sch_t", i)); sc.State != store.RunPublished {
				t.Fatalf("%+v", sc)
			}
		}
		e.requireOnce("mine", "theirs 0", "theirs 3")
	})
}

// A process that acts as no account at all (no token, an empty token
// store: Resolve says auth_expired) leaves every schedule to others.
func TestNoAccountsLeavesSchedules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		e.createDirect("sch_x", e.accts[0].ID, "nobody", time.Now().Add(-time.Second))
		start(t, e.scheduler(func(c *scheduler.Config) { c.Accounts = noAccounts{} }))
		time.Sleep(300 * time.Millisecond) // many ticks
		if sc, _ := e.st.GetSchedule(context.Background(), "sch_x"); sc.State != store.RunScheduled || sc.Attempts != 0 {
			t.Fatalf("schedule touched by a process without accounts: %+v", sc)
		}
		start(t, e.scheduler(nil))
		if sc := e.waitFinal("sch_x"); sc.State != store.RunPublished {
			t.Fatalf("%+v", sc)
		}
	})
}

type noAccounts struct{}

func (noAccounts) Resolve(context.Context, string) (*auth.Account, error) {
	return nil, failure.New(failure.AuthExpired, "No Instagram account is set up on this server.")
}

// Reels still processing when PublishWait ends fail with
// container_not_ready naming the container, rather than being retried.
func TestStillProcessingFails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{VideoProcessing: time.Hour})
		s := e.scheduler(func(c *scheduler.Config) { c.PublishWait = 200 * time.Millisecond })
		start(t, s)
		sc, err := s.Schedule(context.Background(), as(e.accts[0].ID), "reel", json.RawMessage(`{"video_url":"https://cdn.example.com/slow.mp4"}`), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		sc = e.waitFinal(sc.ID)
		m := errorObject(t, sc)
		cs := e.fake.Containers()
		if sc.State != store.RunFailed || sc.ErrorKind != string(failure.ContainerNotReady) || len(cs) != 1 ||
			!strings.Contains(fmt.Sprint(m["action"]), cs[0].ID) {
			t.Fatalf("%+v %v", sc, m)
		}
	})
}

// Background jobs: published by the scheduler, reported by Job, never in
// List, durable across the death of the process that accepted them.
func TestJobs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		ctx := context.Background()
		acct := e.accts[0].ID
		s := e.scheduler(nil)
		in := publish.PostInput{ImageURL: "https://cdn.example.com/job.jpg", Common: publish.Common{Caption: "a job"}}
		r := publish.Request{Kind: publish.KindPost, Post: &in}
		if _, err := s.StartJob(ctx, as(acct), r, publish.Options{Draft: true}); failure.Classify(err).Kind != failure.InvalidInput {
			t.Fatalf("draft job: %v", err)
		}
		bad := publish.Request{Kind: publish.KindPost, Post: &publish.PostInput{ImageURL: "http://insecure/x.jpg"}}
		if _, err := s.StartJob(ctx, as(acct), bad, publish.Options{}); failure.Classify(err).Kind != failure.InvalidInput {
			t.Fatalf("invalid job: %v", err)
		}
		// Accepted by a process that dies before it starts the job.
		id, err := s.StartJob(ctx, as(acct), r, publish.Options{})
		if err != nil || !scheduler.IsJob(id) {
			t.Fatalf("StartJob = %q, %v", id, err)
		}
		j, err := s.Job(ctx, as(acct), id)
		if err != nil || j.State != store.RunScheduled || j.IdempotencyKey != "job:"+id {
			t.Fatalf("job before any scheduler runs: %+v %v", j, err)
		}
		// Accepted by a process that dies while publishing it.
		id2, err := s.StartJob(ctx, as(acct), publish.Request{Kind: publish.KindReel, Post: nil,
			Reel: &publish.ReelInput{VideoURL: "https://cdn.example.com/j.mp4", Common: publish.Common{Caption: "a reel job"}}}, publish.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.st.ClaimDue(ctx, time.Now(), "dead", 200*time.Millisecond, 1); err != nil || len(got) != 1 {
			t.Fatalf("claim as the dead process: %v %v", got, err)
		}
		other := e.scheduler(nil)
		start(t, other)
		for _, id := range []string{id, id2} {
			j := e.waitFinal(id)
			if j.State != store.RunPublished || j.MediaID == "" {
				t.Fatalf("job %+v", j)
			}
			if got, err := other.Job(ctx, as(acct), id); err != nil || got.State != store.RunPublished {
				t.Fatalf("Job(%s) = %+v %v", id, got, err)
			}
		}
		e.requireOnce("a job", "a reel job")
		list, err := other.List(ctx, as(acct), nil, 0)
		if err != nil || len(list) != 0 {
			t.Fatalf("jobs listed as schedules: %+v %v", list, err)
		}
		for _, who := range []string{e.accts[1].ID} {
			if _, err := other.Job(ctx, as(who), id); failure.Classify(err).Kind != failure.NotFound {
				t.Fatalf("another account's job: %v", err)
			}
		}
		if _, err := other.Job(ctx, as(acct), "sch_"+id[4:]); failure.Classify(err).Kind != failure.NotFound {
			t.Fatalf("unknown job: %v", err)
		}
		// A caller's idempotency key is kept: a repeated call cannot
		// publish twice once publish.Run honours it.
		r.IdempotencyKey = "user-key-1"
		id3, err := s.StartJob(ctx, as(acct), r, publish.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if j, _ := e.st.GetSchedule(ctx, id3); j.IdempotencyKey != "user-key-1" {
			t.Fatalf("job key %q", j.IdempotencyKey)
		}
	})
}

// A job started with the caller's key is that key's job: the same call
// again, even from another process, gets the same job; other content is
// invalid_input; another token's key of the same name is another job.
// (Mutant: StartJob without keyedJobID, a random id per call: two jobs.)
func TestJobs_OnePerKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		ctx := context.Background()
		a, b := e.scheduler(nil), e.scheduler(nil)
		req := func(caption string) publish.Request {
			return publish.Request{Kind: publish.KindPost, IdempotencyKey: "launch-1",
				Post: &publish.PostInput{ImageURL: "https://cdn.example.com/k.jpg", Common: publish.Common{Caption: caption}}}
		}
		team := scheduler.Requester{AccountID: e.accts[0].ID, Token: "team-a"}
		id, err := a.StartJob(ctx, team, req("launch"), publish.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*scheduler.Scheduler{a, b} {
			if again, err := s.StartJob(ctx, team, req("launch"), publish.Options{}); err != nil || again != id {
				t.Fatalf("the same job again: %q, %v; want %q", again, err, id)
			}
		}
		_, err = b.StartJob(ctx, team, req("another post"), publish.Options{})
		if fe := failure.Classify(err); fe.Kind != failure.InvalidInput || fe.Field != "idempotency_key" {
			t.Fatalf("the key with another post: %v", err)
		}
		other := scheduler.Requester{AccountID: e.accts[0].ID, Token: "team-b"}
		if theirs, err := a.StartJob(ctx, other, req("launch"), publish.Options{}); err != nil || theirs == id {
			t.Fatalf("another token's job %q (%v), mine %q", theirs, err, id)
		}
		jobs, err := e.st.ListSchedules(ctx, store.ScheduleFilter{IDPrefix: scheduler.JobPrefix})
		if err != nil || len(jobs) != 2 {
			t.Fatalf("%d jobs (%v), want one per token", len(jobs), err)
		}
	})
}

// What a token creates is its own: another token on the same account
// cannot list, read or cancel it; a caller without a token sees all.
// (Mutant: List without CreatedBy in its filter.)
func TestOwnership(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		ctx := context.Background()
		s := e.scheduler(nil)
		acct := e.accts[0].ID
		teamA := scheduler.Requester{AccountID: acct, Token: "team-a"}
		teamB := scheduler.Requester{AccountID: acct, Token: "team-b"}
		admin := scheduler.Requester{AccountID: acct}
		sc, err := s.Schedule(ctx, teamA, "post", post("team a's"), time.Now().Add(time.Hour))
		if err != nil || sc.CreatedBy != "team-a" {
			t.Fatalf("schedule: %+v %v", sc, err)
		}
		job, err := s.StartJob(ctx, teamA, publish.Request{Kind: publish.KindPost, Post: &publish.PostInput{ImageURL: "https://cdn.example.com/j.jpg"}}, publish.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if list, err := s.List(ctx, teamB, nil, 0); err != nil || len(list) != 0 {
			t.Fatalf("team b lists %+v %v", list, err)
		}
		if _, err := s.Cancel(ctx, teamB, sc.ID); failure.Classify(err).Kind != failure.NotFound {
			t.Fatalf("team b cancels: %v", err)
		}
		if _, err := s.Job(ctx, teamB, job); failure.Classify(err).Kind != failure.NotFound {
			t.Fatalf("team b reads the job: %v", err)
		}
		for _, rq := range []scheduler.Requester{teamA, admin} {
			if list, err := s.List(ctx, rq, nil, 0); err != nil || len(list) != 1 || list[0].ID != sc.ID {
				t.Fatalf("%q lists %+v %v", rq.Token, list, err)
			}
			if _, err := s.Job(ctx, rq, job); err != nil {
				t.Fatalf("%q reads the job: %v", rq.Token, err)
			}
		}
		if got, err := s.Cancel(ctx, admin, sc.ID); err != nil || got.State != store.RunCancelled {
			t.Fatalf("unscoped cancel: %+v %v", got, err)
		}
	})
}

func TestCancel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		ctx := context.Background()
		acct := e.accts[0].ID
		s := e.scheduler(nil)
		sc, err := s.Schedule(ctx, as(acct), "post", post("never"), time.Now().Add(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Cancel(ctx, as(e.accts[1].ID), sc.ID); failure.Classify(err).Kind != failure.NotFound {
			t.Fatalf("cancel as another account: %v", err)
		}
		for range 2 { // the second cancel is a harmless repeat
			got, err := s.Cancel(ctx, as(acct), sc.ID)
			if err != nil || got.State != store.RunCancelled {
				t.Fatalf("cancel: %+v %v", got, err)
			}
		}
		done, err := s.Schedule(ctx, as(acct), "post", post("done"), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		start(t, s)
		e.waitFinal(done.ID)
		err = func() error { _, err := s.Cancel(ctx, as(acct), done.ID); return err }()
		if fe := failure.Classify(err); fe.Kind != failure.InvalidInput || fe.Field != "schedule_id" || !strings.Contains(fe.Message, "published") {
			t.Fatalf("cancel a published schedule: %v", err)
		}
		if _, err := s.Cancel(ctx, as(acct), "sch_nope"); failure.Classify(err).Kind != failure.NotFound {
			t.Fatalf("cancel unknown: %v", err)
		}
		time.Sleep(500 * time.Millisecond) // past the cancelled one's time
		if got := e.published(); got["never"] != 0 || got["done"] != 1 {
			t.Fatalf("published %v", got)
		}
		list, err := s.List(ctx, as(acct), []store.RunState{store.RunCancelled}, 0)
		if err != nil || len(list) != 1 || list[0].ID != sc.ID {
			t.Fatalf("cancelled list: %+v %v", list, err)
		}
	})
}

// Check refuses bad input before the store or Instagram sees it, with
// schedule_post's field paths.
func TestCheck(t *testing.T) {
	s, err := scheduler.New(scheduler.Config{Store: nopStore{}, Accounts: resolver{}, Publisher: publish.New(nil)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []struct {
		name, kind, post string
		at               time.Time
		field            string
	}{
		{"unknown kind", "tweet", `{}`, now.Add(time.Hour), "kind"},
		{"long caption", "post", `{"image_url":"https://e.x/a.jpg","caption":"` + strings.Repeat("a", 2201) + `"}`, now.Add(time.Hour), "post.caption"},
		{"no image", "post", `{}`, now.Add(time.Hour), "post.image_url"},
		{"carousel item", "carousel", `{"items":[{"image_url":"https://e.x/a.jpg"},{"image_url":"ftp://e.x/b.jpg"}]}`, now.Add(time.Hour), "post.items[1].image_url"},
		{"unknown field", "post", `{"image_url":"https://e.x/a.jpg","wait_seconds":5}`, now.Add(time.Hour), "post.wait_seconds"},
		{"not an object", "reel", `"x"`, now.Add(time.Hour), "post"},
		{"past", "post", `{"image_url":"https://e.x/a.jpg"}`, now.Add(-2 * time.Minute), "publish_at"},
		{"no time", "post", `{"image_url":"https://e.x/a.jpg"}`, time.Time{}, "publish_at"},
		{"beyond 75 days", "post", `{"image_url":"https://e.x/a.jpg"}`, now.Add(75*24*time.Hour + time.Minute), "publish_at"},
		{"in 3000", "post", `{"image_url":"https://e.x/a.jpg"}`, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), "publish_at"},
		{"file never opened", "reel", `{"file_path":"/proc/self/fd/0"}`, now.Add(time.Hour), "post.file_path"},
		{"story tag half placed", "story", `{"image_url":"https://e.x/s.jpg","user_tags":[{"username":"a","x":0.5}]}`, now.Add(time.Hour), "post.user_tags[0]"},
	} {
		_, err := s.Check(c.kind, json.RawMessage(c.post), c.at)
		fe := failure.Classify(err)
		if fe == nil || fe.Kind != failure.InvalidInput || fe.Field != c.field {
			t.Errorf("%s: %v (field %q), want invalid_input at %s", c.name, err, fieldOf(fe), c.field)
		}
	}
	// A local file is refused even when it is a fine story: it is
	// published later, maybe by a process on another machine.
	local := filepath.Join(t.TempDir(), "story.jpg")
	if err := os.WriteFile(local, mediatest.JPEG(540, 960), 0o600); err != nil {
		t.Fatal(err)
	}
	post, _ := json.Marshal(map[string]string{"file_path": local})
	if _, err := s.Check("story", post, now.Add(time.Hour)); fieldOf(failure.Classify(err)) != "post.file_path" {
		t.Errorf("story file_path: %v", err)
	}
	if _, err := s.StartJob(context.Background(), as("a"), publish.Request{Kind: "story", Story: &publish.StoryInput{FilePath: local}}, publish.Options{}); fieldOf(failure.Classify(err)) != "file_path" {
		t.Errorf("job with file_path: %v", err)
	}
	if _, err := s.Check("story", json.RawMessage(`{"image_url":"https://e.x/s.jpg"}`), now.Add(time.Hour)); err != nil {
		t.Errorf("story by URL: %v", err)
	}
	// 75 days ahead is the last moment accepted (DefaultMaxAhead).
	if _, err := s.Check("post", json.RawMessage(`{"image_url":"https://e.x/a.jpg"}`), now.Add(75*24*time.Hour-time.Minute)); err != nil {
		t.Errorf("75 days ahead: %v", err)
	}
	// A little in the past is clock skew, not an error.
	if _, err := s.Check("post", json.RawMessage(`{"image_url":"https://e.x/a.jpg"}`), now.Add(-20*time.Second)); err != nil {
		t.Errorf("20 s in the past: %v", err)
	}
	// More kinds may come (story); these three are there from the start.
	if got := fmt.Sprint(scheduler.Kinds()); !strings.HasPrefix(got, "[post carousel reel") {
		t.Errorf("Kinds = %s", got)
	}
}

func fieldOf(fe *failure.Error) string {
	if fe == nil {
		return ""
	}
	return fe.Field
}

// Retryable failures are retried within the claim; others fail at once.
func TestRetries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		run := &stubRunner{errs: []error{failure.New(failure.Transient, "blip"), nil}}
		run2 := &stubRunner{errs: []error{failure.New(failure.MediaRejected, "no")}}
		s := e.scheduler(func(c *scheduler.Config) { c.Publisher = run })
		e.createDirect("sch_retry", e.accts[0].ID, "retry", time.Now())
		stop := start(t, s)
		if sc := e.waitFinal("sch_retry"); sc.State != store.RunPublished || run.calls.Load() != 2 {
			t.Fatalf("retried: %+v after %d calls", sc, run.calls.Load())
		}
		stop() // the next schedule is for s2 alone
		s2 := e.scheduler(func(c *scheduler.Config) { c.Publisher = run2 })
		e.createDirect("sch_noretry", e.accts[0].ID, "no retry", time.Now())
		start(t, s2)
		if sc := e.waitFinal("sch_noretry"); sc.State != store.RunFailed || sc.ErrorKind != "media_rejected" || run2.calls.Load() != 1 {
			t.Fatalf("not retryable: %+v after %d calls", sc, run2.calls.Load())
		}
	})
}

// stubRunner answers Run with errs in turn (nil: published).
type stubRunner struct {
	mu    sync.Mutex
	errs  []error
	calls atomic.Int32
}

func (r *stubRunner) Run(_ context.Context, _ *publish.Account, req publish.Request, _ publish.Options) (*publish.Result, error) {
	r.calls.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if len(r.errs) > 0 {
		err, r.errs = r.errs[0], r.errs[1:]
	}
	if err != nil {
		return nil, err
	}
	return &publish.Result{Status: publish.StatusPublished, MediaID: "m-" + req.IdempotencyKey}, nil
}

// nopStore satisfies store.Schedules for tests that never reach it.
type nopStore struct{ store.Schedules }

func TestNewRequiresDependencies(t *testing.T) {
	if _, err := scheduler.New(scheduler.Config{}); err == nil {
		t.Fatal("New without a store accepted")
	}
	a, err := scheduler.New(scheduler.Config{Store: nopStore{}, Accounts: resolver{}, Publisher: publish.New(nil)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := scheduler.New(scheduler.Config{Store: nopStore{}, Accounts: resolver{}, Publisher: publish.New(nil)})
	// Leases of two schedulers in one process must not look like one owner.
	if a.Owner() == "" || a.Owner() == b.Owner() {
		t.Fatalf("owners %q and %q", a.Owner(), b.Owner())
	}
}

// Meta is slow: the media_publish answer is lost and the request takes
// effect later, while the container still reads FINISHED. The schedule is
// published once: nothing is sent again while the post may still appear.
func TestScheduledPublish_AnswerLostAppliedLater(t *testing.T) {
	e := newEnv(t, backends()[0].location(t), fakegraph.Options{})
	e.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Nth: 1, Action: fakegraph.FaultDropThenApplyLater, ApplyAfter: 300 * time.Millisecond})
	s := e.scheduler(nil)
	start(t, s)
	sc, err := s.Schedule(context.Background(), as(e.accts[0].ID), "post", post("late answer"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitFinal(sc.ID)
	if err := e.fake.WaitLate(t.Context()); err != nil {
		t.Fatal(err)
	}
	pub := e.fake.Published(e.accts[0].ID)
	if got.State != store.RunPublished || len(pub) != 1 || got.MediaID != pub[0].ID {
		t.Fatalf("schedule %+v, posts %+v", got, pub)
	}
	e.requireOnce("late answer")
}
