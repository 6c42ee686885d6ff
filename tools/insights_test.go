package tools_test

import (
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
)

func rowsOf(t *testing.T, res map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range res["rows"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func TestInsights_MediaPerType(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{era: era})
			img := e.publishImage(t, "https://cdn.example.com/i.jpg", "")
			reel := e.publishVia(t, &graph.ContainerRequest{MediaType: graph.MediaTypeReels, VideoURL: "https://cdn.example.com/r.mp4"})

			res := mustOK(t, e.call(t, "get_insights", map[string]any{"media_id": img, "metrics": []any{"views", "reach", "likes", "saved"}}))
			if res["media_product_type"] != "FEED" || len(rowsOf(t, res)) != 4 {
				t.Fatalf("feed: %v", res)
			}
			bd := mustOK(t, e.call(t, "get_insights", map[string]any{"media_id": img, "metrics": []any{"profile_activity"}, "breakdown": "action_type"}))
			rows := rowsOf(t, bd)
			if len(rows) < 2 || rows[len(rows)-1]["breakdown"].(map[string]any)["action_type"] == nil {
				t.Fatalf("breakdown rows: %v", rows)
			}
			reelRes := mustOK(t, e.call(t, "get_insights", map[string]any{"media_id": reel, "metrics": []any{"ig_reels_avg_watch_time", "reels_skip_rate"}}))
			if reelRes["media_product_type"] != "REELS" || len(rowsOf(t, reelRes)) != 2 {
				t.Fatalf("reel: %v", reelRes)
			}
			// a metric the Reel does not have: refused naming the Reel's
			// metrics, without an insights call
			before := e.fake.CountCalls("GET", "/insights")
			errObj := mustErr(t, e.call(t, "get_insights", map[string]any{"media_id": reel, "metrics": []any{"views", "profile_visits"}}), "invalid_input")
			if errObj["field"] != "metrics[1]" || !strings.Contains(errObj["message"].(string), "ig_reels_avg_watch_time") {
				t.Fatalf("reel metric: %v", errObj)
			}
			if e.fake.CountCalls("GET", "/insights") != before {
				t.Fatal("an insights call was spent on a wrong metric")
			}
			errObj = mustErr(t, e.call(t, "get_insights", map[string]any{"media_id": img, "metrics": []any{"likes"}, "breakdown": "action_type"}), "invalid_input")
			if !strings.Contains(errObj["message"].(string), "profile_activity") {
				t.Fatalf("breakdown: %v", errObj)
			}
		})
	}
}

func TestInsights_Account(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	until := time.Now().UTC().Truncate(24 * time.Hour)
	since := until.Add(-3 * 24 * time.Hour)
	ts := mustOK(t, e.call(t, "get_insights", map[string]any{"metrics": []any{"reach"}, "metric_type": "time_series",
		"since": since.Format(time.RFC3339), "until": until.Format(time.RFC3339)}))
	rows := rowsOf(t, ts)
	if len(rows) != 3 || rows[0]["end_time"] == nil || rows[0]["period"] != "day" {
		t.Fatalf("time series: %v", rows)
	}
	tv := mustOK(t, e.call(t, "get_insights", map[string]any{"metrics": []any{"views", "reach"}, "breakdown": "media_product_type"}))
	if len(rowsOf(t, tv)) < 4 {
		t.Fatalf("total_value breakdowns: %v", tv)
	}
	demo := mustOK(t, e.call(t, "get_insights", map[string]any{"metrics": []any{"follower_demographics"}, "timeframe": "this_month", "breakdown": "country"}))
	drows := rowsOf(t, demo)
	if len(drows) < 3 || drows[0]["period"] != "lifetime" || drows[0]["breakdown"].(map[string]any)["country"] == nil {
		t.Fatalf("demographics: %v", drows)
	}
	for _, tc := range []struct {
		args  map[string]any
		field string
		want  string
	}{
		{map[string]any{"metrics": []any{"views"}, "metric_type": "time_series"}, "metrics[0]", "time_series"},
		{map[string]any{"metrics": []any{"reach"}, "metric_type": "time_series", "breakdown": "follow_type"}, "breakdown", "no breakdowns"},
		{map[string]any{"metrics": []any{"accounts_engaged"}, "breakdown": "media_product_type"}, "metrics[0]", "none"},
		{map[string]any{"metrics": []any{"reach"}, "period": "lifetime"}, "period", "day"},
		{map[string]any{"metrics": []any{"reach", "follower_demographics"}}, "metrics[1]", "separate"},
		{map[string]any{"metrics": []any{"reach"}, "timeframe": "this_week"}, "timeframe", "demographics"},
		{map[string]any{"metrics": []any{"reach"}, "since": "2026-01-01", "until": "2026-03-01"}, "until", "30 days"},
		{map[string]any{"metrics": []any{"impressions"}}, "metrics[0]", `"views"`},
		{map[string]any{"media_id": "1", "metrics": []any{"views"}, "period": "forever"}, "period", "lifetime"},
	} {
		before := e.graphCalls()
		errObj := mustErr(t, e.call(t, "get_insights", tc.args), "invalid_input")
		if errObj["field"] != tc.field || !strings.Contains(errObj["message"].(string), tc.want) {
			t.Errorf("%v: %v", tc.args, errObj)
		}
		if e.graphCalls() != before {
			t.Errorf("%v: Graph called", tc.args)
		}
	}
}

func TestInsights_FacebookOnlyMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{login: auth.LoginInstagram})
	img := e.publishImage(t, "https://cdn.example.com/i.jpg", "")
	errObj := mustErr(t, e.call(t, "get_insights", map[string]any{"media_id": img, "metrics": []any{"total_likes"}}), "invalid_input")
	if !strings.Contains(errObj["message"].(string), "Facebook Login") {
		t.Fatalf("%v", errObj)
	}
}

// A Story seen by fewer than 5 accounts has no insights: Instagram answers
// code 10, which is not a missing permission; get_insights answers a result
// saying so, after one insights call.
func TestInsights_StoryNotEnoughViewers(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{era: era})
			story := e.publishVia(t, &graph.ContainerRequest{MediaType: graph.MediaTypeStories, ImageURL: "https://cdn.example.com/s.jpg"})
			e.fake.SetViewers(story, 4)
			before := e.fake.CountCalls("GET", "/insights")
			res := mustOK(t, e.call(t, "get_insights", map[string]any{"media_id": story, "metrics": []any{"views", "reach"}}))
			if res["available"] != false || len(rowsOf(t, res)) != 0 || res["media_product_type"] != "STORY" ||
				!strings.Contains(res["reason"].(string), "5 accounts") {
				t.Fatalf("story with 4 viewers: %v", res)
			}
			if n := e.fake.CountCalls("GET", "/insights") - before; n != 1 {
				t.Fatalf("%d insights calls, want 1 (code 10 is not retried)", n)
			}
			e.fake.SetViewers(story, 5)
			res = mustOK(t, e.call(t, "get_insights", map[string]any{"media_id": story, "metrics": []any{"reach"}}))
			if rows := rowsOf(t, res); res["available"] != true || len(rows) != 1 || rows[0]["value"] != float64(5) || res["reason"] != nil {
				t.Fatalf("story with 5 viewers: %v", res)
			}
		})
	}
}

// follower_count and online_followers are account metrics: accepted,
// sent with the period and metric type Instagram takes, and refused by
// Instagram (not by igmcp) below 100 followers.
func TestInsights_FollowerMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	until := time.Now().UTC().Truncate(24 * time.Hour)
	since := until.Add(-3 * 24 * time.Hour)
	window := map[string]any{"since": since.Format(time.RFC3339), "until": until.Format(time.RFC3339)}
	args := func(metric string, extra map[string]any) map[string]any {
		m := map[string]any{"metrics": []any{metric}}
		for k, v := range window {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	fc := mustOK(t, e.call(t, "get_insights", args("follower_count", nil)))
	if rows := rowsOf(t, fc); fc["available"] != true || len(rows) != 1 || rows[0]["metric"] != "follower_count" {
		t.Fatalf("follower_count: %v", fc)
	}
	of := mustOK(t, e.call(t, "get_insights", args("online_followers", nil)))
	rows := rowsOf(t, of)
	if len(rows) != 3 || rows[0]["period"] != "lifetime" || rows[0]["end_time"] == nil {
		t.Fatalf("online_followers: %v", of)
	}
	if hours, ok := rows[0]["value"].(map[string]any); !ok || len(hours) != 24 {
		t.Fatalf("online_followers value: %v", rows[0])
	}
	last := e.fake.Calls()[len(e.fake.Calls())-1]
	if last.Params.Get("period") != "lifetime" || last.Params.Get("metric_type") != "time_series" {
		t.Fatalf("online_followers sent as %v", last.Params)
	}
	for _, tc := range []struct {
		args  map[string]any
		field string
		want  string
	}{
		{map[string]any{"metrics": []any{"online_followers", "reach"}}, "metrics[1]", "separate call"},
		{map[string]any{"metrics": []any{"online_followers"}, "metric_type": "total_value"}, "metrics[0]", "time_series"},
		{map[string]any{"metrics": []any{"online_followers"}, "period": "day"}, "period", "lifetime"},
		{map[string]any{"metrics": []any{"online_followers"}, "since": time.Now().Add(-40 * 24 * time.Hour).Format(time.RFC3339)}, "since", "30 days"},
	} {
		before := e.graphCalls()
		errObj := mustErr(t, e.call(t, "get_insights", tc.args), "invalid_input")
		if errObj["field"] != tc.field || !strings.Contains(errObj["message"].(string), tc.want) {
			t.Errorf("%v: %v", tc.args, errObj)
		}
		if e.graphCalls() != before {
			t.Errorf("%v: Graph called", tc.args)
		}
	}
	// below 100 followers Instagram refuses them; igmcp sends them
	// anyway (it cannot know the count without a call) and passes the
	// refusal on
	e.fake.SetFollowers(e.account.ID, 50)
	before := e.fake.CountCalls("GET", "/insights")
	errObj := mustErr(t, e.call(t, "get_insights", args("follower_count", nil)), "invalid_input")
	if !strings.Contains(errObj["message"].(string), "100 followers") || e.fake.CountCalls("GET", "/insights") != before+1 {
		t.Fatalf("below 100 followers: %v", errObj)
	}
}
