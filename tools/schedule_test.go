package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/tools"
)

// newScheduleEnv is newEnv in an era, with media options when given.
func newScheduleEnv(t *testing.T, era string, fo fakegraph.Options, media ...tools.Deps) *testEnv {
	t.Helper()
	o := envOpts{era: era, fake: fo}
	if len(media) > 0 {
		o.media = media[0]
	}
	return newEnv(t, o)
}

// waitList polls list_scheduled_posts until schedule id reaches a final
// state and returns its entry. The deadline is a hang guard.
func (e *testEnv) waitFinal(t *testing.T, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		m := mustOK(t, e.call(t, "list_scheduled_posts", map[string]any{}))
		for _, s := range m["schedules"].([]any) {
			sc := s.(map[string]any)
			if sc["schedule_id"] == id {
				switch sc["state"] {
				case "published", "failed", "cancelled", "missed":
					return sc
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s did not finish: %v", id, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSchedulePostLifecycle(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			e := newScheduleEnv(t, era, fakegraph.Options{})
			at := time.Now().Add(300 * time.Millisecond).In(time.FixedZone("CEST", 2*3600))
			m := mustOK(t, e.call(t, "schedule_post", map[string]any{
				"kind": "post", "publish_at": at.Format(time.RFC3339Nano),
				"post": map[string]any{"image_url": jpeg, "caption": "scheduled hello"},
			}))
			id, _ := m["schedule_id"].(string)
			if !strings.HasPrefix(id, "sch_") || m["state"] != "scheduled" || m["publish_at"] != at.UTC().Truncate(time.Second).Format(time.RFC3339) {
				t.Fatalf("schedule_post: %v", m)
			}
			l := mustOK(t, e.call(t, "list_scheduled_posts", map[string]any{"states": []string{"scheduled"}}))
			if got := l["schedules"].([]any); len(got) != 1 || got[0].(map[string]any)["kind"] != "post" {
				t.Fatalf("list: %v", l)
			}
			if n := len(e.fake.Calls()); n != 0 {
				t.Fatalf("%d Graph calls before publish_at", n)
			}
			e.runScheduler(t)
			sc := e.waitFinal(t, id)
			if sc["state"] != "published" || sc["media_id"] == "" || !strings.HasPrefix(fmt.Sprint(sc["permalink"]), "https://www.instagram.com/") || sc["error"] != nil {
				t.Fatalf("published schedule: %v", sc)
			}
			if pub := e.fake.Published(e.account.ID); len(pub) != 1 || pub[0].Caption != "scheduled hello" || pub[0].ID != sc["media_id"] {
				t.Fatalf("published media: %+v", pub)
			}
			if l := mustOK(t, e.call(t, "list_scheduled_posts", map[string]any{"states": []string{"scheduled", "publishing"}})); len(l["schedules"].([]any)) != 0 {
				t.Fatalf("still listed as pending: %v", l)
			}
		})
	}
}

// Every input rule is checked when the post is scheduled, and a refusal
// costs no Graph call.
func TestSchedulePostInvalidInput(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			e := newScheduleEnv(t, era, fakegraph.Options{})
			soon := time.Now().Add(time.Hour).Format(time.RFC3339)
			ok := map[string]any{"image_url": jpeg}
			for _, c := range []struct {
				name  string
				args  map[string]any
				field string
			}{
				{"unknown kind", map[string]any{"kind": "tweet", "publish_at": soon, "post": ok}, "kind"},
				{"bad time", map[string]any{"kind": "post", "publish_at": "tomorrow 9am", "post": ok}, "publish_at"},
				{"no zone", map[string]any{"kind": "post", "publish_at": "2030-01-01T09:00:00", "post": ok}, "publish_at"},
				{"past", map[string]any{"kind": "post", "publish_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "post": ok}, "publish_at"},
				{"caption", map[string]any{"kind": "post", "publish_at": soon, "post": map[string]any{"image_url": jpeg, "caption": strings.Repeat("x", 2201)}}, "post.caption"},
				{"http url", map[string]any{"kind": "reel", "publish_at": soon, "post": map[string]any{"video_url": "http://cdn.example.com/a.mp4"}}, "post.video_url"},
				{"one item", map[string]any{"kind": "carousel", "publish_at": soon, "post": map[string]any{"items": []any{ok}}}, "post.items"},
				{"unknown post arg", map[string]any{"kind": "post", "publish_at": soon, "post": map[string]any{"image_url": jpeg, "wait_seconds": 3}}, "post.wait_seconds"},
				{"unknown arg", map[string]any{"kind": "post", "publish_at": soon, "post": ok, "when": "now"}, "when"},
				{"76 days ahead", map[string]any{"kind": "post", "publish_at": time.Now().Add(76 * 24 * time.Hour).Format(time.RFC3339), "post": ok}, "publish_at"},
				{"year 9999", map[string]any{"kind": "post", "publish_at": "9999-12-31T23:59:59Z", "post": ok}, "publish_at"},
				{"story tag half placed", map[string]any{"kind": "story", "publish_at": soon, "post": map[string]any{"image_url": jpeg, "user_tags": []any{map[string]any{"username": "a", "y": 0.5}}}}, "post.user_tags[0]"},
				{"sponsor without the label", map[string]any{"kind": "reel", "publish_at": soon, "post": map[string]any{"video_url": mp4, "sponsor_ids": []any{"17841400000000077"}}}, "post.sponsor_ids"},
				{"6 hashtags", map[string]any{"kind": "post", "publish_at": soon, "post": map[string]any{"image_url": jpeg, "caption": "#a#b#c#d#e#f"}}, "post.caption"},
			} {
				errObj := mustErr(t, e.call(t, "schedule_post", c.args), "invalid_input")
				if errObj["field"] != c.field {
					t.Errorf("%s: field %v, want %s (%v)", c.name, errObj["field"], c.field, errObj["message"])
				}
				if strings.HasSuffix(c.name, "ahead") && !strings.Contains(errObj["message"].(string), "75 days") {
					t.Errorf("%s: the message does not give the bound: %v", c.name, errObj["message"])
				}
			}
			if n := len(e.fake.Calls()); n != 0 {
				t.Fatalf("%d Graph calls for refused input", n)
			}
			if l := mustOK(t, e.call(t, "list_scheduled_posts", nil)); len(l["schedules"].([]any)) != 0 {
				t.Fatalf("refused input was stored: %v", l)
			}
		})
	}
}

// Media are looked at when the post is scheduled (preflight), and a
// local file_path is refused: the post is published later, maybe by
// another process on another machine.
func TestSchedulePostMediaChecks(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			m, srv := mediaDeps(t)
			srv.Put("/ok.jpg", mediatest.File{Body: mediatest.JPEG(1080, 1350), ContentType: "image/jpeg"})
			srv.Put("/x.png", mediatest.File{Body: mediatest.PNG(800, 800), ContentType: "image/png"})
			srv.Put("/story.jpg", mediatest.File{Body: mediatest.JPEG(540, 960), ContentType: "image/jpeg"})
			e := newScheduleEnv(t, era, fakegraph.Options{}, m)
			soon := time.Now().Add(time.Hour).Format(time.RFC3339)
			errObj := mustErr(t, e.call(t, "schedule_post", map[string]any{"kind": "carousel", "publish_at": soon,
				"post": map[string]any{"items": []any{map[string]any{"image_url": mediatest.URL("/ok.jpg")}, map[string]any{"image_url": mediatest.URL("/x.png")}}}}), "media_rejected")
			if errObj["field"] != "post.items[1].image_url" {
				t.Fatalf("preflight at scheduling: %v", errObj)
			}
			local := writeTemp(t, "s.jpg", mediatest.JPEG(540, 960))
			errObj = mustErr(t, e.call(t, "schedule_post", map[string]any{"kind": "story", "publish_at": soon, "post": map[string]any{"file_path": local}}), "invalid_input")
			if errObj["field"] != "post.file_path" || !strings.Contains(fmt.Sprint(errObj["message"]), "https") {
				t.Fatalf("local file: %v", errObj)
			}
			// A local file a story cannot be (PNG) is refused as a local
			// file, on post.file_path, without being judged (the file is
			// never opened). (Mutant: Check judging the file before
			// refusing file_path: media_rejected on "file_path".)
			png := writeTemp(t, "s.png", mediatest.PNG(800, 800))
			errObj = mustErr(t, e.call(t, "schedule_post", map[string]any{"kind": "story", "publish_at": soon, "post": map[string]any{"file_path": png}}), "invalid_input")
			if errObj["field"] != "post.file_path" {
				t.Fatalf("local PNG: %v", errObj)
			}
			if n := len(e.fake.Calls()); n != 0 {
				t.Fatalf("%d Graph calls for refused posts", n)
			}
			// A story, at its time.
			m2 := mustOK(t, e.call(t, "schedule_post", map[string]any{"kind": "story", "publish_at": time.Now().Format(time.RFC3339),
				"post": map[string]any{"image_url": mediatest.URL("/story.jpg")}}))
			e.runScheduler(t)
			sc := e.waitFinal(t, m2["schedule_id"].(string))
			if sc["state"] != "published" || sc["kind"] != "story" || !strings.Contains(fmt.Sprint(sc["permalink"]), "/stories/") {
				t.Fatalf("scheduled story: %v", sc)
			}
		})
	}
}

func TestCancelScheduledPost(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			e := newScheduleEnv(t, era, fakegraph.Options{})
			later := mustOK(t, e.call(t, "schedule_post", map[string]any{"kind": "reel", "publish_at": time.Now().Add(time.Hour).Format(time.RFC3339),
				"post": map[string]any{"video_url": mp4, "caption": "later"}}))
			id := later["schedule_id"].(string)
			for range 2 { // a repeat is harmless
				c := mustOK(t, e.call(t, "cancel_scheduled_post", map[string]any{"schedule_id": id}))
				if c["state"] != "cancelled" || c["schedule_id"] != id || c["publish_at"] != later["publish_at"] {
					t.Fatalf("cancel: %v", c)
				}
			}
			mustErr(t, e.call(t, "cancel_scheduled_post", map[string]any{"schedule_id": "sch_nope"}), "not_found")
			mustErr(t, e.call(t, "cancel_scheduled_post", map[string]any{"schedule_id": ""}), "invalid_input")

			now := mustOK(t, e.call(t, "schedule_post", map[string]any{"kind": "post", "publish_at": time.Now().Format(time.RFC3339),
				"post": map[string]any{"image_url": jpeg, "caption": "now"}}))
			e.runScheduler(t)
			e.waitFinal(t, now["schedule_id"].(string))
			errObj := mustErr(t, e.call(t, "cancel_scheduled_post", map[string]any{"schedule_id": now["schedule_id"]}), "invalid_input")
			if errObj["field"] != "schedule_id" {
				t.Fatalf("cancel after publish: %v", errObj)
			}
			l := mustOK(t, e.call(t, "list_scheduled_posts", map[string]any{"states": []string{"cancelled"}}))
			if got := l["schedules"].([]any); len(got) != 1 || got[0].(map[string]any)["schedule_id"] != id {
				t.Fatalf("cancelled list: %v", l)
			}
			mustErr(t, e.call(t, "list_scheduled_posts", map[string]any{"states": []string{"done"}}), "invalid_input")
		})
	}
}

// A failed schedule carries the docs/reference.md §4 error object in the list.
func TestListShowsFailure(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			e := newScheduleEnv(t, era, fakegraph.Options{})
			e.fake.SetMediaOutcome("broken", fakegraph.Outcome{StatusCode: fakegraph.StatusError, Subcode: 2207026})
			m := mustOK(t, e.call(t, "schedule_post", map[string]any{"kind": "reel", "publish_at": time.Now().Format(time.RFC3339),
				"post": map[string]any{"video_url": "https://cdn.example.com/broken.mp4"}}))
			e.runScheduler(t)
			sc := e.waitFinal(t, m["schedule_id"].(string))
			errObj, _ := sc["error"].(map[string]any)
			if sc["state"] != "failed" || errObj["kind"] != "container_failed" || errObj["action"] == "" || errObj["retryable"] != false || sc["media_id"] != nil {
				t.Fatalf("failed schedule: %v", sc)
			}
		})
	}
}

func TestGetJob(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			e := newScheduleEnv(t, era, fakegraph.Options{})
			r := publish.Request{Kind: publish.KindPost, Post: &publish.PostInput{ImageURL: jpeg, Common: publish.Common{Caption: "job post"}}}
			id, err := e.sched.StartJob(context.Background(), scheduler.Requester{AccountID: e.account.ID}, r, publish.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if j := mustOK(t, e.call(t, "get_job", map[string]any{"job_id": id})); j["state"] != "scheduled" || j["job_id"] != id || j["kind"] != "post" {
				t.Fatalf("queued job: %v", j)
			}
			e.runScheduler(t)
			j := waitJob(t, e, id)
			res, _ := j["result"].(map[string]any)
			if j["state"] != "published" || res["status"] != "published" || res["media_id"] == "" || j["error"] != nil {
				t.Fatalf("finished job: %v", j)
			}
			mustErr(t, e.call(t, "get_job", map[string]any{"job_id": "job_nope"}), "not_found")
			// Jobs are not schedules.
			if l := mustOK(t, e.call(t, "list_scheduled_posts", nil)); len(l["schedules"].([]any)) != 0 {
				t.Fatalf("job listed as a schedule: %v", l)
			}
			mustErr(t, e.call(t, "cancel_scheduled_post", map[string]any{"schedule_id": id}), "not_found")
		})
	}
}

func waitJob(t *testing.T, e *testEnv, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		j := mustOK(t, e.call(t, "get_job", map[string]any{"job_id": id}))
		if s := j["state"]; s == "published" || s == "failed" || s == "missed" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not finish: %v", id, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait: false on the publishing tools returns a job at once, and get_job
// reports the same result shape the tool would have.
func TestPublishToolsWaitFalse(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			e := newScheduleEnv(t, era, fakegraph.Options{})
			e.runScheduler(t)
			for _, c := range []struct {
				tool string
				args map[string]any
			}{
				{"create_post", map[string]any{"image_url": jpeg, "caption": "bg post", "wait": false}},
				{"create_carousel", map[string]any{"items": []any{map[string]any{"image_url": jpeg}, map[string]any{"image_url": jpeg}}, "caption": "bg carousel", "wait": false}},
				{"publish_reel", map[string]any{"video_url": mp4, "caption": "bg reel", "wait": false}},
				{"publish_story", map[string]any{"image_url": "https://cdn.example.com/bg-story.jpg", "wait": false}},
			} {
				m := mustOK(t, e.call(t, c.tool, c.args))
				id, _ := m["job_id"].(string)
				if m["status"] != "processing" || !strings.HasPrefix(id, "job_") || !strings.Contains(fmt.Sprint(m["next_action"]), "get_job") {
					t.Fatalf("%s wait=false: %v", c.tool, m)
				}
				j := waitJob(t, e, id)
				if r, _ := j["result"].(map[string]any); j["state"] != "published" || r["media_id"] == "" {
					t.Fatalf("%s job: %v", c.tool, j)
				}
			}
			if n := len(e.fake.Published(e.account.ID)); n != 4 {
				t.Errorf("%d posts published, want 4", n)
			}
			for _, caption := range []string{"bg post", "bg carousel", "bg reel"} {
				n := 0
				for _, m := range e.fake.Published(e.account.ID) {
					if m.Caption == caption {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%q published %d times", caption, n)
				}
			}
			// A draft is made in the call itself.
			mustErr(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "publish": false, "wait": false}), "invalid_input")
		})
	}
}

// The schedule tools' definitions as a client sees them (the rules every
// tool keeps are TestToolDefinitions'; the schemas are snapshots): the kind
// enum, and which of them read-only mode keeps.
func TestScheduleToolDefinitions(t *testing.T) {
	byName := map[string]mcp.Tool{}
	for _, tl := range listTools(t, tools.Selection{Toolsets: []string{tools.ToolsetSchedule}}) {
		byName[tl.Name] = tl
	}
	for _, name := range []string{"schedule_post", "list_scheduled_posts", "cancel_scheduled_post", "get_job"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("%s is not listed with IGMCP_TOOLSETS=schedule", name)
		}
	}
	props := byName["schedule_post"].InputSchema.Properties
	kind, _ := props["kind"].(map[string]any)
	post, _ := props["post"].(map[string]any)
	if fmt.Sprint(kind["enum"]) != "[post carousel reel story]" || post["type"] != "object" {
		t.Errorf("schedule_post kind/post schema: %v %v", kind, post)
	}
	var ro []string
	for _, tl := range listTools(t, tools.Selection{Toolsets: []string{tools.ToolsetSchedule}, ReadOnly: true}) {
		ro = append(ro, tl.Name)
	}
	if got := strings.Join(ro, ","); got != "get_job,list_accounts,list_activity,list_scheduled_posts" {
		t.Errorf("read-only with IGMCP_TOOLSETS=schedule: %s", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
