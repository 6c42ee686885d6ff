package tools_test

import (
	"fmt"
	"testing"

	"github.com/igmcp/igmcp/fakegraph"
)

func TestListAndGetMedia(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{era: era})
			var ids []string
			for i := range 3 {
				ids = append(ids, e.publishImage(t, fmt.Sprintf("https://cdn.example.com/%d.jpg", i), fmt.Sprintf("post %d", i)))
			}
			p1 := mustOK(t, e.call(t, "list_media", map[string]any{"limit": 2}))
			media := p1["media"].([]any)
			if len(media) != 2 || media[0].(map[string]any)["id"] != ids[2] || media[0].(map[string]any)["caption"] != "post 2" {
				t.Fatalf("page 1: %v", p1)
			}
			res := e.call(t, "list_media", map[string]any{"limit": 2, "cursor": p1["next_cursor"]})
			p2 := mustOK(t, res)
			if m := p2["media"].([]any); len(m) != 1 || m[0].(map[string]any)["id"] != ids[0] || p2["next_cursor"] != nil {
				t.Fatalf("page 2: %v", p2)
			}
			if got := text(t, res); got != "1 media" {
				t.Errorf("page 2 text %q", got)
			}
			stories := mustOK(t, e.call(t, "list_media", map[string]any{"stories": true}))
			if len(stories["media"].([]any)) != 0 {
				t.Fatalf("stories: %v", stories)
			}
			one := mustOK(t, e.call(t, "get_media", map[string]any{"media_id": ids[1]}))
			if one["id"] != ids[1] || one["media_type"] != "IMAGE" || one["permalink"] == nil || one["like_count"] == nil || one["is_comment_enabled"] != true {
				t.Fatalf("get_media: %v", one)
			}
			res = e.call(t, "get_publishing_limit", map[string]any{})
			if got := text(t, res); got != "3 posts of 100 used in the last 24 hours, 97 left" {
				t.Errorf("get_publishing_limit text %q", got)
			}
			lim := mustOK(t, res)
			if lim["quota_usage"] != float64(3) || lim["quota_total"] != float64(100) || lim["remaining"] != float64(97) || lim["quota_duration_seconds"] != float64(86400) {
				t.Fatalf("get_publishing_limit: %v", lim)
			}
		})
	}
}

func TestListAndGetMedia_Errors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	for _, tc := range []struct {
		tool  string
		args  map[string]any
		field string
	}{
		{"get_media", map[string]any{"media_id": "x"}, "media_id"},
		{"list_media", map[string]any{"limit": 101}, "limit"},
		{"get_media", map[string]any{}, "media_id"},
	} {
		before := e.graphCalls()
		if errObj := mustErr(t, e.call(t, tc.tool, tc.args), "invalid_input"); errObj["field"] != tc.field {
			t.Errorf("%s: field %v", tc.tool, errObj["field"])
		}
		if e.graphCalls() != before {
			t.Errorf("%s: Graph called on invalid input", tc.tool)
		}
	}
	mustErr(t, e.call(t, "get_media", map[string]any{"media_id": "17900000000099999"}), "not_found")
	e.fake.Inject(fakegraph.Fault{PathSuffix: "/content_publishing_limit", Action: fakegraph.FaultGraphError,
		GraphError: &fakegraph.ErrorSpec{Code: 190, Subcode: 463, Message: "Error validating access token: Session has expired"}})
	mustErr(t, e.call(t, "get_publishing_limit", map[string]any{}), "auth_expired")
}
