package tools_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools/toolstest"
)

// callAll makes n calls of tool at the same moment and returns their
// results, decoded (error results as their error object plus "error": true).
func (e *testEnv) callAll(t *testing.T, n int, tool string, args func(i int) map[string]any) []map[string]any {
	t.Helper()
	out := make([]map[string]any, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			res := e.callCtx(t, context.Background(), tool, args(i), nil)
			m := toolstest.Structured(t, res)
			if res.IsError {
				m, _ = m["error"].(map[string]any)
				m["error"] = true
			}
			out[i] = m
		}()
	}
	start.Done()
	done.Wait()
	return out
}

// Twenty calls at once with one key and twenty different posts: one
// publishes, every other is told the key belongs to another post
// (invalid_input on idempotency_key), none is told to retry (transient),
// and one media_publish is sent. (Mutant: the in-flight guard answers
// transient before comparing digests.)
func TestIdempotencyKey_ConcurrentOtherPosts(t *testing.T) {
	e := newEnv(t, envOpts{fake: fakegraph.Options{ImageProcessing: 300 * time.Millisecond}})
	got := e.callAll(t, 20, "create_post", func(i int) map[string]any {
		return map[string]any{"image_url": jpeg, "caption": fmt.Sprintf("post %d", i), "idempotency_key": "campaign-1"}
	})
	published, reused := 0, 0
	for i, m := range got {
		switch {
		case m["error"] == nil && m["status"] == "published":
			published++
		case m["kind"] == "invalid_input" && m["field"] == "idempotency_key":
			reused++
		default:
			t.Errorf("call %d: %v", i, m)
		}
	}
	if published != 1 || reused != 19 {
		t.Errorf("%d published, %d told the key is another post's; want 1 and 19", published, reused)
	}
	// Sends that could have put a post live: an image is tried at once and
	// may first be answered "not ready", which publishes nothing.
	sends := 0
	for _, c := range e.fake.Containers() {
		sends += e.fake.PublishSends(c.ID)
	}
	if sends != 1 || len(e.fake.Published(e.account.ID)) != 1 {
		t.Errorf("%d media_publish sends that could publish, %d posts; want 1 and 1", sends, len(e.fake.Published(e.account.ID)))
	}
}

// Twenty wait: false calls at once with one key and one post start one job
// and all answer its id; it publishes once. (Mutant: StartJob with a random
// job id per call: twenty jobs.)
func TestIdempotencyKey_ConcurrentJobs(t *testing.T) {
	e := newScheduleEnv(t, "", fakegraph.Options{})
	got := e.callAll(t, 20, "create_post", func(int) map[string]any {
		return map[string]any{"image_url": jpeg, "caption": "one job", "idempotency_key": "job-key-1", "wait": false}
	})
	id, _ := got[0]["job_id"].(string)
	for i, m := range got {
		if m["error"] != nil || m["job_id"] != id || id == "" {
			t.Fatalf("call %d: %v (first job %q)", i, m, id)
		}
	}
	jobs, err := e.store.ListSchedules(context.Background(), store.ScheduleFilter{IDPrefix: scheduler.JobPrefix})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("%d jobs (%v), want 1", len(jobs), err)
	}
	e.runScheduler(t)
	if j := waitJob(t, e, id); j["state"] != "published" {
		t.Fatalf("job %v", j)
	}
	if posts := e.fake.Published(e.account.ID); len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	// The key with another post is refused at once, not queued.
	errObj := mustErr(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "caption": "another", "idempotency_key": "job-key-1", "wait": false}), "invalid_input")
	if errObj["field"] != "idempotency_key" {
		t.Fatalf("other post under the key: %v", errObj)
	}
}
