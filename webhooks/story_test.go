package webhooks_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/webhooks"
)

// A Story's insights delivered by webhook are what get_insights can answer
// after the Story expired: stored, found as the latest for the media, and
// read back as metrics (with Meta's -1 for counts under 5).
func TestStoryInsightsSurvive(t *testing.T) {
	st := sqliteStore(t)
	r := newReceiver(t, st)
	deliver := func(at int, reach int) {
		body := fmt.Sprintf(`{"object":"instagram","entry":[{"id":"17841400000000001","time":%d,"changes":[{"field":"story_insights","value":{"media_id":"17887498072083520","impressions":444,"reach":%d,"taps_forward":4,"taps_back":-1,"exits":3,"replies":0,"note":"x","ratio":0.5}}]}]}`, at, reach)
		if status, _ := postSigned(t, r, body); status != 200 {
			t.Fatalf("delivery: %d", status)
		}
	}
	deliver(1758700000, 44)
	deliver(1758790000, 51) // added to a highlight: sent again with new numbers
	e, err := st.LatestStoryInsights(t.Context(), "17841400000000001", "17887498072083520")
	if err != nil {
		t.Fatal(err)
	}
	si, err := webhooks.ParseStoryInsights(e)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"impressions": 444, "reach": 51, "taps_forward": 4, "taps_back": -1, "exits": 3, "replies": 0}
	if fmt.Sprint(si.Metrics) != fmt.Sprint(want) || si.MediaID != "17887498072083520" || si.AccountID != "17841400000000001" ||
		!si.Time.Equal(time.Unix(1758790000, 0)) {
		t.Fatalf("insights %+v", si)
	}
	if got := fmt.Sprint(si.Names()); got != "[exits impressions reach replies taps_back taps_forward]" {
		t.Errorf("names %s", got)
	}
	if _, err := webhooks.ParseStoryInsights(store.Event{Field: "comments", Value: json.RawMessage(`{}`)}); err == nil {
		t.Error("a comment parsed as story insights")
	}
	if _, err := webhooks.ParseStoryInsights(store.Event{Field: "story_insights", Value: json.RawMessage(`[1]`)}); err == nil {
		t.Error("an array parsed as story insights")
	}
}
