package views_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/igmcp/igmcp/tools/toolstest"
	"github.com/igmcp/igmcp/views"
)

// testInsights publishes 30 posts over 30 days through the publishing tools
// (every fifth a Reel), renders get_insights of the last Reel, then lets
// the view chart the last 30 posts through the bridge.
func testInsights(t *testing.T, sb *sandbox, h *host, b *browser) {
	video := putMP4(sb, "/clip.mp4", 1080, 1920, 15)
	var ids []string
	var reels []string
	for i := range 30 {
		sb.clock.Advance(24 * time.Hour)
		var v map[string]any
		if i%5 == 4 {
			v = toolstest.Structured(t, sb.call(t, "publish_reel", map[string]any{"video_url": video, "caption": fmt.Sprintf("Reel of day %d #daily", i+1)}))
		} else {
			img := sb.putJPEG(fmt.Sprintf("/day-%d.jpg", i), 1080, 1080)
			v = toolstest.Structured(t, sb.call(t, "create_post", map[string]any{"image_url": img, "caption": fmt.Sprintf("Day %d on the coast", i+1)}))
		}
		id, _ := v["media_id"].(string)
		if v["status"] != "published" || id == "" {
			t.Fatalf("post %d: %v", i, v)
		}
		ids = append(ids, id)
		if i%5 == 4 {
			reels = append(reels, id)
		}
	}
	reel := reels[len(reels)-1]
	args := map[string]any{"media_id": reel, "metrics": []any{"views", "reach", "total_interactions", "ig_reels_avg_watch_time", "reels_skip_rate"}}
	res := sb.call(t, "get_insights", args)
	if res.IsError {
		t.Fatalf("get_insights: %v", toolstest.Structured(t, res))
	}
	values := map[string]float64{}
	for _, r := range toolstest.Structured(t, res)["rows"].([]any) {
		row := r.(map[string]any)
		values[row["metric"].(string)] = row["value"].(float64)
	}
	if len(values) != 5 {
		t.Fatalf("rows %v", values)
	}

	for _, theme := range []string{"light", "dark"} {
		h.show(t, b, views.InsightsURI, "get_insights", args, res, look{theme: theme})
		b.settled(t)
		tiles := get[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll("#totals .tile"), e => [e.dataset.metric, e.querySelector(".tile-v").textContent]))`)
		want := map[string]string{
			"views":                   thousands(values["views"]),
			"reach":                   thousands(values["reach"]),
			"total_interactions":      thousands(values["total_interactions"]),
			"ig_reels_avg_watch_time": fmt.Sprintf("%.1f s", values["ig_reels_avg_watch_time"]/1000),
			"reels_skip_rate":         fmt.Sprintf("%.1f %%", values["reels_skip_rate"]),
		}
		for k, w := range want {
			if tiles[k] != w {
				t.Errorf("%s: tile %q, want %q (tiles %v)", theme, tiles[k], w, tiles)
			}
		}
		if n := get[int](t, b, `document.querySelectorAll("#chart-totals rect.bar").length`); n != 3 {
			t.Errorf("%d bars for the 3 count metrics", n)
		}
		skipped := get[float64](t, b, `document.querySelector("#chart-retention rect.skipped").getAttribute("width") / 640`)
		if d := skipped*100 - values["reels_skip_rate"]; d > 0.1 || d < -0.1 {
			t.Errorf("retention bar shows %.2f %% skipped, want %.2f", skipped*100, values["reels_skip_rate"])
		}

		b.press(t, "#load-posts", kb.Enter)
		b.waitFor(t, "30 posts charted", `document.querySelectorAll("#posts-table tbody tr").length === 30 && document.getElementById("app").getAttribute("aria-busy") === "false"`)
		calls := h.toolCalls()
		if len(calls) != 31 || calls[0].Name != "list_media" || !sameJSON(calls[0].Arguments, map[string]any{"limit": 30}) {
			t.Fatalf("%s: %d tool calls, first %+v; want list_media {limit: 30} and 30 get_insights", theme, len(calls), calls[0])
		}
		var asked []string
		for _, c := range calls[1:] {
			id, _ := c.Arguments["media_id"].(string)
			metrics := fmt.Sprint(c.Arguments["metrics"])
			wantMetrics := "[views reach total_interactions]"
			if slices.Contains(reels, id) {
				wantMetrics = "[views reach total_interactions ig_reels_avg_watch_time reels_skip_rate]"
			}
			if c.Name != "get_insights" || metrics != wantMetrics || len(c.Arguments) != 2 {
				t.Errorf("call %+v, want get_insights of %s", c, wantMetrics)
			}
			asked = append(asked, id)
		}
		sort.Strings(asked)
		if all := slices.Sorted(slices.Values(ids)); !slices.Equal(asked, all) {
			t.Errorf("insights asked for %v, want the 30 posts %v", asked, all)
		}
		points := get[map[string]int](t, b, `Object.fromEntries(Array.from(document.querySelectorAll("#posts [data-chart]"), e => [e.dataset.chart, Number(e.dataset.points)]))`)
		if points["chart-posts-reach"] != 60 || points["chart-posts-interactions"] != 30 || points["chart-posts-watch"] != 6 || points["chart-posts-skip"] != 6 {
			t.Errorf("points per chart %v", points)
		}
		if n := get[int](t, b, `document.querySelectorAll("#chart-posts-reach circle.pt").length`); n != 60 {
			t.Errorf("%d points drawn in the views/reach chart", n)
		}
		// The Reel of the result stands out (views and reach), Reels are hollow.
		if n := get[int](t, b, `document.querySelectorAll("#chart-posts-reach circle.hl").length`); n != 2 {
			t.Errorf("%d highlighted points, want 2", n)
		}
		if n := get[int](t, b, `document.querySelectorAll("#chart-posts-reach circle.reel").length`); n != 12 {
			t.Errorf("%d Reel points, want 12", n)
		}
		// Oldest first; the result's Reel shows the values get_insights gave.
		first := get[string](t, b, `document.querySelector("#posts-table tbody tr").dataset.media`)
		if first != ids[0] {
			t.Errorf("first table row %s, want the oldest post %s", first, ids[0])
		}
		row := get[[]string](t, b, fmt.Sprintf(`Array.from(document.querySelectorAll('#posts-table tr[data-media=%q] td'), e => e.textContent)`, reel))
		if len(row) != 7 || row[1] != "Reel" || row[2] != thousands(values["views"]) || row[3] != thousands(values["reach"]) || row[4] != thousands(values["total_interactions"]) {
			t.Errorf("table row of %s: %q", reel, row)
		}
		// Readable: text and lines stand out from the background.
		colours := get[map[string]string](t, b, `(() => { const c = (s, p) => getComputedStyle(document.querySelector(s))[p]; return { bg: c("body", "backgroundColor"), text: c("body", "color"), tick: c("#chart-posts-reach .tick", "fill"), line0: c("#chart-posts-reach .line.s0", "stroke"), line1: c("#chart-posts-reach .line.s1", "stroke") }; })()`)
		wantBG := map[string]string{"light": "rgb(255, 255, 255)", "dark": "rgb(22, 22, 24)"}[theme]
		if colours["bg"] != wantBG {
			t.Errorf("%s background %s, want %s", theme, colours["bg"], wantBG)
		}
		for k, min := range map[string]float64{"text": 7, "tick": 4.5, "line0": 3, "line1": 3} {
			if c := contrast(t, colours[k], colours["bg"]); c < min {
				t.Errorf("%s: %s %s on %s has contrast %.2f, want ≥ %.1f", theme, k, colours[k], colours["bg"], c, min)
			}
		}
		b.screenshot(t, "insights-30-posts-"+theme)
		b.checkClean(t, h.hostSrv.URL)
	}
}

// thousands writes a whole number as en-US does: 12,345.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
