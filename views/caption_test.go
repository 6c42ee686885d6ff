package views_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/views"
)

// The preview counts with the server's rules: its script holds publish's
// patterns and limits, and no placeholder is left. (Mutant: preview.js with
// its own copy of the patterns: the built script lacks publish's.)
func TestPreview_CountsWithTheServersRules(t *testing.T) {
	docs, err := views.Build(views.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var html string
	for _, d := range docs {
		if d.URI == views.PreviewURI {
			html = d.HTML
		}
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, want := range []string{
		"new RegExp(" + js(publish.HashtagPattern) + `, "gu")`,
		"new RegExp(" + js(publish.MentionPattern) + `, "gu")`,
		`"hashtags":5`, `"mentions":20`, `"caption":2200`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the preview lacks %s", want)
		}
	}
	for _, left := range []string{"/*CAPTION_LIMITS*/", "/*HASHTAG_PATTERN*/", "/*MENTION_PATTERN*/"} {
		if strings.Contains(html, left) {
			t.Errorf("placeholder %s left in the preview", left)
		}
	}
}

// In the browser, the preview finds the hashtags and mentions validation
// counts, written out here by hand: tags and mentions written together and
// full-width ones count, an e-mail address does not.
func testCaptionRules(t *testing.T, sb *sandbox, h *host, b *browser) {
	img := sb.putJPEG("/rules.jpg", 1080, 1080)
	caption := "#a#b ＃c with @x@y and ＠z, mail me@example.com"
	if got, want := strings.Join(publish.Hashtags(caption), " "), "#a #b ＃c"; got != want {
		t.Fatalf("server hashtags %q, want %q", got, want)
	}
	if got, want := strings.Join(publish.Mentions(caption), " "), "x y z"; got != want {
		t.Fatalf("server mentions %q, want %q", got, want)
	}
	preview(t, sb, h, b, "post", map[string]any{"image_url": img, "caption": caption}, true, look{})
	counts := get[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll("[data-count]"), e => [e.dataset.count, e.querySelector(".count").textContent]))`)
	if counts["hashtags"] != "3 / 5" || counts["mentions"] != "3 / 20" {
		t.Errorf("counts %v", counts)
	}
	if got := get[[]string](t, b, `Array.from(document.querySelectorAll(".caption .hashtag, .caption .mention"), e => e.textContent)`); strings.Join(got, " ") != "#a #b ＃c @x @y ＠z" {
		t.Errorf("highlighted %q", got)
	}
}
