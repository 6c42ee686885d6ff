package main

// Several replicas behind a plain load balancer (README "Running several
// replicas", docs/reference.md §6): three `igmcp http` processes on one
// PostgreSQL behind HAProxy (deploy/haproxy.cfg). 2026-07-28 requests go
// round-robin to any replica; 2025-era sessions stick to theirs.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/internal/mcpwire"
	"github.com/igmcp/igmcp/store"
)

// HAProxy starts with the file the repository ships.
func TestReplicas_HAProxyConfigValid(t *testing.T) {
	bin := haproxyBin(t)
	cmd := exec.Command(bin, "-c", "-f", repoRoot(t)+"/deploy/haproxy.cfg")
	cmd.Env = []string{"IGMCP_LB_BIND=127.0.0.1:8080", "IGMCP_REPLICA_1=127.0.0.1:8081",
		"IGMCP_REPLICA_2=127.0.0.1:8082", "IGMCP_REPLICA_3=127.0.0.1:8083"}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}

// replicaLog records which replica answered each request.
type replicaLog struct {
	mu  sync.Mutex
	seq []string
}

func (l *replicaLog) hook(c *mcpwire.Client) *mcpwire.Client {
	c.OnResponse = func(_ string, _ int, h http.Header) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.seq = append(l.seq, h.Get("X-Igmcp-Replica"))
	}
	return c
}

func (l *replicaLog) distinct() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, r := range l.seq {
		out[r]++
	}
	return out
}

func (l *replicaLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seq) == 0 {
		return ""
	}
	return l.seq[len(l.seq)-1]
}

// expect decodes a call's result, failing on any error.
func expect(t *testing.T, what string) func(*mcpwire.Response, error) map[string]any {
	return func(res *mcpwire.Response, err error) map[string]any {
		t.Helper()
		return mustObject(t, what, res, err)
	}
}

func mustObject(t *testing.T, what string, res *mcpwire.Response, err error) map[string]any {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if res.Error != nil {
		t.Fatalf("%s: JSON-RPC error %d %s", what, res.Error.Code, res.Error.Message)
	}
	var m map[string]any
	if err := json.Unmarshal(res.Result, &m); err != nil {
		t.Fatalf("%s: %s", what, res.Result)
	}
	return m
}

func toolCall(name string, args map[string]any) map[string]any {
	return map[string]any{"name": name, "arguments": args}
}

func structured(m map[string]any) map[string]any {
	sc, _ := m["structuredContent"].(map[string]any)
	return sc
}

// publishedCount is how many posts the fake holds with caption, and the
// media_publish requests their containers got.
func (c *cluster) publishedCount(caption string) (posts, sends int) {
	for _, a := range c.accounts {
		for _, m := range c.fake.Published(a.ID) {
			if m.Caption == caption {
				posts++
			}
		}
	}
	for _, ct := range c.fake.Containers() {
		if ct.Caption == caption {
			sends += c.fake.MediaPublishes(ct.ID)
		}
	}
	return posts, sends
}

// Everything a 2026-07-28 client does, through the load balancer with no
// stickiness, is answered by whichever replica gets it: tools, resources
// and their subscriptions, prompts, completions, jobs, tasks and the
// confirmation dialog. 2025-era sessions stick to their replica, hear of
// publishes made on others, and run tasks through the official TypeScript
// SDK.
func TestReplicas_AnyRequestAnyReplica(t *testing.T) {
	c := startCluster(t, clusterOpts{fake: fakegraph.Options{VideoProcessing: 2 * time.Second},
		env: []string{"IGMCP_CONFIRM=1", "IGMCP_TASKS=video"}})
	ctx := context.Background()
	acct := fakegraph.DefaultAccount

	t.Run("stateless requests on every replica", func(t *testing.T) {
		var log replicaLog
		cl := log.hook(c.client(mcpwire.Modern, false))
		tl := expect(t, "tools/list")(cl.Call(ctx, "tools/list", nil, nil))
		if ts, _ := tl["tools"].([]any); len(ts) < 10 {
			t.Fatalf("tools/list: %d tools", len(ts))
		}
		read := expect(t, "resources/read")(cl.Call(ctx, "resources/read", map[string]any{"uri": "igmcp://accounts"}, nil))
		if text := fmt.Sprint(read["contents"]); !strings.Contains(text, acct.ID) {
			t.Fatalf("resources/read: %v", read)
		}
		prompt := expect(t, "prompts/get")(cl.Call(ctx, "prompts/get", map[string]any{"name": "plan_week",
			"arguments": map[string]any{"topic": "launch"}}, nil))
		if msgs, _ := prompt["messages"].([]any); len(msgs) == 0 {
			t.Fatalf("prompts/get: %v", prompt)
		}
		comp := expect(t, "completion/complete")(cl.Call(ctx, "completion/complete", map[string]any{
			"ref": map[string]any{"type": "ref/prompt", "name": "plan_week"}, "argument": map[string]any{"name": "account", "value": ""}}, nil))
		// The account, by its username once this replica has learned it
		// from Instagram, by its id before.
		if v := fmt.Sprint(comp["completion"].(map[string]any)["values"]); v != "["+acct.Username+"]" && v != "["+acct.ID+"]" {
			t.Fatalf("completion: %v", comp)
		}
		post := expect(t, "create_post")(cl.Call(ctx, "tools/call", toolCall("create_post", map[string]any{
			"image_url": "https://cdn.example.com/a.jpg", "caption": "stateless post", "confirm": true}), nil))
		if structured(post)["status"] != "published" {
			t.Fatalf("create_post: %v", post)
		}
		job := expect(t, "wait: false")(cl.Call(ctx, "tools/call", toolCall("create_post", map[string]any{
			"image_url": "https://cdn.example.com/b.jpg", "caption": "stateless job", "wait": false, "confirm": true}), nil))
		jobID, _ := structured(job)["job_id"].(string)
		waitFor(t, "get_job published", func() bool {
			got := expect(t, "get_job")(cl.Call(ctx, "tools/call", toolCall("get_job", map[string]any{"job_id": jobID}), nil))
			return structured(got)["state"] == "published"
		})
		if d := log.distinct(); len(d) != 3 {
			t.Errorf("answered by %v, want all three replicas", d)
		}
		for _, caption := range []string{"stateless post", "stateless job"} {
			if posts, sends := c.publishedCount(caption); posts != 1 || sends != 1 {
				t.Errorf("%q: %d posts, %d media_publish", caption, posts, sends)
			}
		}
	})

	t.Run("confirmation answered on another replica, once", func(t *testing.T) {
		var log replicaLog
		cl := log.hook(c.client(mcpwire.Modern, false))
		cl.Elicitation = true
		args := map[string]any{"image_url": "https://cdn.example.com/c.jpg", "caption": "confirmed once", "idempotency_key": "confirmed-once"}
		first := expect(t, "round 1")(cl.Call(ctx, "tools/call", toolCall("create_post", args), nil))
		asker := log.last()
		state, _ := first["requestState"].(string)
		if first["resultType"] != "input_required" || state == "" {
			t.Fatalf("round 1: %v", first)
		}
		answer := toolCall("create_post", args)
		answer["inputResponses"] = map[string]any{"confirm": map[string]any{"action": "accept", "content": map[string]any{"confirm": true}}}
		answer["requestState"] = state
		second := expect(t, "round 2")(cl.Call(ctx, "tools/call", answer, nil))
		if structured(second)["status"] != "published" {
			t.Fatalf("round 2: %v", second)
		}
		if log.last() == asker {
			t.Errorf("both rounds went to %s; round-robin should have spread them", asker)
		}
		for range 3 { // the same answer again, whichever replica gets it
			again := expect(t, "replay")(cl.Call(ctx, "tools/call", answer, nil))
			if again["resultType"] != "input_required" {
				t.Fatalf("a replayed answer was taken: %v", again)
			}
		}
		if posts, sends := c.publishedCount("confirmed once"); posts != 1 || sends != 1 {
			t.Errorf("%d posts, %d media_publish", posts, sends)
		}
	})

	t.Run("2025 sessions stick to their replica", func(t *testing.T) {
		var log replicaLog
		cl := log.hook(c.client(mcpwire.Legacy, false))
		if _, err := cl.Initialize(ctx); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			expect(t, "tools/list")(cl.Call(ctx, "tools/list", nil, nil))
		}
		if d := log.distinct(); len(d) != 1 {
			t.Errorf("one session answered by %v", d)
		}
	})

	t.Run("2026 listen stream hears publishes on every replica", func(t *testing.T) {
		var streamLog replicaLog
		listener := streamLog.hook(c.client(mcpwire.Modern, false))
		lctx, stop := context.WithCancel(ctx)
		defer stop()
		var mu sync.Mutex
		var updates, acks int
		go func() {
			_, _ = listener.Call(lctx, "subscriptions/listen", map[string]any{"notifications": map[string]any{
				"resourceSubscriptions": []string{"igmcp://accounts"}}}, func(n mcpwire.Note) {
				mu.Lock()
				defer mu.Unlock()
				switch n.Method {
				case "notifications/subscriptions/acknowledged":
					acks++
				case "notifications/resources/updated":
					updates++
				}
			})
		}()
		count := func() (int, int) { mu.Lock(); defer mu.Unlock(); return acks, updates }
		waitFor(t, "listen acknowledged", func() bool { a, _ := count(); return a == 1 })
		var pubLog replicaLog
		pub := pubLog.hook(c.client(mcpwire.Modern, false))
		elsewhere := 0
		for i := range 3 {
			m := expect(t, "publish")(pub.Call(ctx, "tools/call", toolCall("create_post", map[string]any{
				"image_url": "https://cdn.example.com/l.jpg", "caption": fmt.Sprintf("heard %d", i), "confirm": true}), nil))
			if structured(m)["status"] != "published" {
				t.Fatalf("publish: %v", m)
			}
			if pubLog.last() != streamLog.last() {
				elsewhere++
			}
			waitFor(t, fmt.Sprintf("update %d", i+1), func() bool { _, u := count(); return u >= i+1 })
		}
		if elsewhere == 0 {
			t.Errorf("every publish landed on the stream's replica %s", streamLog.last())
		}
	})

	t.Run("2025 subscription hears publishes on other replicas", func(t *testing.T) {
		tr, err := transport.NewStreamableHTTP(c.url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + lbToken}),
			transport.WithContinuousListening(), transport.WithHTTPBasicClient(c.http))
		if err != nil {
			t.Fatal(err)
		}
		mc := client.NewClient(tr, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
		var mu sync.Mutex
		updates := 0
		mc.OnNotification(func(n mcp.JSONRPCNotification) {
			if n.Method == string(mcp.MethodNotificationResourceUpdated) {
				mu.Lock()
				updates++
				mu.Unlock()
			}
		})
		if err := mc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer mc.Close()
		if _, err := initialize(ctx, mc, "lb-test"); err != nil {
			t.Fatal(err)
		}
		sub := mcp.SubscribeRequest{}
		sub.Params.URI = "igmcp://accounts"
		if err := mc.Subscribe(ctx, sub); err != nil {
			t.Fatal(err)
		}
		pub := c.client(mcpwire.Modern, false)
		for i := range 3 { // round-robin: at least two land on other replicas
			expect(t, "publish")(pub.Call(ctx, "tools/call", toolCall("create_post", map[string]any{
				"image_url": "https://cdn.example.com/s.jpg", "caption": fmt.Sprintf("session heard %d", i), "confirm": true}), nil))
			waitFor(t, fmt.Sprintf("update %d", i+1), func() bool { mu.Lock(); defer mu.Unlock(); return updates >= i+1 })
		}
	})

	t.Run("2026 task answered by any replica", func(t *testing.T) {
		var log replicaLog
		cl := log.hook(c.client(mcpwire.Modern, true))
		created := expect(t, "publish_reel")(cl.Call(ctx, "tools/call", toolCall("publish_reel", map[string]any{
			"video_url": "https://cdn.example.com/r.mp4", "caption": "reel task", "confirm": true}), nil))
		id, _ := created["taskId"].(string)
		if created["resultType"] != "task" || id == "" {
			t.Fatalf("create: %v", created)
		}
		var final map[string]any
		waitFor(t, "task done", func() bool {
			final = expect(t, "tasks/get")(cl.Call(ctx, "tasks/get", map[string]any{"taskId": id}, nil))
			return final["status"] != "working"
		})
		if final["status"] != "completed" || structured(final["result"].(map[string]any))["status"] != "published" {
			t.Fatalf("task: %v", final)
		}
		if d := log.distinct(); len(d) < 2 {
			t.Errorf("the task was answered by %v only", d)
		}
		if posts, sends := c.publishedCount("reel task"); posts != 1 || sends != 1 {
			t.Errorf("%d posts, %d media_publish", posts, sends)
		}
	})

	t.Run("official TypeScript SDK, 2025-11-25 tasks", func(t *testing.T) {
		runTSSDKTasks(t, c)
	})
}

// waitFor polls cond until it holds; the deadline is a hang guard.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A task outlives the replica running its job: SIGKILLed while Instagram
// processes the Reel, another replica takes the job over (the same
// container, resumed through the ledger) and the task completes, polled
// through the load balancer, in both forms; one post each, one
// media_publish each. A 2025 session that lived on the killed replica is
// answered 404 and starts a new one.
func TestReplicas_TaskSurvivesKill(t *testing.T) {
	c := startCluster(t, clusterOpts{fake: fakegraph.Options{VideoProcessing: 6 * time.Second}, env: []string{"IGMCP_TASKS=video"}})
	ctx := context.Background()

	// One 2025 session per replica (round-robin), to find the victim's.
	sessions := map[string]*mcpwire.Client{}
	for len(sessions) < 3 {
		var log replicaLog
		cl := log.hook(c.client(mcpwire.Legacy, false))
		if _, err := cl.Initialize(ctx); err != nil {
			t.Fatal(err)
		}
		sessions[log.last()] = cl
	}

	modern := c.client(mcpwire.Modern, true)
	created := expect(t, "2026 task")(modern.Call(ctx, "tools/call", toolCall("publish_reel", map[string]any{
		"video_url": "https://cdn.example.com/k1.mp4", "caption": "survives 2026"}), nil))
	modernID, _ := created["taskId"].(string)
	legacy := sessions["r1"]
	params := toolCall("publish_reel", map[string]any{"video_url": "https://cdn.example.com/k2.mp4", "caption": "survives 2025"})
	params["task"] = map[string]any{}
	legacyCreated := expect(t, "2025 task")(legacy.Call(ctx, "tools/call", params, nil))
	legacyID, _ := legacyCreated["task"].(map[string]any)["taskId"].(string)
	if modernID == "" || legacyID == "" {
		t.Fatalf("tasks: %v / %v", created, legacyCreated)
	}

	// Kill the replica running the 2026 task's job, mid-processing.
	var victim *replica
	waitFor(t, "the job claimed", func() bool {
		victim = c.leaseHolder(modernID)
		if victim == nil {
			return false
		}
		_, led := c.ledgerOf(modernID)
		return led.State == store.PublishContainerCreated
	})
	victim.kill(t)
	t.Logf("killed %s, which held %s", victim.name, modernID)

	// Its 2025 session is gone: 404, a new session on a live replica. In
	// the moment the replica dies HAProxy may still drop or fail a request
	// it had sent there (no answer, or a 5xx): a client retries those, as
	// an agent would; what it must never get is an answer from the session.
	orphan := sessions[victim.name]
	for dropped := 0; ; dropped++ {
		out, err := orphan.Call(ctx, "tools/list", nil, nil)
		if errors.Is(err, mcpwire.ErrSessionGone) {
			t.Logf("the dead replica's session answered 404 after %d dropped attempts", dropped)
			break
		}
		if err == nil || (out != nil && out.Status < 500) || dropped == 20 {
			t.Fatalf("the dead replica's session answered %+v, %v; want 404", out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := orphan.Initialize(ctx); err != nil {
		t.Fatalf("re-initialize: %v", err)
	}
	expect(t, "tools/list on the new session")(orphan.Call(ctx, "tools/list", nil, nil))

	// Tasks belong to the token, not the session: the new session polls
	// the 2025 task.
	for _, tc := range []struct {
		cl      *mcpwire.Client
		id      string
		caption string
	}{{modern, modernID, "survives 2026"}, {orphan, legacyID, "survives 2025"}} {
		cl := tc.cl
		var final map[string]any
		waitFor(t, tc.caption+" completed", func() bool {
			final = expect(t, "tasks/get")(cl.Call(ctx, "tasks/get", map[string]any{"taskId": tc.id}, nil))
			return final["status"] != "working"
		})
		if final["status"] != "completed" {
			t.Errorf("%s: %v", tc.caption, final)
		}
		if posts, sends := c.publishedCount(tc.caption); posts != 1 || sends != 1 {
			t.Errorf("%s: %d posts, %d media_publish; want 1 and 1", tc.caption, posts, sends)
		}
	}
	sc, led := c.ledgerOf(modernID)
	if sc.Attempts < 1 || led.State != store.PublishPublished {
		t.Errorf("the killed job: attempts %d, ledger %s; want a recovered lease and a published record", sc.Attempts, led.State)
	}
	containers := 0
	for _, ct := range c.fake.Containers() {
		if ct.Caption == "survives 2026" {
			containers++
		}
	}
	if containers != 1 {
		t.Errorf("%d containers for the killed job, want 1 (resumed, not redone)", containers)
	}
}

// ledgerOf is a job's row and its publish's ledger record.
func (c *cluster) ledgerOf(id string) (store.Schedule, store.Publish) {
	sc, err := c.st.GetSchedule(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	led, _ := c.st.GetPublish(context.Background(), sc.AccountID, sc.IdempotencyKey)
	return sc, led
}
