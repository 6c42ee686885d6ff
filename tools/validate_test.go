package tools_test

import (
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/tools"
)

// Bad input gets invalid_input naming the field, and never reaches Instagram.
func TestInvalidInput_NeverReachesGraph(t *testing.T) {
	long := strings.Repeat("a", 2201)
	tags := strings.Repeat("#t ", 31)
	mentions := strings.Repeat("@u ", 21)
	items := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"image_url": jpeg}
		}
		return out
	}
	cases := []struct {
		name  string
		tool  string
		args  map[string]any
		field string
	}{
		{"missing image_url", "create_post", map[string]any{}, "image_url"},
		{"http url", "create_post", map[string]any{"image_url": "http://cdn.example.com/a.jpg"}, "image_url"},
		{"file path", "create_post", map[string]any{"image_url": "/home/me/a.jpg"}, "image_url"},
		{"loopback url", "create_post", map[string]any{"image_url": "https://127.0.0.1/a.jpg"}, "image_url"},
		{"caption too long", "create_post", map[string]any{"image_url": jpeg, "caption": long}, "caption"},
		{"31 hashtags", "create_post", map[string]any{"image_url": jpeg, "caption": tags}, "caption"},
		{"21 mentions", "create_post", map[string]any{"image_url": jpeg, "caption": mentions}, "caption"},
		{"alt text too long", "create_post", map[string]any{"image_url": jpeg, "alt_text": strings.Repeat("x", 1001)}, "alt_text"},
		{"tag x out of range", "create_post", map[string]any{"image_url": jpeg, "user_tags": []any{map[string]any{"username": "bob", "x": 1.5, "y": 0.5}}}, "user_tags[0].x"},
		{"tag y negative", "create_post", map[string]any{"image_url": jpeg, "user_tags": []any{map[string]any{"username": "bob", "x": 0.5, "y": -0.1}}}, "user_tags[0].y"},
		{"tag username with @", "create_post", map[string]any{"image_url": jpeg, "user_tags": []any{map[string]any{"username": "@bob", "x": 0.5, "y": 0.5}}}, "user_tags[0].username"},
		{"4 collaborators", "create_post", map[string]any{"image_url": jpeg, "collaborators": []any{"a", "b", "c", "d"}}, "collaborators"},
		{"collaborator with @", "create_post", map[string]any{"image_url": jpeg, "collaborators": []any{"@a"}}, "collaborators[0]"},
		{"location not numeric", "create_post", map[string]any{"image_url": jpeg, "location_id": "paris"}, "location_id"},
		{"unknown argument", "create_post", map[string]any{"image_url": jpeg, "captoin": "typo"}, "captoin"},
		{"wrong type", "create_post", map[string]any{"image_url": 42}, "image_url"},
		{"wait too long", "create_post", map[string]any{"image_url": jpeg, "wait_seconds": 901}, "wait_seconds"},
		{"carousel of 1", "create_carousel", map[string]any{"items": items(1)}, "items"},
		{"carousel of 11", "create_carousel", map[string]any{"items": items(11)}, "items"},
		{"carousel item without media", "create_carousel", map[string]any{"items": []any{map[string]any{"image_url": jpeg}, map[string]any{}}}, "items[1].image_url"},
		{"carousel item with both", "create_carousel", map[string]any{"items": []any{map[string]any{"image_url": jpeg}, map[string]any{"image_url": jpeg, "video_url": mp4}}}, "items[1]"},
		{"carousel item http", "create_carousel", map[string]any{"items": []any{map[string]any{"image_url": jpeg}, map[string]any{"video_url": "http://x.example/v.mp4"}}}, "items[1].video_url"},
		{"carousel video alt text", "create_carousel", map[string]any{"items": []any{map[string]any{"image_url": jpeg}, map[string]any{"video_url": mp4, "alt_text": "no"}}}, "items[1].alt_text"},
		{"reel without video", "publish_reel", map[string]any{"caption": "x"}, "video_url"},
		{"reel negative thumb", "publish_reel", map[string]any{"video_url": mp4, "thumb_offset": -1}, "thumb_offset"},
		{"reel cover http", "publish_reel", map[string]any{"video_url": mp4, "cover_url": "http://x.example/c.jpg"}, "cover_url"},
		{"status bad id", "get_container_status", map[string]any{"container_id": "abc"}, "container_id"},
		{"publish bad id", "publish_container", map[string]any{"container_id": "../x"}, "container_id"},
		{"reply empty", "reply_comment", map[string]any{"comment_id": "123", "message": "  "}, "message"},
		{"reply bad id", "reply_comment", map[string]any{"comment_id": "x1", "message": "hi"}, "comment_id"},
		{"retired metric", "get_insights", map[string]any{"media_id": "123", "metrics": []any{"impressions"}}, "metrics[0]"},
		{"unknown metric", "get_insights", map[string]any{"metrics": []any{"followers"}}, "metrics[0]"},
		{"no metrics", "get_insights", map[string]any{"metrics": []any{}}, "metrics"},
		{"demographics without timeframe", "get_insights", map[string]any{"metrics": []any{"follower_demographics"}, "breakdown": "age"}, "timeframe"},
		{"bad since", "get_insights", map[string]any{"metrics": []any{"reach"}, "since": "yesterday"}, "since"},
		{"unknown account", "create_post", map[string]any{"image_url": jpeg, "account": "someone_else"}, "account"},
	}
	e := newEnv(t, envOpts{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fake.Calls())
			errObj := mustErr(t, e.call(t, tc.tool, tc.args), "invalid_input")
			if errObj["field"] != tc.field {
				t.Errorf("field = %v, want %q (%v)", errObj["field"], tc.field, errObj["message"])
			}
			if errObj["retryable"] != false {
				t.Errorf("invalid_input must not be retryable")
			}
			if tc.name == "unknown account" {
				return // resolving the account by name is a Graph-free lookup too
			}
			if after := len(e.fake.Calls()); after != before {
				t.Errorf("invalid input reached the Graph API (%d calls)", after-before)
			}
		})
	}
}

// The input schemas carry no additionalProperties (docs/reference.md §3's
// context budget), so the decoder alone keeps a misspelt argument from being
// ignored: every tool, and every nested object, refuses one before any
// Graph call, naming it.
func TestUnknownArgument_RefusedByEveryTool(t *testing.T) {
	e := newEnv(t, envOpts{selection: tools.Selection{Toolsets: tools.ToolsetNames()}, webhooks: true})
	res, err := e.client.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tools) != len(wantTools) {
		t.Fatalf("%d tools listed, want every one of the %d", len(res.Tools), len(wantTools))
	}
	type call struct {
		tool  string
		args  map[string]any
		field string
	}
	var calls []call
	for _, tl := range res.Tools {
		calls = append(calls, call{tl.Name, map[string]any{"captoin": "typo"}, "captoin"})
	}
	tag := map[string]any{"username": "bob", "x": 0.5, "y": 0.5, "z": 0.5}
	calls = append(calls,
		call{"create_post", map[string]any{"image_url": jpeg, "user_tags": []any{tag}}, "user_tags[0].z"},
		call{"create_carousel", map[string]any{"items": []any{map[string]any{"image_url": jpeg}, map[string]any{"image_url": jpeg, "caption": "per item"}}}, "items[1].caption"},
		call{"create_carousel", map[string]any{"items": []any{map[string]any{"image_url": jpeg}, map[string]any{"image_url": jpeg, "user_tags": []any{tag, map[string]any{"username": "eve", "X": 0.1}}}}}, "items[1].user_tags[0].z"},
		call{"publish_reel", map[string]any{"video_url": mp4, "trial_params": map[string]any{"graduation_strategy": "MANUAL", "when": "now"}}, "trial_params.when"},
		call{"publish_story", map[string]any{"image_url": jpeg, "user_tags": []any{tag}}, "user_tags[0].z"},
		call{"schedule_post", map[string]any{"kind": "post", "publish_at": "2030-01-01T00:00:00Z", "post": map[string]any{"image_url": jpeg, "user_tags": []any{tag}}}, "post.user_tags[0].z"},
	)
	for _, c := range calls {
		t.Run(c.tool+"/"+c.field, func(t *testing.T) { e.mustRefuse(t, c.tool, c.args, c.field) })
	}
}
