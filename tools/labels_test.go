package tools_test

import (
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
)

// The AI label and the paid partnership label reach the container that is
// published — a carousel's parent, never its items — and nothing else is
// labelled. (Mutant: Common.apply without Labels: no label is sent.)
func TestLabels_SentOnThePublishedContainer(t *testing.T) {
	e := newEnv(t, envOpts{})
	mustOK(t, e.call(t, "create_carousel", map[string]any{
		"items":           []any{map[string]any{"image_url": jpeg}, map[string]any{"image_url": jpeg}},
		"is_ai_generated": true, "is_paid_partnership": true, "sponsor_ids": []any{"17841400000000077", "17841400000000078"},
	}))
	ps := e.containerParams()
	if len(ps) != 3 {
		t.Fatalf("%d containers, want 2 items and the parent", len(ps))
	}
	for i, p := range ps[:2] {
		for _, k := range []string{"is_ai_generated", "is_paid_partnership", "branded_content_sponsor_ids"} {
			if p.Has(k) {
				t.Errorf("item %d carries %s", i, k)
			}
		}
	}
	parent := ps[2]
	if parent.Get("media_type") != "CAROUSEL" || parent.Get("is_ai_generated") != "true" || parent.Get("is_paid_partnership") != "true" ||
		parent.Get("branded_content_sponsor_ids") != `["17841400000000077","17841400000000078"]` {
		t.Errorf("parent parameters %v", parent)
	}

	mustOK(t, e.call(t, "publish_story", map[string]any{"image_url": jpeg, "is_ai_generated": true}))
	mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}))
	ps = e.containerParams()
	if story := ps[3]; story.Get("media_type") != "STORIES" || story.Get("is_ai_generated") != "true" || story.Has("is_paid_partnership") {
		t.Errorf("story parameters %v", story)
	}
	if plain := ps[4]; plain.Has("is_ai_generated") || plain.Has("is_paid_partnership") || plain.Has("branded_content_sponsor_ids") {
		t.Errorf("a post without labels sent %v", plain)
	}
}

// The paid partnership label exists only with Facebook Login: an Instagram
// Login account is refused before any Graph call, the AI label is not.
// (Mutant: prepare without CheckLogin: the call reaches Instagram, which
// refuses it.)
func TestLabels_PartnershipFacebookLoginOnly(t *testing.T) {
	e := newEnv(t, envOpts{login: auth.LoginInstagram})
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"create_post", map[string]any{"image_url": jpeg, "is_paid_partnership": true}},
		{"publish_reel", map[string]any{"video_url": mp4, "is_paid_partnership": true, "sponsor_ids": []any{"17841400000000077"}}},
		{"schedule_post", map[string]any{"kind": "story", "publish_at": time.Now().Add(time.Hour).Format(time.RFC3339), "post": map[string]any{"image_url": jpeg, "is_paid_partnership": true}}},
	} {
		before := e.graphCalls()
		errObj := mustErr(t, e.call(t, tc.tool, tc.args), "invalid_input")
		want := "is_paid_partnership"
		if tc.tool == "schedule_post" {
			want = "post.is_paid_partnership"
		}
		if errObj["field"] != want {
			t.Errorf("%s: field %v, want %s", tc.tool, errObj["field"], want)
		}
		if n := e.graphCalls() - before; n != 0 {
			t.Errorf("%s: %d Graph requests", tc.tool, n)
		}
	}
	mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "is_ai_generated": true}))
	if ps := e.containerParams(); len(ps) != 1 || ps[0].Get("is_ai_generated") != "true" {
		t.Fatalf("AI label under Instagram Login: %v", ps)
	}
}
