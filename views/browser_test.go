package views_test

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/tools/toolstest"
	"github.com/igmcp/igmcp/views"
)

// TestViewsInBrowser renders both views in headless Chromium through a
// minimal host page that speaks the Apps bridge, fed with the results of
// real tool calls against the sandbox, and checks the DOM. Screenshots go to
// testdata/screenshots.
func TestViewsInBrowser(t *testing.T) {
	sb := newSandbox(t)
	b := newBrowser(t, sb.media.TS.Listener.Addr().String())
	h := newHost(t, sb)

	t.Run("image_post", func(t *testing.T) { testImagePost(t, sb, h, b) })
	t.Run("carousel_wrong_ratio", func(t *testing.T) { testCarousel(t, sb, h, b) })
	t.Run("reel", func(t *testing.T) { testReel(t, sb, h, b) })
	t.Run("long_caption", func(t *testing.T) { testLongCaption(t, sb, h, b) })
	t.Run("caption_rules", func(t *testing.T) { testCaptionRules(t, sb, h, b) })
	t.Run("draft", func(t *testing.T) { testDraft(t, sb, h, b) })
	t.Run("story", func(t *testing.T) { testStory(t, sb, h, b) })
	t.Run("insights_30_posts", func(t *testing.T) { testInsights(t, sb, h, b) })
}

// cropOf reads an item's data-crop ("x y w h", fractions of the media).
func cropOf(t *testing.T, b *browser, sel string) [4]float64 {
	t.Helper()
	s := get[string](t, b, fmt.Sprintf(`document.querySelector(%q).dataset.crop || ""`, sel))
	var c [4]float64
	if _, err := fmt.Sscanf(s, "%g %g %g %g", &c[0], &c[1], &c[2], &c[3]); err != nil {
		t.Fatalf("%s data-crop %q: %v", sel, s, err)
	}
	return c
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.002 }

func checkCrop(t *testing.T, b *browser, sel string, want [4]float64) {
	t.Helper()
	got := cropOf(t, b, sel)
	for i := range got {
		if !near(got[i], want[i]) {
			t.Errorf("%s crop = %v, want %v", sel, got, want)
			return
		}
	}
}

// frameBox is the on-screen width/height ratio of the post frame.
func frameBox(t *testing.T, b *browser) float64 {
	t.Helper()
	return get[float64](t, b, `(() => { const r = document.getElementById("frame").getBoundingClientRect(); return r.width / r.height; })()`)
}

// checkFrame checks the post frame's ratio, as the view states it and as
// it is drawn.
func checkFrame(t *testing.T, b *browser, ratio float64) {
	t.Helper()
	if got, want := get[string](t, b, `document.getElementById("frame").dataset.frameRatio`), fmt.Sprintf("%.4f", ratio); got != want {
		t.Errorf("frame ratio %s, want %s", got, want)
	}
	if r := frameBox(t, b); !near(r, ratio) {
		t.Errorf("frame drawn at %.4f, want %.4f", r, ratio)
	}
}

// preview checks a post with validate_post (which must find it valid or
// not, as said) and shows the result in the preview.
func preview(t *testing.T, sb *sandbox, h *host, b *browser, kind string, post map[string]any, valid bool, l look) (*mcp.CallToolResult, map[string]any) {
	t.Helper()
	args := map[string]any{"kind": kind, "post": post}
	res := sb.call(t, "validate_post", args)
	v := toolstest.Structured(t, res)
	if res.IsError || v["valid"] != valid {
		t.Fatalf("validate_post: %v, want valid %v", v, valid)
	}
	h.show(t, b, views.PreviewURI, "validate_post", args, res, l)
	b.settled(t)
	return res, v
}

// approvalKeyRE is the form of the idempotency key validate_post derives
// for an approval.
var approvalKeyRE = regexp.MustCompile(`^approve-[0-9a-f]{32}$`)

// checkApproval checks the view's one tool call: the kind's publishing
// tool with exactly the checked post plus the idempotency key validate_post
// derived (so a second approval replays the first publish); it returns
// the key.
func checkApproval(t *testing.T, calls []toolCall, tool string, post map[string]any) string {
	t.Helper()
	if len(calls) != 1 || calls[0].Name != tool {
		t.Fatalf("tool calls from the view: %+v, want one %s", calls, tool)
	}
	args := maps.Clone(calls[0].Arguments)
	key, _ := args["idempotency_key"].(string)
	delete(args, "idempotency_key")
	if !approvalKeyRE.MatchString(key) || !sameJSON(args, post) {
		t.Errorf("%s arguments %v, want %v plus a derived idempotency_key", tool, calls[0].Arguments, post)
	}
	return key
}

func testImagePost(t *testing.T, sb *sandbox, h *host, b *browser) {
	img := sb.putJPEG("/portrait.jpg", 1080, 1350)
	post := map[string]any{
		"image_url":     img,
		"caption":       "Golden hour on the pier with @maya.sails 🌅 #sunset #pier #goldenhour",
		"alt_text":      "A wooden pier at sunset, two people sitting at the end.",
		"user_tags":     []any{map[string]any{"username": "maya.sails", "x": 0.62, "y": 0.7}},
		"collaborators": []any{"harbour_studio"},
	}
	res, v := preview(t, sb, h, b, "post", post, true, look{})

	// 1080×1350 is 4:5: shown whole, at 4:5.
	checkFrame(t, b, 0.8)
	checkCrop(t, b, "#item-0", [4]float64{0, 0, 1, 1})
	if got := get[string](t, b, `document.querySelector("#frame img").src`); got != img {
		t.Errorf("frame shows %q, want %q", got, img)
	}
	// Counts against the limits, highlighted tags, alt text, tags.
	counts := get[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll("[data-count]"), e => [e.dataset.count, e.querySelector(".count").textContent]))`)
	if counts["hashtags"] != "3 / 5" || counts["mentions"] != "1 / 20" || counts["chars"] != "68 / 2,200" {
		t.Errorf("counts %v", counts)
	}
	if got := get[[]string](t, b, `Array.from(document.querySelectorAll(".caption .hashtag, .caption .mention"), e => e.textContent)`); strings.Join(got, " ") != "@maya.sails #sunset #pier #goldenhour" {
		t.Errorf("highlighted %q", got)
	}
	if got := get[string](t, b, `document.querySelector("#item-0 .alt").textContent`); got != "Alt text: A wooden pier at sunset, two people sitting at the end." {
		t.Errorf("alt text %q", got)
	}
	if got := get[string](t, b, `document.querySelector("#frame img").alt`); got != post["alt_text"] {
		t.Errorf("img alt %q", got)
	}
	if n := get[int](t, b, `document.querySelectorAll("#item-0 .tagdot").length`); n != 1 {
		t.Errorf("%d tag markers", n)
	}
	if got := get[string](t, b, `document.getElementById("collaborators").textContent`); !strings.Contains(got, "1 / 3") || !strings.Contains(got, "@harbour_studio") {
		t.Errorf("collaborators %q", got)
	}
	if got := get[string](t, b, `document.getElementById("status").textContent`); got != "Ready to publish" {
		t.Errorf("status %q", got)
	}
	b.screenshot(t, "preview-image-post")
	checkBridge(t, b)
	// The arguments Approve sends, shown: the post and the derived key.
	b.press(t, ".approve summary", kb.Enter)
	b.waitFor(t, "the arguments", `document.querySelector(".approve details").open`)
	b.screenshot(t, "preview-image-post-arguments")

	if got := get[string](t, b, `document.querySelector(".phone-head b").textContent`); got != sb.account.Username {
		t.Errorf("the post is shown as by %q, want the account's username %q", got, sb.account.Username)
	}

	// Approve with the keyboard, then again (and a click): exactly one
	// tools/call, create_post with exactly the validated arguments and the
	// derived key, one media_publish.
	before := sb.publishCount()
	b.press(t, "#approve", kb.Enter)
	b.waitFor(t, "the publish outcome", `document.getElementById("outcome") && document.getElementById("outcome").textContent.startsWith("Published")`)
	if err := chromedp.Do(b.tab, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	_ = b.eval(t, `document.getElementById("approve").click()`, nil)
	b.barrier(t)
	if n := b.viewCalls(t); n != 1 {
		t.Errorf("the view sent %d tools/call, want 1", n)
	}
	key := checkApproval(t, h.toolCalls(), "create_post", post)
	// What was sent is what the view showed under "Arguments", and what
	// validate_post said to send.
	shown := get[map[string]any](t, b, `JSON.parse(document.getElementById("approve-args").textContent)`)
	if approve, _ := v["approve"].(map[string]any); !sameJSON(shown, h.toolCalls()[0].Arguments) || !sameJSON(shown, approve["arguments"]) {
		t.Errorf("the view showed %v, sent %v; validate_post's approve %v", shown, h.toolCalls()[0].Arguments, approve)
	}
	if n := sb.publishCount() - before; n != 1 {
		t.Errorf("%d media_publish requests, want 1", n)
	}
	if got := get[bool](t, b, `document.getElementById("approve").disabled`); !got {
		t.Error("Approve is still enabled after the publish")
	}
	b.screenshot(t, "preview-image-post-approved")
	b.checkClean(t, h.hostSrv.URL, img)

	// The host renders the same result again later (a reloaded
	// conversation) and the user approves again: the same call, which
	// replays the first post; still one media_publish.
	h.show(t, b, views.PreviewURI, "validate_post", map[string]any{"kind": "post", "post": post}, res, look{})
	b.settled(t)
	b.press(t, "#approve", kb.Enter)
	b.waitFor(t, "the second outcome", `document.getElementById("outcome") && document.getElementById("outcome").textContent.startsWith("Published")`)
	if again := checkApproval(t, h.toolCalls(), "create_post", post); again != key {
		t.Errorf("the second approval used key %s, the first %s", again, key)
	}
	if got := get[string](t, b, `document.getElementById("outcome").textContent`); !strings.Contains(got, "already published earlier; nothing new was posted") {
		t.Errorf("second outcome %q, want the first post replayed", got)
	}
	if n := sb.publishCount() - before; n != 1 {
		t.Errorf("%d media_publish requests after approving twice, want 1", n)
	}
	b.screenshot(t, "preview-image-post-approved-again")
	b.checkClean(t, h.hostSrv.URL, img)
}

func testCarousel(t *testing.T, sb *sandbox, h *host, b *browser) {
	// Item 0 decides the frame: 4:5. Item 6 is 9:16, which Instagram
	// refuses for feed images (4:5 … 1.91:1).
	sizes := [][2]int{{1080, 1350}, {1080, 1080}, {1920, 1080}, {1080, 1350}, {1200, 1200}, {1350, 1080}, {1080, 1920}, {1080, 1080}, {1440, 1800}, {1080, 1080}}
	var items []any
	var urls []string
	for i, s := range sizes {
		u := sb.putJPEG(fmt.Sprintf("/carousel-%d.jpg", i), s[0], s[1])
		urls = append(urls, u)
		items = append(items, map[string]any{"image_url": u, "alt_text": fmt.Sprintf("Photo %d of the market", i+1)})
	}
	post := map[string]any{"items": items, "caption": "Ten stalls, ten stories. #market #streetfood"}
	_, v := preview(t, sb, h, b, "carousel", post, false, look{})
	checkFrame(t, b, 0.8) // the first item's 4:5
	if n := get[int](t, b, `document.querySelectorAll("#items article.item").length`); n != 10 {
		t.Fatalf("%d item cards, want 10", n)
	}
	// Crops to 4:5, by hand: a square keeps 0.8 of its width from x=0.1; a
	// 16:9 keeps 0.8/(16/9)=0.45 from x=0.275; 5:4 keeps 0.64 from 0.18; a
	// 9:16 keeps (9/16)/0.8=0.703125 of its height from y=0.1484375.
	checkCrop(t, b, "#item-0", [4]float64{0, 0, 1, 1})
	checkCrop(t, b, "#item-1", [4]float64{0.1, 0, 0.8, 1})
	checkCrop(t, b, "#item-2", [4]float64{0.275, 0, 0.45, 1})
	checkCrop(t, b, "#item-5", [4]float64{0.18, 0, 0.64, 1})
	checkCrop(t, b, "#item-6", [4]float64{0, 0.1484375, 1, 0.703125})
	checkCrop(t, b, "#item-8", [4]float64{0, 0, 1, 1})
	// The crop window is drawn where data-crop says, over the whole image.
	win := get[[]float64](t, b, `(() => { const i = document.querySelector("#item-2 .thumb-inner").getBoundingClientRect(), c = document.querySelector("#item-2 .crop").getBoundingClientRect(); return [(c.left - i.left) / i.width, c.width / i.width]; })()`)
	if len(win) != 2 || math.Abs(win[0]-0.275) > 0.02 || math.Abs(win[1]-0.45) > 0.02 {
		t.Errorf("item 3's crop window at %v of the image, want [0.275 0.45]", win)
	}

	// The aspect-ratio problem is listed with item 7 (index 6), nowhere else.
	where := get[map[string][]string](t, b, `(() => { const out = {}; for (const li of document.querySelectorAll(".problems li")) { const at = li.closest("[id]").id; (out[at] = out[at] || []).push(li.dataset.field + " " + (li.dataset.rule || "")); } return out; })()`)
	want := "post.items[6].image_url image.aspect_ratio"
	if len(where["item-6"]) != 1 || where["item-6"][0] != want {
		t.Errorf("problems by place %v, want %q with item-6", where, want)
	}
	for place, list := range where {
		if place != "item-6" {
			t.Errorf("unexpected problems at %s: %v", place, list)
		}
	}
	for _, p := range v["problems"].([]any) {
		if f := p.(map[string]any)["field"]; f != "post.items[6].image_url" {
			t.Errorf("validate_post reported %v, which the view must place too", p)
		}
	}
	// Preflight's warning about item 3's width is with item 3.
	warned := get[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll(".warnings li"), li => [li.closest("[id]").id, li.dataset.field]))`)
	if len(warned) != 1 || warned["item-2"] != "items[2].image_url" {
		t.Errorf("warnings by place %v, want the items[2].image_url one with item-2", warned)
	}
	if !get[bool](t, b, `document.getElementById("approve").disabled`) {
		t.Error("Approve is enabled for a post that would fail")
	}
	// Keyboard: arrow keys move through the carousel.
	b.press(t, "#frame", kb.ArrowRight)
	b.waitFor(t, "the second item", `document.querySelector("#frame .counter").textContent === "2/10"`)
	if got := get[string](t, b, `document.querySelector("#frame img").src`); got != urls[1] {
		t.Errorf("after ArrowRight the frame shows %q", got)
	}
	b.press(t, "#frame", kb.ArrowLeft)
	b.waitFor(t, "the first item again", `document.querySelector("#frame .counter").textContent === "1/10"`)
	b.screenshot(t, "preview-carousel-wrong-ratio")
	if n := len(h.toolCalls()); n != 0 {
		t.Errorf("the view made %d tool calls", n)
	}
	b.checkClean(t, h.hostSrv.URL, urls...)
}

func testReel(t *testing.T, sb *sandbox, h *host, b *browser) {
	video := putMP4(sb, "/reel.mp4", 1080, 1920, 21)
	cover := sb.putJPEG("/reel-cover.jpg", 1080, 1920)
	post := map[string]any{
		"video_url": video, "cover_url": cover,
		"caption":       "60 seconds of the morning swell. @coastal.crew #surf",
		"share_to_feed": true, "audio_name": "Morning swell (original)",
		"collaborators": []any{"coastal.crew"},
	}
	preview(t, sb, h, b, "reel", post, true, look{theme: "dark", vars: hostVariables()})
	checkFrame(t, b, 9.0/16)
	if got := get[string](t, b, `document.getElementById("frame").dataset.ratioName`); got != "9:16" {
		t.Errorf("frame %s, want 9:16", got)
	}
	if got := get[string](t, b, `document.querySelector("#frame img").src`); got != cover {
		t.Errorf("the Reel frame shows %q, want the cover %q", got, cover)
	}
	if got := get[string](t, b, `document.querySelector("#item-0 h3").textContent`); got != "Video 1080×1920 · 9:16 · mp4 · 4 KB · 21 s" {
		t.Errorf("video info %q", got)
	}
	if got := get[[]string](t, b, `Array.from(document.querySelectorAll("#cover figcaption"), e => e.textContent)`); strings.Join(got, "|") != "Reel 9:16|Feed grid 1:1" {
		t.Errorf("cover crops %q", got)
	}
	if got := get[string](t, b, `document.documentElement.dataset.theme`); got != "dark" {
		t.Errorf("theme %q", got)
	}
	b.screenshot(t, "preview-reel-dark")
	b.checkClean(t, h.hostSrv.URL, cover, video)
}

func testLongCaption(t *testing.T, sb *sandbox, h *host, b *browser) {
	img := sb.putJPEG("/square.jpg", 1080, 1080)
	// The first 125 characters, written out (the emoji is one character
	// and two UTF-16 units), then enough text for 2300 characters with 8
	// hashtags and 3 mentions in all.
	head := "Day 12 of the coast walk 🥾 from Porthleven to Mullion: cliffs, coves and one very stubborn goat who would not let us pass. Ev"
	if n := utf8.RuneCountInString(head); n != 125 {
		t.Fatalf("head is %d characters", n)
	}
	tail := " Every step was worth it. With @ana.walks and @tom_outdoors, thanks to @coastpath. #coastwalk #cornwall #hiking #goat #cliffs #travel #outdoors #uk "
	caption := head + tail
	for utf8.RuneCountInString(caption) < 2300 {
		caption += "More of the path. "
	}
	caption = string([]rune(caption)[:2300])
	post := map[string]any{"image_url": img, "caption": caption}
	preview(t, sb, h, b, "post", post, false, look{})
	if got := get[string](t, b, `document.querySelector(".caption .caption-text").textContent`); got != head {
		t.Errorf("shown caption %q, want the first 125 characters %q", got, head)
	}
	if got := get[string](t, b, `document.querySelector(".caption").textContent`); !strings.HasSuffix(got, head+"… more") {
		t.Errorf("caption line %q does not end in the cut and \"… more\"", got)
	}
	counts := get[map[string][]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll("[data-count]"), e => [e.dataset.count, [e.querySelector(".count").textContent, e.className]]))`)
	if c := counts["chars"]; c[0] != "2,300 / 2,200" || c[1] != "over" {
		t.Errorf("characters %v", c)
	}
	if c := counts["hashtags"]; c[0] != "8 / 5" || c[1] != "over" {
		t.Errorf("hashtags %v", c)
	}
	if c := counts["mentions"]; c[0] != "3 / 20" || c[1] != "" {
		t.Errorf("mentions %v", c)
	}
	if got := get[[]string](t, b, `Array.from(document.querySelectorAll("#caption-box .problems li"), e => e.dataset.field)`); len(got) != 1 || got[0] != "post.caption" {
		t.Errorf("caption problems %v, want the post.caption one in the caption box", got)
	}
	if !get[bool](t, b, `document.getElementById("approve").disabled`) {
		t.Error("Approve is enabled for a caption Instagram refuses")
	}
	b.screenshot(t, "preview-long-caption")
	// A narrow chat column: the same view, stacked.
	preview(t, sb, h, b, "post", post, false, look{width: 380})
	if w := get[float64](t, b, `document.getElementById("frame").getBoundingClientRect().right`); w > 380 {
		t.Errorf("the post frame ends at %.0f px in a 380 px frame", w)
	}
	b.screenshot(t, "preview-long-caption-narrow")
	b.press(t, ".caption button", kb.Enter)
	b.waitFor(t, "the whole caption", `document.querySelector(".caption").dataset.shown === "2300"`)
	if got := get[int](t, b, `Array.from(document.querySelector(".caption .caption-text").textContent).length`); got != 2300 {
		t.Errorf("expanded caption has %d characters", got)
	}
	b.checkClean(t, h.hostSrv.URL, img)
}

func testDraft(t *testing.T, sb *sandbox, h *host, b *browser) {
	img := sb.putJPEG("/draft.jpg", 1080, 1350)
	args := map[string]any{"image_url": img, "caption": "Draft for Friday. #friday", "publish": false}
	res := sb.call(t, "create_post", args)
	v := toolstest.Structured(t, res)
	if res.IsError || v["status"] != "draft" {
		t.Fatalf("create_post publish=false: %v", v)
	}
	container := v["container_id"].(string)
	before := sb.publishCount()
	h.show(t, b, views.PreviewURI, "create_post", args, res, look{})
	b.settled(t)
	// The draft result has no media dimensions: the frame follows the image
	// once it loaded (1080×1350: 4:5).
	b.waitFor(t, "the frame to take the image's ratio", `document.getElementById("frame").dataset.frameRatio === "0.8000"`)
	if got := get[string](t, b, `document.getElementById("status").textContent`); got != "Draft ready" {
		t.Errorf("status %q", got)
	}
	b.press(t, "#approve", kb.Enter)
	b.waitFor(t, "the publish outcome", `document.getElementById("outcome") && document.getElementById("outcome").textContent.startsWith("Published")`)
	calls := h.toolCalls()
	if len(calls) != 1 || calls[0].Name != "publish_container" || !sameJSON(calls[0].Arguments, map[string]any{"container_id": container}) {
		t.Fatalf("tool calls %+v, want one publish_container of %s", calls, container)
	}
	if n := sb.publishCount() - before; n != 1 {
		t.Errorf("%d media_publish requests, want 1", n)
	}
	// "Open on Instagram" asks the host to open the permalink (ui/open-link).
	b.press(t, `[data-key="open"]`, kb.Enter)
	b.barrier(t)
	var permalink, opened string
	for _, m := range b.hostLog(t) {
		if r, ok := m.Msg["result"].(map[string]any); ok && m.Dir == "host" {
			if sc, ok := r["structuredContent"].(map[string]any); ok && sc["permalink"] != nil {
				permalink, _ = sc["permalink"].(string)
			}
		}
		if m.Dir == "view" && m.Msg["method"] == "ui/open-link" {
			opened, _ = m.Msg["params"].(map[string]any)["url"].(string)
		}
	}
	if !strings.HasPrefix(permalink, "https://www.instagram.com/") || opened != permalink {
		t.Errorf("opened %q, want the permalink %q", opened, permalink)
	}
	b.screenshot(t, "preview-draft-approved")
	b.checkClean(t, h.hostSrv.URL, img)
}

func testStory(t *testing.T, sb *sandbox, h *host, b *browser) {
	img := sb.putJPEG("/story.jpg", 1080, 1920)
	post := map[string]any{"image_url": img, "user_tags": []any{map[string]any{"username": "kai.builds", "x": 0.5, "y": 0.4}}}
	preview(t, sb, h, b, "story", post, true, look{})
	checkFrame(t, b, 9.0/16)
	if got := get[string](t, b, `document.querySelector(".caption").textContent`); got != "Stories have no caption." {
		t.Errorf("caption %q", got)
	}
	if n := get[int](t, b, `document.querySelectorAll("#caption-box, #collaborators").length`); n != 0 {
		t.Errorf("%d caption or collaborator sections for a story", n)
	}
	if got := get[string](t, b, `document.querySelector("#item-0 .tags").textContent`); got != "Tagged: @kai.builds (0.5, 0.4)" {
		t.Errorf("tags %q", got)
	}
	before := sb.publishCount()
	b.press(t, "#approve", kb.Enter)
	b.waitFor(t, "the publish outcome", `document.getElementById("outcome") && document.getElementById("outcome").textContent.startsWith("Published")`)
	checkApproval(t, h.toolCalls(), "publish_story", post)
	if n := sb.publishCount() - before; n != 1 {
		t.Errorf("%d media_publish requests, want 1", n)
	}
	b.screenshot(t, "preview-story-approved")
	b.checkClean(t, h.hostSrv.URL, img)
}

// hostVariables are some of SEP-1865's standardized theme variables, as a
// host with its own palette passes them.
func hostVariables() map[string]string {
	return map[string]string{
		"--color-background-primary": "light-dark(#ffffff, #1f1e1d)",
		"--color-text-primary":       "light-dark(#1f1e1d, #f5f4ef)",
		"--color-text-info":          "light-dark(#2f6fd6, #86b3ff)",
		"--font-sans":                "\"DejaVu Sans\", sans-serif",
	}
}

// checkBridge checks the view's side of the bridge in the host's log
// (SEP-1865 "Lifecycle"): ui/initialize first, with the protocol version,
// app info and capabilities; ui/notifications/initialized before the host
// sent anything else; size reports; an answer to the host's ping.
func checkBridge(t *testing.T, b *browser) {
	t.Helper()
	msgs := b.hostLog(t)
	if len(msgs) < 4 {
		t.Fatalf("bridge log %v", msgs)
	}
	first := msgs[0]
	params, _ := first.Msg["params"].(map[string]any)
	caps, _ := params["appCapabilities"].(map[string]any)
	info, _ := params["appInfo"].(map[string]any)
	if first.Dir != "view" || first.Msg["method"] != "ui/initialize" || params["protocolVersion"] != "2026-01-26" ||
		info["name"] != "igmcp post preview" || fmt.Sprint(caps["availableDisplayModes"]) != "[inline]" {
		t.Errorf("first message %v", first)
	}
	// The host's answer, then the view's initialized, then tool data.
	if msgs[1].Dir != "host" || msgs[1].Msg["id"] != first.Msg["id"] || msgs[2].Dir != "view" || msgs[2].Msg["method"] != "ui/notifications/initialized" {
		t.Errorf("handshake %v %v", msgs[1], msgs[2])
	}
	var sizes, pongs int
	for _, m := range msgs {
		if m.Dir != "view" {
			continue
		}
		if m.Msg["method"] == "ui/notifications/size-changed" {
			sizes++
		}
		if m.Msg["id"] == "host-ping" {
			if _, ok := m.Msg["result"].(map[string]any); !ok {
				t.Errorf("ping answered %v", m.Msg)
			}
			pongs++
		}
		if m.Msg["jsonrpc"] != "2.0" {
			t.Errorf("not JSON-RPC 2.0: %v", m.Msg)
		}
	}
	if sizes == 0 || pongs != 1 {
		t.Errorf("%d size reports, %d ping answers", sizes, pongs)
	}
}
