package tools_test

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/tools"
)

func problems(t *testing.T, res map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range res["problems"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

func TestValidatePost(t *testing.T) {
	m, srv := mediaDeps(t)
	srv.Put("/ok.jpg", mediatest.File{Body: mediatest.JPEG(1080, 1350), ContentType: "image/jpeg"})
	srv.Put("/x.png", mediatest.File{Body: mediatest.PNG(800, 800), ContentType: "image/png"})
	srv.Put("/reel.mp4", mediatest.File{Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 30 * time.Second}), ContentType: "video/mp4"})
	srv.Put("/slow.mp4", mediatest.File{Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 30 * time.Second, MoovLast: true}), ContentType: "video/mp4"})
	localJPG := writeTemp(t, "s.jpg", mediatest.JPEG(540, 960))
	localReel := writeTemp(t, "r.mp4", mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 2 * time.Second}))
	cases := []struct {
		name  string
		kind  string
		post  map[string]any
		valid bool
		field string // of the first problem
		rule  string
	}{
		{"post ok", "post", map[string]any{"image_url": mediatest.URL("/ok.jpg"), "caption": "hi", "wait_seconds": 30, "idempotency_key": "k"}, true, "", ""},
		{"carousel png", "carousel", map[string]any{"items": []any{map[string]any{"image_url": mediatest.URL("/ok.jpg")}, map[string]any{"image_url": mediatest.URL("/x.png")}}}, false, "post.items[1].image_url", "image.format"},
		{"carousel video ok", "carousel", map[string]any{"items": []any{map[string]any{"image_url": mediatest.URL("/ok.jpg")}, map[string]any{"video_url": mediatest.URL("/reel.mp4")}}}, true, "", ""},
		{"reel moov last", "reel", map[string]any{"video_url": mediatest.URL("/slow.mp4"), "cover_url": mediatest.URL("/ok.jpg")}, false, "post.video_url", "video.moov_first"},
		{"reel cover png", "reel", map[string]any{"video_url": mediatest.URL("/reel.mp4"), "cover_url": mediatest.URL("/x.png")}, false, "post.cover_url", "image.format"},
		{"reel file too short", "reel", map[string]any{"file_path": localReel}, false, "post.file_path", "video.duration"},
		{"too many hashtags", "post", map[string]any{"image_url": mediatest.URL("/ok.jpg"), "caption": strings.Repeat("#a ", 31)}, false, "post.caption", ""},
		{"unknown field", "post", map[string]any{"image_url": mediatest.URL("/ok.jpg"), "captoin": "x"}, false, "post.captoin", ""},
		{"story file without staging", "story", map[string]any{"file_path": localJPG}, false, "post.file_path", ""},
		{"story ok", "story", map[string]any{"video_url": mediatest.URL("/reel.mp4")}, true, "", ""},
	}
	for _, era := range eras {
		e := newEnv(t, envOpts{era: era, media: m})
		for _, tc := range cases {
			t.Run(eraName(era)+"/"+tc.name, func(t *testing.T) {
				r := e.call(t, "validate_post", map[string]any{"kind": tc.kind, "post": tc.post})
				res := mustOK(t, r)
				if tc.name == "post ok" && text(t, r) != "post is valid: 1 of 1 media examined, 0 warnings" {
					t.Errorf("text %q", text(t, r))
				}
				ps := problems(t, res)
				if res["valid"] != tc.valid {
					t.Fatalf("valid=%v, want %v: %v", res["valid"], tc.valid, ps)
				}
				if !tc.valid && (ps[0]["field"] != tc.field || (tc.rule != "" && ps[0]["rule"] != tc.rule)) {
					t.Fatalf("first problem %v, want field %s rule %s", ps[0], tc.field, tc.rule)
				}
				if res["quota"] == nil {
					t.Fatalf("no quota: %v", res)
				}
			})
		}
		if n := e.fake.CountCalls("POST", ""); n != 0 || len(e.fake.Published(e.account.ID)) != 0 {
			t.Fatalf("validate_post wrote to Instagram (%d POSTs)", n)
		}
	}
}

func TestValidatePost_QuotaAndModes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{fake: fakegraph.Options{QuotaTotal: 1}}) // preflight off
	e.publishImage(t, "https://cdn.example.com/a.jpg", "")
	res := mustOK(t, e.call(t, "validate_post", map[string]any{"kind": "post", "post": map[string]any{"image_url": "https://cdn.example.com/b.jpg"}}))
	ps := problems(t, res)
	if res["valid"] != false || ps[0]["kind"] != "publish_limit_reached" {
		t.Fatalf("quota: %v", res)
	}
	if w := res["warnings"].([]any); !strings.Contains(w[0].(string), "IGMCP_PREFLIGHT=off") {
		t.Fatalf("warnings: %v", w)
	}
	off := newEnv(t, envOpts{media: tools.Deps{Preflight: preflight.New(preflight.Options{Offline: true})}})
	r := off.call(t, "validate_post", map[string]any{"kind": "story", "post": map[string]any{"image_url": "https://cdn.example.com/b.jpg"}})
	res = mustOK(t, r)
	if res["valid"] != true || !strings.Contains(res["warnings"].([]any)[0].(string), "sandbox") {
		t.Fatalf("offline: %v", res)
	}
	if got := text(t, r); got != "story is valid: no media examined, 1 warning" {
		t.Errorf("offline text %q", got)
	}
	mustErr(t, e.call(t, "validate_post", map[string]any{"kind": "tweet", "post": map[string]any{}}), "invalid_input")
	mustErr(t, e.call(t, "validate_post", map[string]any{"kind": "post"}), "invalid_input")
}

// approveOf is a valid validate_post result's approve call.
func approveOf(t *testing.T, e *mcpEnv, args map[string]any) (string, map[string]any) {
	t.Helper()
	res := e.call(t, context.Background(), "validate_post", args)
	v := mustOK(t, res)
	if v["valid"] != true {
		t.Fatalf("validate_post %v: not valid: %v", args, v)
	}
	a, ok := v["approve"].(map[string]any)
	if !ok {
		t.Fatalf("validate_post %v: no approve: %v", args, v)
	}
	tool, _ := a["tool"].(string)
	call, _ := a["arguments"].(map[string]any)
	return tool, call
}

var approvalKeyRE = regexp.MustCompile(`^approve-[0-9a-f]{32}$`)

// validate_post says how to publish exactly the checked post, once: the
// kind's tool, the post's arguments, the checked account and a key derived
// from account and content. The same post approved again is one post.
func TestValidatePost_Approve(t *testing.T) {
	t.Parallel()
	e := newMCPEnv(t, mcpEnvOpts{})
	post := map[string]any{"image_url": jpeg, "caption": "Approve me #once", "wait_seconds": 30, "confirm": true}
	args := map[string]any{"kind": "post", "post": post, "account": "brand_b"}
	tool, call := approveOf(t, e, args)
	key, _ := call["idempotency_key"].(string)
	if tool != "create_post" || !approvalKeyRE.MatchString(key) {
		t.Fatalf("approve %s %v", tool, call)
	}
	// The post as given, the checked account, no confirm (the operator's
	// IGMCP_CONFIRM decides whether the server asks again).
	want := map[string]any{"image_url": jpeg, "caption": "Approve me #once", "wait_seconds": 30, "account": "brand_b", "idempotency_key": key}
	if !sameJSON(call, want) {
		t.Fatalf("approve arguments %v, want %v", call, want)
	}
	if v := mustOK(t, e.call(t, context.Background(), "validate_post", args)); v["username"] != "brand_b" {
		t.Errorf("username %v", v["username"])
	}

	// The key: the same for the same post on the same account, another for
	// other content, a draft of it, or another account.
	keyOf := func(kind string, post map[string]any, account string) string {
		args := map[string]any{"kind": kind, "post": post}
		if account != "" {
			args["account"] = account
		}
		_, call := approveOf(t, e, args)
		return call["idempotency_key"].(string)
	}
	if k := keyOf("post", map[string]any{"caption": "Approve me #once", "image_url": jpeg}, "brand_b"); k != key {
		t.Errorf("the same post got key %s, then %s", key, k)
	}
	others := map[string]string{
		"other caption": keyOf("post", map[string]any{"image_url": jpeg, "caption": "Approve me #twice"}, "brand_b"),
		"draft":         keyOf("post", map[string]any{"image_url": jpeg, "caption": "Approve me #once", "publish": false}, "brand_b"),
		"other account": keyOf("post", map[string]any{"image_url": jpeg, "caption": "Approve me #once"}, "brand_a"),
		"story":         keyOf("story", map[string]any{"image_url": jpeg}, "brand_b"),
	}
	seen := map[string]string{key: "the post"}
	for name, k := range others {
		if !approvalKeyRE.MatchString(k) {
			t.Errorf("%s: key %q", name, k)
		}
		if prev, dup := seen[k]; dup {
			t.Errorf("%s got the key of %s", name, prev)
		}
		seen[k] = name
	}
	// A caller's own key is kept.
	if k := keyOf("post", map[string]any{"image_url": jpeg, "idempotency_key": "launch-2026-10"}, ""); k != "launch-2026-10" {
		t.Errorf("the caller's key became %q", k)
	}

	// Approving twice (a view rendered again later) is one media_publish;
	// the second answer is the first post, replayed.
	var results []map[string]any
	for range 2 {
		results = append(results, mustOK(t, e.call(t, context.Background(), tool, call)))
	}
	if results[0]["status"] != "published" || results[0]["replayed"] != nil {
		t.Fatalf("first approval %v", results[0])
	}
	if results[1]["replayed"] != true || results[1]["media_id"] != results[0]["media_id"] {
		t.Fatalf("second approval %v, want the first (%v) replayed", results[1], results[0]["media_id"])
	}
	if n := e.fake.CountCalls("POST", "/media_publish"); n != 1 {
		t.Errorf("%d media_publish requests, want 1", n)
	}
	if n := len(e.fake.Published(brandB.ID)); n != 1 {
		t.Errorf("%d posts on brand_b, want 1", n)
	}
}

// What the publishing tool would refuse is a problem, and a post with a
// problem offers no approval.
func TestValidatePost_ToolArguments(t *testing.T) {
	t.Parallel()
	e := newMCPEnv(t, mcpEnvOpts{})
	for _, tc := range []struct {
		name  string
		kind  string
		post  map[string]any
		field string // of the problem; "" for valid
	}{
		{"background publish", "post", map[string]any{"image_url": jpeg, "wait": false}, ""},
		{"draft", "post", map[string]any{"image_url": jpeg, "publish": false}, ""},
		{"reserved key", "post", map[string]any{"image_url": jpeg, "idempotency_key": "auto:1"}, "post.idempotency_key"},
		{"key not a string", "post", map[string]any{"image_url": jpeg, "idempotency_key": 7}, "post.idempotency_key"},
		{"wait_seconds out of range", "reel", map[string]any{"video_url": mp4, "wait_seconds": 901}, "post.wait_seconds"},
		{"publish on a carousel", "carousel", map[string]any{"items": []any{map[string]any{"image_url": jpeg}, map[string]any{"image_url": jpeg}}, "publish": false}, "post.publish"},
		{"background draft", "post", map[string]any{"image_url": jpeg, "publish": false, "wait": false}, "post.wait"},
		{"publish not a boolean", "post", map[string]any{"image_url": jpeg, "publish": "no"}, "post.publish"},
		{"the checked account in the post", "post", map[string]any{"image_url": jpeg, "account": "@Brand_A"}, ""},
		{"another account in the post", "post", map[string]any{"image_url": jpeg, "account": "brand_b"}, "post.account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := mustOK(t, e.call(t, context.Background(), "validate_post", map[string]any{"kind": tc.kind, "post": tc.post, "account": "brand_a"}))
			ps := problems(t, v)
			if tc.field == "" {
				if v["valid"] != true || v["approve"] == nil {
					t.Fatalf("want valid with approve: %v", v)
				}
				return
			}
			if v["valid"] != false || len(ps) != 1 || ps[0]["field"] != tc.field || ps[0]["kind"] != "invalid_input" {
				t.Fatalf("want one invalid_input problem on %s: %v", tc.field, ps)
			}
			if _, ok := v["approve"]; ok {
				t.Errorf("approve offered for a post with a problem: %v", v["approve"])
			}
		})
	}
}

// sameJSON compares two values as JSON documents.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	var va, vb any
	return errA == nil && errB == nil && json.Unmarshal(ja, &va) == nil && json.Unmarshal(jb, &vb) == nil && reflect.DeepEqual(va, vb)
}
