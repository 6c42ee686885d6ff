package tools_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/tools/toolstest"
	"github.com/mark3labs/mcp-go/mcp"
)

// callRaw calls a tool with arguments given as raw JSON bytes, exactly as a
// client would send them on the wire.
func (e *testEnv) callRaw(t *testing.T, name string, raw string) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = json.RawMessage(raw)
	res, err := e.client.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

// Text that is not UTF-8 — raw bytes, or a \u escape of half a surrogate
// pair — is invalid_input naming the argument, never text with U+FFFD in
// it sent to Instagram. (Mutant: checkText not called in decodeArgs: the
// post is published with a replacement character in its caption.)
func TestInputRules_InvalidUTF8(t *testing.T) {
	cases := []struct {
		name, tool, raw, field string
	}{
		{"caption bytes", "create_post", `{"image_url":"` + jpeg + `","caption":"caf` + "\xe9" + `"}`, "caption"},
		{"caption lone surrogate", "create_post", `{"image_url":"` + jpeg + `","caption":"hi \ud83d"}`, "caption"},
		{"first comment", "create_post", `{"image_url":"` + jpeg + `","first_comment":"` + "\xff\xfe" + `"}`, "first_comment"},
		{"carousel item alt text", "create_carousel", `{"items":[{"image_url":"` + jpeg + `"},{"image_url":"` + jpeg + `","alt_text":"\udc00"}]}`, "items[1].alt_text"},
		{"scheduled caption", "schedule_post", `{"kind":"post","publish_at":"2099-01-01T00:00:00Z","post":{"image_url":"` + jpeg + `","caption":"` + "\xc3" + `"}}`, "post.caption"},
		{"comment", "create_comment", `{"media_id":"123","message":"ok ` + "\xed\xa0\x80" + `"}`, "message"},
		{"validate_post", "validate_post", `{"kind":"post","post":{"image_url":"` + jpeg + `","caption":"` + "\x80" + `"}}`, "post.caption"},
	}
	for _, era := range eras {
		e := newEnv(t, envOpts{era: era})
		for _, tc := range cases {
			t.Run(eraName(era)+"/"+tc.name, func(t *testing.T) {
				before := e.graphCalls()
				errObj := mustErr(t, e.callRaw(t, tc.tool, tc.raw), "invalid_input")
				if errObj["field"] != tc.field {
					t.Errorf("field %v, want %s (%v)", errObj["field"], tc.field, errObj["message"])
				}
				if n := e.graphCalls() - before; n != 0 {
					t.Errorf("%d Graph requests for invalid text", n)
				}
			})
		}
		// Valid escapes are text like any other: a surrogate pair is one
		// emoji, and it is what the caption says on Instagram.
		res := e.callRaw(t, "create_post", `{"image_url":"`+jpeg+`","caption":"sun \ud83c\udf05 \u00e9t\u00e9"}`)
		if res.IsError {
			t.Fatalf("valid escapes refused: %v", toolstest.Structured(t, res))
		}
		if got := e.fake.Published(e.account.ID); len(got) != 1 || got[0].Caption != "sun 🌅 été" {
			t.Fatalf("published %+v, want one post captioned %q", got, "sun 🌅 été")
		}
	}
}

// containerParams is the parameters of every container creation the fake
// saw, in order.
func (e *testEnv) containerParams() []url.Values {
	var out []url.Values
	for _, c := range e.fake.Calls() {
		if c.Method == "POST" && strings.HasSuffix(c.Path, "/media") {
			out = append(out, c.Params)
		}
	}
	return out
}

// Captions and first comments are checked, with the counting rules, before
// anything reaches Instagram: hashtags over Instagram's limit of 5 (saying
// why), hashtags and mentions written together or full-width, a first
// comment that is no valid comment. (Mutants: MaxHashtags back to 30;
// Common.validate without CheckComment on first_comment; MentionPattern
// without the run, so @a@b counts once.)
func TestInputRules_CaptionAndFirstComment(t *testing.T) {
	cases := []struct {
		name, tool string
		args       map[string]any
		field      string
		says       string
	}{
		{"6 hashtags", "create_post", map[string]any{"image_url": jpeg, "caption": "#a #b #c #d #e #f"}, "caption", "December 2025"},
		{"6 hashtags together", "create_post", map[string]any{"image_url": jpeg, "caption": "#a#b#c#d#e#f"}, "caption", "6 hashtags"},
		{"full-width hashtags", "publish_reel", map[string]any{"video_url": mp4, "caption": "＃a ＃b ＃c ＃d ＃e ＃f"}, "caption", "6 hashtags"},
		{"carousel hashtags", "create_carousel", map[string]any{"items": []any{map[string]any{"image_url": jpeg}, map[string]any{"image_url": jpeg}}, "caption": "#1 #2 #3 #4 #5 #6"}, "caption", "at most 5"},
		{"21 mentions together", "create_post", map[string]any{"image_url": jpeg, "caption": strings.Repeat("@u", 21)}, "caption", "21 @mentions"},
		{"first comment too long", "create_post", map[string]any{"image_url": jpeg, "first_comment": strings.Repeat("x", 2201)}, "first_comment", "2201 characters"},
		{"first comment 31 hashtags", "create_post", map[string]any{"image_url": jpeg, "first_comment": strings.Repeat("#t", 31)}, "first_comment", "31 hashtags"},
		{"first comment 21 mentions", "publish_reel", map[string]any{"video_url": mp4, "first_comment": strings.Repeat("@u ", 21)}, "first_comment", "21 @mentions"},
		{"first comment blank", "create_post", map[string]any{"image_url": jpeg, "first_comment": " \n "}, "first_comment", "required"},
		{"scheduled first comment", "schedule_post", map[string]any{"kind": "post", "publish_at": "2099-01-01T00:00:00Z",
			"post": map[string]any{"image_url": jpeg, "first_comment": strings.Repeat("#t ", 31)}}, "post.first_comment", "31 hashtags"},
		{"comment 21 mentions together", "create_comment", map[string]any{"media_id": "1", "message": strings.Repeat("@u", 21)}, "message", "21 @mentions"},
	}
	e := newEnv(t, envOpts{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.graphCalls()
			errObj := mustErr(t, e.call(t, tc.tool, tc.args), "invalid_input")
			if errObj["field"] != tc.field || !strings.Contains(errObj["message"].(string), tc.says) {
				t.Errorf("field %v message %q, want %s saying %q", errObj["field"], errObj["message"], tc.field, tc.says)
			}
			if n := e.graphCalls() - before; n != 0 {
				t.Errorf("%d Graph requests", n)
			}
		})
	}
	// At the limits everything passes, and the first comment is posted.
	res := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "caption": "#a #b #c #d #e @x@y mail@example.com",
		"first_comment": strings.Repeat("#t ", 30)}))
	if res["first_comment_id"] == nil {
		t.Fatalf("no first comment: %v", res)
	}
}

// Story tags without a position are sent without one (Instagram allows
// them since July 2025); tags on images still need theirs. (Mutant:
// StoryInput checks tags as positioned: the Story is refused.)
func TestInputRules_StoryTagsWithoutPosition(t *testing.T) {
	e := newEnv(t, envOpts{})
	mustOK(t, e.call(t, "publish_story", map[string]any{"image_url": jpeg, "user_tags": []any{map[string]any{"username": "friend"}}}))
	ps := e.containerParams()
	if len(ps) != 1 || ps[0].Get("user_tags") != `[{"username":"friend"}]` {
		t.Fatalf("container parameters %v, want user_tags without x and y", ps)
	}
	errObj := mustErr(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "user_tags": []any{map[string]any{"username": "friend"}}}), "invalid_input")
	if errObj["field"] != "user_tags[0].x" {
		t.Fatalf("image tag without position: %v", errObj)
	}
	if n := len(e.containerParams()); n != 1 {
		t.Fatalf("%d containers, the refused post made one", n)
	}
}
