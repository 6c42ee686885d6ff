package taskfront_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/internal/mcpwire"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/taskfront"
)

func reel(caption string) map[string]any {
	return map[string]any{"name": "publish_reel", "arguments": map[string]any{
		"video_url": "https://cdn.example.com/" + strings.ReplaceAll(caption, " ", "-") + ".mp4", "caption": caption}}
}

// reelTask publishes a Reel as a task in the protocol form of version,
// through a new client of p, and returns the client and the task id.
func reelTask(t *testing.T, p *replica, version, caption string) (*mcpwire.Client, string) {
	t.Helper()
	c := p.client(version, version == mcpwire.Modern)
	if _, err := c.Initialize(context.Background()); err != nil {
		t.Fatal(err)
	}
	params := reel(caption)
	if version == mcpwire.Legacy {
		params["task"] = map[string]any{}
	}
	created := object(t, call(t, c, "tools/call", params))
	id, _ := created["taskId"].(string)
	if task, ok := created["task"].(map[string]any); ok {
		id, _ = task["taskId"].(string)
	}
	if id == "" {
		t.Fatalf("no task: %v", created)
	}
	return c, id
}

// A 2026-07-28 client declaring the Tasks extension gets a task for a
// Reel, created on one replica and answered by another from the store:
// working, then completed with exactly what publish_reel would have
// returned; one post, one media_publish.
func TestModernTaskAcrossReplicas(t *testing.T) {
	r := newRig(t, fakegraph.Options{VideoProcessing: 300 * time.Millisecond})
	a, b := r.replica(taskfront.PolicyVideo), r.replica(taskfront.PolicyVideo)
	ca, cb := a.client(mcpwire.Modern, true), b.client(mcpwire.Modern, true)

	created := object(t, call(t, ca, "tools/call", reel("modern task")))
	id, _ := created["taskId"].(string)
	if created["resultType"] != "task" || !strings.HasPrefix(id, "job_") || created["status"] != "working" ||
		created["ttlMs"] != float64(24*time.Hour/time.Millisecond) || created["pollIntervalMs"] != float64(5000) ||
		created["createdAt"] == nil || created["lastUpdatedAt"] == nil {
		t.Fatalf("CreateTaskResult: %v", created)
	}
	if _, has := created["result"]; has {
		t.Errorf("a CreateTaskResult carries a result: %v", created)
	}
	done := poll(t, cb, id, func(m map[string]any) bool { return m["status"] != "working" })
	if done["status"] != "completed" || done["resultType"] != "complete" {
		t.Fatalf("final task: %v", done)
	}
	res, _ := done["result"].(map[string]any)
	sc, _ := res["structuredContent"].(map[string]any)
	if res["isError"] == true || sc["status"] != "published" || sc["media_id"] == nil || sc["job_id"] != nil {
		t.Fatalf("task result: %v", res)
	}
	if !strings.Contains(done["statusMessage"].(string), sc["media_id"].(string)) {
		t.Errorf("status message %q does not name the media", done["statusMessage"])
	}
	if posts, sends := r.published("modern task"); posts != 1 || sends != 1 {
		t.Errorf("%d posts, %d media_publish; want 1 and 1", posts, sends)
	}
	// The task is the job: get_job tells the same (once the job's row
	// records what the ledger already says).
	deadline := time.Now().Add(60 * time.Second)
	for {
		job := object(t, call(t, cb, "tools/call", map[string]any{"name": "get_job", "arguments": map[string]any{"job_id": id}}))
		js, _ := job["structuredContent"].(map[string]any)
		if js["state"] == "published" {
			break
		}
		if js["state"] != "publishing" || time.Now().After(deadline) {
			t.Fatalf("get_job: %v", job)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The server decides for 2026-07-28 clients: with the default policy an
// image post is answered at once, a video Story becomes a task; with
// PolicyAlways the image too. A client without the extension never gets
// a task.
func TestModernPolicy(t *testing.T) {
	r := newRig(t, fakegraph.Options{VideoProcessing: 100 * time.Millisecond})
	video, always := r.replica(taskfront.PolicyVideo), r.replica(taskfront.PolicyAlways)
	image := map[string]any{"name": "create_post", "arguments": map[string]any{"image_url": "https://cdn.example.com/p.jpg", "caption": "at once"}}
	story := map[string]any{"name": "publish_story", "arguments": map[string]any{"video_url": "https://cdn.example.com/s.mp4"}}
	for _, tc := range []struct {
		name   string
		c      *mcpwire.Client
		params map[string]any
		task   bool
	}{
		{"image, video policy", video.client(mcpwire.Modern, true), image, false},
		{"video story, video policy", video.client(mcpwire.Modern, true), story, true},
		{"image, always", always.client(mcpwire.Modern, true), image, true},
		{"reel, no extension", always.client(mcpwire.Modern, false), reel("no extension"), false},
	} {
		got := object(t, call(t, tc.c, "tools/call", tc.params))
		if isTask := got["resultType"] == "task"; isTask != tc.task {
			t.Errorf("%s: task %v, want %v: %v", tc.name, isTask, tc.task, got)
		}
	}
}

// Protocol errors of the extension: tasks/result and tasks/list are gone
// (-32601, 404); a client that did not declare the extension is -32021;
// wrong routing headers are -32020; unknown ids and another token's tasks
// are the same -32602.
func TestModernErrors(t *testing.T) {
	r := newRig(t, fakegraph.Options{VideoProcessing: 100 * time.Millisecond})
	p := r.replica(taskfront.PolicyVideo)
	c := p.client(mcpwire.Modern, true)
	discover := object(t, call(t, c, "server/discover", nil))
	if ext, _ := discover["capabilities"].(map[string]any)["extensions"].(map[string]any); ext["io.modelcontextprotocol/tasks"] == nil {
		t.Errorf("server/discover does not advertise the Tasks extension: %v", discover["capabilities"])
	}
	id := object(t, call(t, c, "tools/call", reel("errors")))["taskId"].(string)

	wantError(t, "tasks/result", call(t, c, "tasks/result", map[string]any{"taskId": id}), -32601, 404)
	wantError(t, "tasks/list", call(t, c, "tasks/list", nil), -32601, 404)
	wantError(t, "no extension", call(t, p.client(mcpwire.Modern, false), "tasks/get", map[string]any{"taskId": id}), -32021, 400)
	wantError(t, "unknown id", call(t, c, "tasks/get", map[string]any{"taskId": "job_unknown"}), -32602, 400)
	other := p.client(mcpwire.Modern, true)
	other.Token = tokenB
	wantError(t, "another token's task", call(t, other, "tasks/get", map[string]any{"taskId": id}), -32602, 400)
	wantError(t, "another token's cancel", call(t, other, "tasks/cancel", map[string]any{"taskId": id}), -32602, 400)

	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":9,"method":"tasks/get","params":{"taskId":%q,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}}}`, id)
	for name, h := range map[string]map[string]string{
		"Mcp-Name of another task": {"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tasks/get", "Mcp-Name": "job_other"},
		"no Mcp-Method":            {"Mcp-Protocol-Version": "2026-07-28", "Mcp-Name": id},
	} {
		status, out := rawPost(t, p.url, h, body)
		if status != 400 || !strings.Contains(out, "-32020") {
			t.Errorf("%s: HTTP %d %s", name, status, out)
		}
	}
	// Task notifications asked for without the extension: -32021.
	listen := p.client(mcpwire.Modern, false)
	wantError(t, "listen for tasks without the extension", call(t, listen, "subscriptions/listen",
		map[string]any{"notifications": map[string]any{"taskIds": []string{id}}}), -32021, 400)
	// tasks/update: nothing is ever outstanding; acknowledged.
	ack := object(t, call(t, c, "tasks/update", map[string]any{"taskId": id, "inputResponses": map[string]any{"x": map[string]any{}}}))
	if ack["resultType"] != "complete" {
		t.Errorf("tasks/update: %v", ack)
	}
}

// The 2025-11-25 form through a session: the capability and the tools'
// taskSupport, a task-augmented call, tasks/result held open with the
// task's progress on the call's progress token until the result, then
// tasks/get, tasks/list, and a refused cancel of the finished task.
func TestLegacyTaskLifecycle(t *testing.T) {
	r := newRig(t, fakegraph.Options{VideoProcessing: 600 * time.Millisecond})
	p := r.replica(taskfront.PolicyVideo)
	c := p.client(mcpwire.Legacy, false)
	ctx := context.Background()
	init, err := c.Initialize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	caps := object(t, init)["capabilities"].(map[string]any)
	tc, _ := caps["tasks"].(map[string]any)
	if tc["list"] == nil || tc["cancel"] == nil || tc["requests"].(map[string]any)["tools"].(map[string]any)["call"] == nil {
		t.Fatalf("tasks capability: %v", caps)
	}
	list := object(t, call(t, c, "tools/list", nil))
	support := map[string]string{}
	for _, raw := range list["tools"].([]any) {
		tl := raw.(map[string]any)
		if ex, ok := tl["execution"].(map[string]any); ok {
			support[tl["name"].(string)] = ex["taskSupport"].(string)
		}
	}
	if fmt.Sprint(support) != "map[create_carousel:optional create_post:optional publish_reel:optional publish_story:optional]" {
		t.Errorf("taskSupport: %v", support)
	}

	params := reel("legacy task")
	params["task"] = map[string]any{"ttl": 60000}
	params["_meta"] = map[string]any{"progressToken": "p-1"}
	created := object(t, call(t, c, "tools/call", params))
	task, _ := created["task"].(map[string]any)
	id, _ := task["taskId"].(string)
	meta, _ := created["_meta"].(map[string]any)
	if !strings.HasPrefix(id, "job_") || task["status"] != "working" || task["ttl"] != float64(time.Hour/time.Millisecond) ||
		task["pollInterval"] != float64(5000) || meta["io.modelcontextprotocol/model-immediate-response"] == nil {
		t.Fatalf("CreateTaskResult: %v", created)
	}

	res := call(t, c, "tasks/result", map[string]any{"taskId": id})
	out := object(t, res)
	sc, _ := out["structuredContent"].(map[string]any)
	rel, _ := out["_meta"].(map[string]any)["io.modelcontextprotocol/related-task"].(map[string]any)
	if sc["status"] != "published" || rel["taskId"] != id {
		t.Fatalf("tasks/result: %v", out)
	}
	var progress, statuses int
	for _, n := range res.Notes {
		switch n.Method {
		case "notifications/progress":
			var p struct {
				Token    string  `json:"progressToken"`
				Progress float64 `json:"progress"`
				Message  string  `json:"message"`
			}
			_ = json.Unmarshal(n.Params, &p)
			if p.Token != "p-1" || p.Progress <= float64(progress) || p.Message == "" {
				t.Errorf("progress notification %s", n.Params)
			}
			progress = int(p.Progress)
		case "notifications/tasks/status":
			statuses++
		}
	}
	if progress < 2 || statuses < 2 {
		t.Errorf("tasks/result carried %d progress and %d status notifications, want the working and the final one at least", progress, statuses)
	}
	got := object(t, call(t, c, "tasks/get", map[string]any{"taskId": id}))
	if got["status"] != "completed" || got["resultType"] != nil {
		t.Errorf("tasks/get: %v", got)
	}
	listed := object(t, call(t, c, "tasks/list", nil))
	if ts, _ := listed["tasks"].([]any); len(ts) != 1 || ts[0].(map[string]any)["taskId"] != id {
		t.Errorf("tasks/list: %v", listed)
	}
	wantError(t, "cancel of a completed task", call(t, c, "tasks/cancel", map[string]any{"taskId": id}), -32602, 0)
	if posts, sends := r.published("legacy task"); posts != 1 || sends != 1 {
		t.Errorf("%d posts, %d media_publish; want 1 and 1", posts, sends)
	}
}

// 2025-11-25: a call that cannot run in the background (a draft) is
// answered at once as a finished task; a tool without task support is
// -32601.
func TestLegacyAnsweredAtOnce(t *testing.T) {
	r := newRig(t, fakegraph.Options{})
	p := r.replica(taskfront.PolicyVideo)
	c := p.client(mcpwire.Legacy, false)
	if _, err := c.Initialize(context.Background()); err != nil {
		t.Fatal(err)
	}
	created := object(t, call(t, c, "tools/call", map[string]any{"name": "create_post", "task": map[string]any{},
		"arguments": map[string]any{"image_url": "https://cdn.example.com/d.jpg", "publish": false}}))
	task := created["task"].(map[string]any)
	if task["status"] != "completed" || !strings.HasPrefix(task["taskId"].(string), "task_") {
		t.Fatalf("draft task: %v", created)
	}
	out := object(t, call(t, c, "tasks/result", map[string]any{"taskId": task["taskId"]}))
	if sc, _ := out["structuredContent"].(map[string]any); sc["status"] != "draft" {
		t.Fatalf("draft result: %v", out)
	}
	wantError(t, "get_job as a task", call(t, c, "tools/call", map[string]any{"name": "get_job", "task": map[string]any{},
		"arguments": map[string]any{"job_id": "job_x"}}), -32601, 0)
	// A refused call is a failed task whose result is the error.
	failed := object(t, call(t, c, "tools/call", map[string]any{"name": "publish_reel", "task": map[string]any{},
		"arguments": map[string]any{"video_url": "http://not-https.example.com/v.mp4"}}))
	if ft := failed["task"].(map[string]any); ft["status"] != "failed" {
		t.Fatalf("refused call: %v", failed)
	}
}

// Cancelling while Instagram processes the video, before the send: the
// task ends cancelled saying the container will not be published, the job
// ends cancelled once its worker reaches the send, and nothing is sent.
// 2025-11-25 answers the cancel with the cancelled task; 2026-07-28 with
// an acknowledgement, the task then reading cancelled.
func TestCancelBeforeSend(t *testing.T) {
	for _, version := range []string{mcpwire.Legacy, mcpwire.Modern} {
		t.Run(version, func(t *testing.T) {
			r := newRig(t, fakegraph.Options{VideoProcessing: 3 * time.Second})
			c, id := reelTask(t, r.replica(taskfront.PolicyVideo), version, "cancelled "+version)
			poll(t, c, id, func(m map[string]any) bool {
				return strings.Contains(m["statusMessage"].(string), "processing container")
			})
			ans := object(t, call(t, c, "tasks/cancel", map[string]any{"taskId": id}))
			if version == mcpwire.Legacy && (ans["status"] != "cancelled" || !strings.Contains(ans["statusMessage"].(string), "will not be published")) {
				t.Fatalf("cancel answer: %v", ans)
			}
			if version == mcpwire.Modern && (ans["resultType"] != "complete" || ans["status"] != nil) {
				t.Fatalf("cancel ack: %v", ans)
			}
			got := poll(t, c, id, statusIs("cancelled"))
			if !strings.Contains(got["statusMessage"].(string), "will not be published") {
				t.Errorf("cancelled task says %q", got["statusMessage"])
			}
			// The worker stops at the send once the video is ready.
			deadline := time.Now().Add(60 * time.Second)
			for {
				sc, err := r.st.GetSchedule(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				if sc.State == store.RunCancelled {
					break
				}
				if sc.State.Final() || time.Now().After(deadline) {
					t.Fatalf("job %s is %s", id, sc.State)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if posts, sends := r.published("cancelled " + version); posts != 0 || sends != 0 {
				t.Errorf("%d posts, %d media_publish after a cancel before the send", posts, sends)
			}
			again := object(t, call(t, c, "tasks/get", map[string]any{"taskId": id}))
			if again["status"] != "cancelled" {
				t.Errorf("the task moved on from cancelled: %v", again)
			}
		})
	}
}

// Cancelling after the send was claimed, while media_publish is on its
// way: nothing claims the post was stopped. 2025-11-25: the task is
// cancelled (it must be) and says the post may be live, then that it is,
// with its media id, and tasks/result returns the publish. 2026-07-28:
// the cancel is acknowledged and the task completes with the post.
func TestCancelAfterSend(t *testing.T) {
	for _, version := range []string{mcpwire.Legacy, mcpwire.Modern} {
		t.Run(version, func(t *testing.T) {
			r := newRig(t, fakegraph.Options{VideoProcessing: 50 * time.Millisecond})
			reached := r.gate.close()
			defer r.gate.open()
			c, id := reelTask(t, r.replica(taskfront.PolicyVideo), version, "sent "+version)
			select {
			case <-reached:
			case <-time.After(60 * time.Second):
				t.Fatal("media_publish never came")
			}
			ans := object(t, call(t, c, "tasks/cancel", map[string]any{"taskId": id}))
			if version == mcpwire.Legacy && (ans["status"] != "cancelled" || !strings.Contains(ans["statusMessage"].(string), "may already be live")) {
				t.Fatalf("cancel answer: %v", ans)
			}
			r.gate.open()
			var final map[string]any
			if version == mcpwire.Legacy {
				final = poll(t, c, id, func(m map[string]any) bool { return strings.Contains(m["statusMessage"].(string), "is live") })
				if final["status"] != "cancelled" {
					t.Errorf("2025 task left cancelled: %v", final)
				}
				out := object(t, call(t, c, "tasks/result", map[string]any{"taskId": id}))
				if sc, _ := out["structuredContent"].(map[string]any); sc["status"] != "published" {
					t.Errorf("tasks/result of the cancelled, published task: %v", out)
				}
			} else {
				final = poll(t, c, id, func(m map[string]any) bool { return m["status"] != "working" })
				if final["status"] != "completed" {
					t.Errorf("2026 task: %v", final)
				}
			}
			if posts, sends := r.published("sent " + version); posts != 1 || sends != 1 {
				t.Errorf("%d posts, %d media_publish; want 1 and 1", posts, sends)
			}
		})
	}
}
