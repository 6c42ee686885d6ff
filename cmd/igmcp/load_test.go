package main

// A load of MCP clients of both protocol eras on the cluster, one replica
// SIGKILLed midway: the correctness test (.ci/run) and the benchmark
// (README "Running several replicas") run the same driver at two sizes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/internal/mcpwire"
	"github.com/igmcp/igmcp/store"
)

type loadConfig struct {
	clients   int // half 2026-07-28 (stateless), half 2025-11-25 (sessions)
	calls     int // scheduled calls, publishes and task creations included
	publishes int // create_post, each with its own idempotency key
	reels     int // task-augmented publish_reel, half in each form
	accounts  int
	kill      bool // SIGKILL one replica once half the calls are done
	fake      fakegraph.Options
	// callDeadline bounds one call with its retries.
	callDeadline time.Duration
}

// op is one scheduled call.
type op struct {
	kind    string // the tool or method
	account string
	caption string
}

type loadReport struct {
	cfg                 loadConfig
	wall                time.Duration
	calls, taskPolls    int
	failedCalls         []string
	postsLost, postsDup []string
	// extraSends: media_publish sent for a container after a send Instagram
	// acted on (a second post under a worst-case Graph API); resends:
	// those after sends that never reached it (their replica died before
	// the fake acted), which the send-grace rule allows once the container
	// read FINISHED for the whole grace; notReady: "not ready" refusals.
	extraSends, resends, notReady int
	tasksLost                     []string
	latency                       map[string][]time.Duration
	retries                       map[string]int
	peakKiB                       map[string]int
	killed                        string
	killedAt                      int
}

// loadRun drives one load on a fresh cluster.
type loadRun struct {
	cfg   loadConfig
	c     *cluster
	accts []fakegraph.Account

	mu        sync.Mutex
	latency   map[string][]time.Duration
	retries   map[string]int
	failed    []string
	taskIDs   map[string]string // caption → task id
	taskFinal map[string]map[string]any
	done      atomic.Int64
	polls     atomic.Int64
}

func runLoad(tb testing.TB, cfg loadConfig) *loadReport {
	tb.Helper()
	accts := make([]fakegraph.Account, cfg.accounts)
	for i := range accts {
		accts[i] = fakegraph.Account{ID: fmt.Sprintf("178414300000%05d", i+1), Username: fmt.Sprintf("load_%02d", i+1), Token: fmt.Sprintf("EAAload%02dToken", i+1)}
	}
	cfg.fake.Accounts = accts
	if cfg.fake.QuotaTotal == 0 {
		cfg.fake.QuotaTotal = 100000
	}
	c := startCluster(tb, clusterOpts{fake: cfg.fake, env: []string{"IGMCP_TASKS=video",
		"IGMCP_SCHEDULER_CONCURRENCY=64"}})
	r := &loadRun{cfg: cfg, c: c, accts: accts, latency: map[string][]time.Duration{}, retries: map[string]int{},
		taskIDs: map[string]string{}, taskFinal: map[string]map[string]any{}}

	ops := r.schedule()
	queue := make(chan op, len(ops))
	for _, o := range ops {
		queue <- o
	}
	close(queue)

	// Peak memory: VmHWM of each replica, sampled while it lives.
	peak := map[string]int{}
	var peakMu sync.Mutex
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			peakMu.Lock()
			for _, rp := range c.replicas {
				if kib := rp.peakRSS(); kib > peak[rp.name] {
					peak[rp.name] = kib
				}
			}
			peakMu.Unlock()
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
			}
		}
	}()

	var killed string
	var killedAt int
	var killOnce sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.clients {
		version := mcpwire.Modern
		if i%2 == 1 {
			version = mcpwire.Legacy
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := c.client(version, true)
			for o := range queue {
				r.run(tb, cl, o)
				if n := r.done.Add(1); cfg.kill && int(n) >= cfg.calls/2 {
					killOnce.Do(func() {
						v := r.victim()
						peakMu.Lock()
						if kib := v.peakRSS(); kib > peak[v.name] {
							peak[v.name] = kib
						}
						peakMu.Unlock()
						v.kill(tb)
						killed, killedAt = v.name, int(n)
					})
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	stopSampling()
	<-sampled

	rep := &loadReport{cfg: cfg, wall: wall, calls: int(r.done.Load()), taskPolls: int(r.polls.Load()), failedCalls: r.failed,
		latency: r.latency, retries: r.retries, peakKiB: peak, killed: killed, killedAt: killedAt}
	r.verify(rep, ops)
	return rep
}

// schedule is the fixed, seeded mix of calls.
func (r *loadRun) schedule() []op {
	cfg := r.cfg
	rng := rand.New(rand.NewPCG(13, 2026))
	var ops []op
	acct := func(i int) string { return r.accts[i%len(r.accts)].Username }
	for i := range cfg.publishes {
		ops = append(ops, op{kind: "create_post", account: acct(i), caption: fmt.Sprintf("load post %04d", i)})
	}
	for i := range cfg.reels {
		ops = append(ops, op{kind: "publish_reel", account: acct(i), caption: fmt.Sprintf("load reel %04d", i)})
	}
	reads := []string{"tools/list", "resources/read", "get_publishing_limit", "list_media", "prompts/get", "get_container_status"}
	for i := len(ops); i < cfg.calls; i++ {
		ops = append(ops, op{kind: reads[rng.IntN(len(reads))], account: acct(i)})
	}
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	return ops
}

// victim is the replica holding the most publishing leases (r2 when none
// does): the kill should cut work in flight.
func (r *loadRun) victim() *replica {
	ss, _ := r.c.st.ListSchedules(context.Background(), store.ScheduleFilter{States: []store.RunState{store.RunPublishing}})
	count := map[*replica]int{}
	best := r.c.byName("r2")
	for _, sc := range ss {
		if rp := r.c.leaseHolder(sc.ID); rp != nil {
			count[rp]++
			if count[rp] > count[best] {
				best = rp
			}
		}
	}
	return best
}

func (r *loadRun) record(kind string, d time.Duration, retries int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency[kind] = append(r.latency[kind], d)
	r.retries[kind] += retries
}

func (r *loadRun) fail(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, what)
}

// run makes one scheduled call, retried as an agent would: the same
// arguments (the same idempotency key), after a transport failure, a 5xx
// of the load balancer, a session gone (a new session first), or a
// retryable tool error; up to the call deadline.
func (r *loadRun) run(tb testing.TB, cl *mcpwire.Client, o op) {
	var method string
	var params map[string]any
	switch o.kind {
	case "tools/list":
		method = o.kind
	case "resources/read":
		method, params = o.kind, map[string]any{"uri": "igmcp://accounts"}
	case "prompts/get":
		method, params = o.kind, map[string]any{"name": "plan_week", "arguments": map[string]any{"topic": "load", "account": o.account}}
	case "get_container_status":
		method, params = "tools/call", toolCall(o.kind, map[string]any{"account": o.account, "container_id": "1"})
	case "create_post":
		method, params = "tools/call", toolCall(o.kind, map[string]any{"account": o.account, "caption": o.caption,
			"image_url": "https://cdn.example.com/" + strings.ReplaceAll(o.caption, " ", "-") + ".jpg", "idempotency_key": o.caption})
	case "publish_reel":
		method, params = "tools/call", toolCall(o.kind, map[string]any{"account": o.account, "caption": o.caption,
			"video_url": "https://cdn.example.com/" + strings.ReplaceAll(o.caption, " ", "-") + ".mp4", "idempotency_key": o.caption})
		if cl.Version == mcpwire.Legacy {
			params["task"] = map[string]any{}
		}
	default:
		method, params = "tools/call", toolCall(o.kind, map[string]any{"account": o.account})
	}
	kind := o.kind + " (" + cl.Version + ")"
	start := time.Now()
	res, retries, err := r.call(cl, method, params, o.kind == "get_container_status")
	r.record(kind, time.Since(start), retries)
	if err != nil {
		r.fail(fmt.Sprintf("%s %s: %v", kind, o.caption, err))
		return
	}
	if o.kind == "publish_reel" {
		r.followTask(cl, o, res)
	}
}

// call makes one call with retries; expectError accepts a tool error (a
// read of a container that does not exist).
func (r *loadRun) call(cl *mcpwire.Client, method string, params map[string]any, expectError bool) (map[string]any, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.callDeadline)
	defer cancel()
	retries := 0
	for {
		if cl.Version == mcpwire.Legacy && cl.Session() == "" {
			if _, err := cl.Initialize(ctx); err != nil {
				if !r.wait(ctx, &retries, time.Second) {
					return nil, retries, fmt.Errorf("initialize: %w", err)
				}
				continue
			}
		}
		res, err := cl.Call(ctx, method, params, nil)
		switch {
		case errors.Is(err, mcpwire.ErrSessionGone):
			_, _ = cl.Initialize(ctx)
			retries++
			continue
		case err != nil || res.Status >= 500:
			if !r.wait(ctx, &retries, 500*time.Millisecond) {
				return nil, retries, fmt.Errorf("after %d retries: %v (HTTP %d)", retries, err, statusOf(res))
			}
			continue
		case res.Error != nil:
			return nil, retries, res.Error
		}
		var m map[string]any
		if err := json.Unmarshal(res.Result, &m); err != nil {
			return nil, retries, err
		}
		if m["isError"] == true && !expectError {
			fe, _ := structured(m)["error"].(map[string]any)
			if fe["retryable"] == true || fe["kind"] == "outcome_unknown" {
				after, _ := fe["retry_after_seconds"].(float64)
				if r.wait(ctx, &retries, max(time.Duration(after)*time.Second, time.Second)) {
					continue
				}
			}
			return nil, retries, fmt.Errorf("tool error %v", fe)
		}
		return m, retries, nil
	}
}

func statusOf(res *mcpwire.Response) int {
	if res == nil {
		return 0
	}
	return res.Status
}

func (r *loadRun) wait(ctx context.Context, retries *int, d time.Duration) bool {
	*retries++
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// followTask polls the task a Reel became until it is over.
func (r *loadRun) followTask(cl *mcpwire.Client, o op, created map[string]any) {
	id, _ := created["taskId"].(string)
	if task, ok := created["task"].(map[string]any); ok {
		id, _ = task["taskId"].(string)
	}
	if id == "" {
		r.fail(fmt.Sprintf("%s: no task: %v", o.caption, created))
		return
	}
	r.mu.Lock()
	r.taskIDs[o.caption] = id
	r.mu.Unlock()
	deadline := time.Now().Add(r.cfg.callDeadline)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		start := time.Now()
		task, retries, err := r.call(cl, "tasks/get", map[string]any{"taskId": id}, false)
		r.record("tasks/get ("+cl.Version+")", time.Since(start), retries)
		r.polls.Add(1)
		if err != nil {
			continue
		}
		if task["status"] != "working" {
			r.mu.Lock()
			r.taskFinal[o.caption] = task
			r.mu.Unlock()
			return
		}
	}
}

// verify checks the outcome against Instagram (the fake): every publish
// and every task's Reel live exactly once, no container sent twice, every
// task over with the media that went live.
func (r *loadRun) verify(rep *loadReport, ops []op) {
	live := map[string][]string{} // caption → media ids
	for _, a := range r.accts {
		for _, m := range r.c.fake.Published(a.ID) {
			live[m.Caption] = append(live[m.Caption], m.ID)
		}
	}
	acted := map[string]bool{} // container id → a media_publish took effect
	for _, c := range r.c.fake.Calls() {
		if c.Method != http.MethodPost || !strings.HasSuffix(c.Path, "/media_publish") {
			continue
		}
		id := c.Params.Get("creation_id")
		switch {
		case acted[id]:
			rep.extraSends++
		case c.ErrorCode == 9007 || c.ErrorSubcode == 2207027:
			rep.notReady++ // an image is tried at once (no read-after-write)
		case c.Aborted:
			rep.resends++ // counted here; the next send is the resend
		default:
			acted[id] = true
		}
	}
	for _, o := range ops {
		if o.caption == "" {
			continue
		}
		switch n := len(live[o.caption]); {
		case n == 0:
			rep.postsLost = append(rep.postsLost, o.caption)
		case n > 1:
			rep.postsDup = append(rep.postsDup, o.caption)
		}
		if o.kind != "publish_reel" {
			continue
		}
		task := r.taskFinal[o.caption]
		res, _ := task["result"].(map[string]any)
		media, _ := structured(res)["media_id"].(string)
		if task["status"] == "cancelled" || task["status"] == "failed" {
			rep.tasksLost = append(rep.tasksLost, fmt.Sprintf("%s: %v", o.caption, task["status"]))
			continue
		}
		if task == nil {
			rep.tasksLost = append(rep.tasksLost, o.caption+": never finished")
			continue
		}
		if res == nil { // 2025: the result comes from tasks/result
			if media = r.taskResultMedia(r.taskIDs[o.caption]); media == "" {
				rep.tasksLost = append(rep.tasksLost, o.caption+": no result")
				continue
			}
		}
		if !slices.Contains(live[o.caption], media) {
			rep.tasksLost = append(rep.tasksLost, fmt.Sprintf("%s: result media %q is not the live one %v", o.caption, media, live[o.caption]))
		}
	}
}

// taskResultMedia reads a 2025 task's result (tasks/result, a new
// session) and returns its media id.
func (r *loadRun) taskResultMedia(id string) string {
	cl := r.c.client(mcpwire.Legacy, false)
	res, _, err := r.call(cl, "tasks/result", map[string]any{"taskId": id}, false)
	if err != nil {
		return ""
	}
	m, _ := structured(res)["media_id"].(string)
	return m
}

// table is the report as a Markdown table (README "Running several
// replicas").
func (rep *loadReport) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d clients, %d calls (%d publishes, %d task-augmented Reels) + %d tasks/get polls in %s; killed %s after %d calls\n\n",
		rep.cfg.clients, rep.calls, rep.cfg.publishes, rep.cfg.reels, rep.taskPolls, rep.wall.Round(time.Second), rep.killed, rep.killedAt)
	fmt.Fprintf(&b, "posts lost %d, duplicated %d, media_publish after one Instagram acted on %d (sent again after a send that never reached it %d, refused as not ready %d), tasks lost %d, calls failed after retries %d\n\n",
		len(rep.postsLost), len(rep.postsDup), rep.extraSends, rep.resends, rep.notReady, len(rep.tasksLost), len(rep.failedCalls))
	b.WriteString("| call (era) | n | p50 | p99 | retries |\n|---|---|---|---|---|\n")
	var kinds []string
	for k := range rep.latency {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		ds := slices.Clone(rep.latency[k])
		slices.Sort(ds)
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %d |\n", k, len(ds), pct(ds, 50), pct(ds, 99), rep.retries[k])
	}
	b.WriteString("\n| replica | peak RSS (VmHWM) |\n|---|---|\n")
	var names []string
	for n := range rep.peakKiB {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		note := ""
		if n == rep.killed {
			note = " (SIGKILLed; last sample)"
		}
		fmt.Fprintf(&b, "| %s | %.1f MiB%s |\n", n, float64(rep.peakKiB[n])/1024, note)
	}
	return b.String()
}

func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	return sorted[i].Round(time.Millisecond).String()
}

// requireClean fails on any lost or doubled post, lost task, or call that
// failed after its retries.
func (rep *loadReport) requireClean(tb testing.TB) {
	tb.Helper()
	if len(rep.postsLost)+len(rep.postsDup)+len(rep.tasksLost)+len(rep.failedCalls) > 0 || rep.extraSends > 0 {
		tb.Errorf("lost %v\nduplicated %v\nmedia_publish after one Instagram acted on %d\ntasks lost %v\nfailed calls %v",
			rep.postsLost, rep.postsDup, rep.extraSends, rep.tasksLost, first(rep.failedCalls, 20))
	}
}

func first(xs []string, n int) []string {
	if len(xs) > n {
		return xs[:n]
	}
	return xs
}

// A few hundred calls of both eras on three replicas behind HAProxy, one
// replica SIGKILLed midway: no post lost or doubled, no task lost, no call
// failed after an agent's retries. (BenchmarkReplicas is the full size.)
func TestReplicas_LoadWithKill(t *testing.T) {
	rep := runLoad(t, loadConfig{clients: 40, calls: 300, publishes: 40, reels: 12, accounts: 3, kill: true,
		fake:         fakegraph.Options{Latency: 10 * time.Millisecond, VideoProcessing: 3 * time.Second},
		callDeadline: 2 * time.Minute})
	t.Logf("\n%s", rep.table())
	if rep.killed == "" {
		t.Error("no replica was killed")
	}
	rep.requireClean(t)
}
