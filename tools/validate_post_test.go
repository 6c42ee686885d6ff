package tools_test

import (
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
