package tools_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/fakegraph"
)

func TestCreatePost_PublishesOnceAfterFinished(t *testing.T) {
	for _, era := range eras {
		for _, raw := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/readAfterWrite=%v", eraName(era), raw), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, envOpts{era: era, fake: fakegraph.Options{ProcessingPolls: 3, ReadAfterWrite: raw}})
				res := e.call(t, "create_post", map[string]any{"image_url": jpeg, "caption": "Hello #igmcp", "first_comment": "first!"})
				m := mustOK(t, res)
				if m["status"] != "published" || m["media_id"] == "" || m["container_id"] == "" {
					t.Fatalf("result: %v", m)
				}
				if p, _ := m["permalink"].(string); !strings.HasPrefix(p, "https://www.instagram.com/") {
					t.Fatalf("permalink: %v", m["permalink"])
				}
				if m["first_comment_id"] == nil {
					t.Fatalf("no first comment: %v", m)
				}
				pub := e.fake.Published(e.account.ID)
				if len(pub) != 1 || pub[0].ID != m["media_id"] {
					t.Fatalf("fake published %v, result %v", pub, m["media_id"])
				}
				// The publish that went live came only after the status reads
				// that answered IN_PROGRESS three times and then FINISHED.
				// Without read-after-write the image was tried once before
				// any read: answered "not ready", it posted nothing.
				calls := e.fake.Calls()
				statusReads, tries := 0, 0
				for _, c := range calls {
					if c.Method == "GET" && c.Path == "/"+m["container_id"].(string) {
						statusReads++
					}
					if c.Method == "POST" && strings.HasSuffix(c.Path, "/media_publish") {
						tries++
						if c.Status == 200 && statusReads < 4 {
							t.Fatalf("published after %d status reads, want >= 4", statusReads)
						}
					}
				}
				wantTries := map[bool]int{true: 1, false: 2}[raw]
				if tries != wantTries || e.fake.PublishSends(m["container_id"].(string)) != 1 {
					t.Fatalf("%d media_publish requests (want %d), %d that may have posted (want 1): %v", tries, wantTries, e.fake.PublishSends(m["container_id"].(string)), calls)
				}
			})
		}
	}
}

// Issue 11 §4: an image post ready at once costs at most 3 Graph requests
// once the quota is known (create, publish, permalink; 2 with
// read-after-write), and one more — the quota read — on a process's first.
func TestCreatePost_ReadyAtOnce_FewGraphRequests(t *testing.T) {
	for _, tc := range []struct {
		name          string
		fake          fakegraph.Options
		first, steady int
	}{
		{"pessimistic", fakegraph.Options{}, 4, 3},
		{"optimistic", fakegraph.Options{Optimistic: true}, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{fake: tc.fake})
			for i, want := range []int{tc.first, tc.steady} {
				before := e.graphCalls()
				mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}))
				if n := e.graphCalls() - before; n != want {
					t.Fatalf("post %d used %d Graph requests, want %d: %v", i, n, want, e.fake.Calls()[before:])
				}
			}
		})
	}
}

func TestCreatePost_Draft_ThenPublishContainer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	m := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "publish": false}))
	if m["status"] != "draft" || m["next_action"] == nil {
		t.Fatalf("draft: %v", m)
	}
	if len(e.fake.Published(e.account.ID)) != 0 {
		t.Fatal("draft was published")
	}
	p := mustOK(t, e.call(t, "publish_container", map[string]any{"container_id": m["container_id"]}))
	if p["status"] != "published" || p["media_id"] == nil {
		t.Fatalf("publish_container: %v", p)
	}
}

func TestCreateCarousel_ChildrenConcurrent(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{era: era, fake: fakegraph.Options{Latency: 40 * time.Millisecond}})
			items := make([]any, 10)
			for i := range items {
				items[i] = map[string]any{"image_url": fmt.Sprintf("https://cdn.example.com/%d.jpg", i)}
			}
			items[3] = map[string]any{"video_url": mp4}
			m := mustOK(t, e.call(t, "create_carousel", map[string]any{"items": items, "caption": "ten"}))
			if m["status"] != "published" {
				t.Fatalf("result: %v", m)
			}
			if ids, _ := m["child_container_ids"].([]any); len(ids) != 10 {
				t.Fatalf("children: %v", m["child_container_ids"])
			}
			if n := e.fake.MaxConcurrent("POST", "/media"); n < 5 {
				t.Fatalf("children created with max concurrency %d, want >= 5", n)
			}
			if got := len(e.fake.Published(e.account.ID)); got != 1 {
				t.Fatalf("published %d posts, want 1", got)
			}
		})
	}
}

func TestPublishReel_OutlastsWait_PublishContainerFinishes(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{era: era, fake: fakegraph.Options{VideoProcessing: 300 * time.Millisecond}})
			m := mustOK(t, e.call(t, "publish_reel", map[string]any{"video_url": mp4, "caption": "reel", "wait_seconds": 0}))
			if m["status"] != "processing" || m["container_id"] == nil {
				t.Fatalf("want processing: %v", m)
			}
			if !strings.Contains(m["next_action"].(string), "publish_container") {
				t.Fatalf("next_action: %v", m["next_action"])
			}
			id := m["container_id"]
			st := mustOK(t, e.call(t, "get_container_status", map[string]any{"container_id": id}))
			if st["status_code"] != "IN_PROGRESS" || st["next_action"] == "" {
				t.Fatalf("status: %v", st)
			}
			// Publishing too early is refused by the tool before Instagram is
			// asked to publish a container that is not FINISHED.
			early := e.call(t, "publish_container", map[string]any{"container_id": id, "wait_seconds": 0})
			if em := mustOK(t, early); em["status"] != "processing" {
				t.Fatalf("early publish_container: %v", em)
			}
			if n := e.fake.CountCalls("POST", "/media_publish"); n != 0 {
				t.Fatalf("media_publish called %d times before FINISHED", n)
			}
			p1 := mustOK(t, e.call(t, "publish_container", map[string]any{"container_id": id, "wait_seconds": 10}))
			if p1["status"] != "published" || p1["media_id"] == nil {
				t.Fatalf("publish_container: %v", p1)
			}
			before := len(e.fake.Calls())
			p2 := mustOK(t, e.call(t, "publish_container", map[string]any{"container_id": id}))
			if p2["media_id"] != p1["media_id"] || p2["status"] != "published" {
				t.Fatalf("repeat gave %v, first %v", p2, p1)
			}
			if after := len(e.fake.Calls()); after != before {
				t.Fatalf("repeat publish_container made %d Graph calls", after-before)
			}
			if got := len(e.fake.Published(e.account.ID)); got != 1 {
				t.Fatalf("published %d, want 1", got)
			}
		})
	}
}

func TestPublishReel_ProgressNotifications(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{era: era, fake: fakegraph.Options{VideoProcessing: 150 * time.Millisecond}})
			meta := &mcp.Meta{ProgressToken: "reel-1"}
			m := mustOK(t, e.callCtx(t, context.Background(), "publish_reel", map[string]any{"video_url": mp4, "wait_seconds": 30}, meta))
			if m["status"] != "published" {
				t.Fatalf("result: %v", m)
			}
			notes := e.notifications("notifications/progress")
			if len(notes) < 2 {
				t.Fatalf("got %d progress notifications, want >= 2", len(notes))
			}
			last := -1.0
			for _, n := range notes {
				if n.Params.AdditionalFields["progressToken"] != "reel-1" {
					t.Fatalf("progress token: %v", n.Params.AdditionalFields)
				}
				p, _ := n.Params.AdditionalFields["progress"].(float64)
				if p <= last || p*10 != math.Round(p*10) || fmt.Sprint(n.Params.AdditionalFields["total"]) != "100" {
					t.Fatalf("progress must rise on a 0–100 scale in tenths: %v after %v (%v)", p, last, n.Params.AdditionalFields)
				}
				last = p
			}
		})
	}
}

func TestPublishReel_CancelStopsPolling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{fake: fakegraph.Options{VideoProcessing: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "publish_reel"
	req.Params.Arguments = map[string]any{"video_url": mp4, "wait_seconds": 600}
	start := time.Now()
	_, _ = e.client.CallTool(ctx, req)
	if time.Since(start) > 10*time.Second {
		t.Fatal("cancelled call did not return")
	}
	// The server's wait loop must stop: the number of status polls settles.
	time.Sleep(100 * time.Millisecond)
	n1 := len(e.fake.Calls())
	time.Sleep(200 * time.Millisecond)
	if n2 := len(e.fake.Calls()); n2 != n1 {
		t.Fatalf("server kept polling after cancel: %d -> %d calls", n1, n2)
	}
	if len(e.fake.Published(e.account.ID)) != 0 {
		t.Fatal("cancelled reel was published")
	}
}
