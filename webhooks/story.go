package webhooks

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/igmcp/igmcp/store"
)

// StoryInsights are the metrics Meta delivered for a Story in a
// story_insights webhook, sent about an hour after the Story expired
// (when Graph no longer answers its insights).
type StoryInsights struct {
	AccountID string
	MediaID   string
	// Metrics by name as delivered (impressions, reach, replies, exits,
	// taps_forward, taps_back, …). Meta reports counts under 5 as -1 (a
	// privacy floor), kept here as -1.
	Metrics map[string]int64
	// Time is when Meta sent them.
	Time time.Time
}

// Names returns the metric names, sorted.
func (s StoryInsights) Names() []string {
	out := make([]string, 0, len(s.Metrics))
	for k := range s.Metrics {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseStoryInsights reads a stored story_insights event (e.g. from
// store.LatestStoryInsights): every whole-number member of its value
// except media_id is a metric.
func ParseStoryInsights(e store.Event) (StoryInsights, error) {
	if e.Field != FieldStoryInsights {
		return StoryInsights{}, fmt.Errorf("webhooks: event %d is %q, not story_insights", e.ID, e.Field)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(e.Value, &v); err != nil {
		return StoryInsights{}, fmt.Errorf("webhooks: story_insights event %d: value is not an object", e.ID)
	}
	out := StoryInsights{AccountID: e.AccountID, MediaID: e.MediaID, Time: e.Time, Metrics: map[string]int64{}}
	for k, raw := range v {
		if k == "media_id" {
			continue
		}
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			continue
		}
		f, err := n.Float64()
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			continue
		}
		out.Metrics[k] = int64(f)
	}
	return out, nil
}
