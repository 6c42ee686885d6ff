package graph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestMediaInsights(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+mediaID+"/insights", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodGet), map[string]string{"metric": "views,reach,profile_activity", "breakdown": "action_type"})
		// The documented sample (facts §8.1).
		fmt.Fprint(w, `{"data":[{"name":"profile_activity","period":"lifetime",
		  "values":[{"value":4}],"title":"Profile activity","description":"The number of actions people take",
		  "total_value":{"value":4,"breakdowns":[{"dimension_keys":["action_type"],
		    "results":[{"dimension_values":["email"],"value":1}]}]},
		  "id":"17932174733377207/insights/profile_activity/lifetime"}]}`)
	})
	got, resp, err := client.MediaInsights(t.Context(), mediaID, &InsightsOptions{Metrics: []string{"views", "reach", "profile_activity"}, Breakdown: "action_type"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d insights", len(got))
	}
	in := got[0]
	if in.Name != "profile_activity" || in.Period != "lifetime" || in.ID != "17932174733377207/insights/profile_activity/lifetime" ||
		len(in.Values) != 1 || string(in.Values[0].Value) != "4" || in.TotalValue == nil || string(in.TotalValue.Value) != "4" {
		t.Errorf("insight = %+v", in)
	}
	b := in.TotalValue.Breakdowns
	if len(b) != 1 || b[0].DimensionKeys[0] != "action_type" || b[0].Results[0].DimensionValues[0] != "email" || string(b[0].Results[0].Value) != "1" {
		t.Errorf("breakdowns = %+v", b)
	}
	if resp.Paging != nil {
		t.Errorf("Paging = %+v, want nil", resp.Paging)
	}
}

func TestUserInsights(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	until := since.Add(7 * 24 * time.Hour)
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+igID+"/insights", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodGet), map[string]string{
			"metric": "reach", "period": "day", "metric_type": "time_series",
			"since": fmt.Sprint(since.Unix()), "until": fmt.Sprint(until.Unix()),
		})
		fmt.Fprint(w, `{"data":[{"name":"reach","period":"day","values":[{"value":10,"end_time":"2026-05-02T07:00:00+0000"},{"value":12,"end_time":"2026-05-03T07:00:00+0000"}],"title":"Reach","id":"1/insights/reach/day"}],
		  "paging":{"previous":"https://graph.facebook.com/v99.0/1/insights?access_token=x&since=1","next":"https://graph.facebook.com/v99.0/1/insights?access_token=x&until=2"}}`)
	})
	got, resp, err := client.UserInsights(t.Context(), igID, &InsightsOptions{Metrics: []string{"reach"}, Period: "day", MetricType: "time_series", Since: since, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Values) != 2 || got[0].Values[1].EndTime != "2026-05-03T07:00:00+0000" {
		t.Errorf("UserInsights = %+v", got)
	}
	if resp.Paging == nil || resp.Paging.Next == "" || resp.Paging.Previous == "" {
		t.Errorf("Paging = %+v", resp.Paging)
	}
}

func TestUserInsights_demographics(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+igID+"/insights", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodGet), map[string]string{
			"metric": "follower_demographics", "period": "lifetime", "metric_type": "total_value", "breakdown": "country", "timeframe": "this_month",
		})
		fmt.Fprint(w, `{"data":[{"name":"follower_demographics","period":"lifetime","title":"Follower demographics","total_value":{"breakdowns":[{"dimension_keys":["country"],"results":[{"dimension_values":["DE"],"value":120}]}]},"id":"x"}]}`)
	})
	got, _, err := client.UserInsights(t.Context(), igID, &InsightsOptions{
		Metrics: []string{"follower_demographics"}, Period: "lifetime", MetricType: "total_value", Breakdown: "country", Timeframe: "this_month",
	})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := json.Unmarshal(got[0].TotalValue.Breakdowns[0].Results[0].Value, &v); err != nil || v != 120 {
		t.Errorf("value = %d, %v", v, err)
	}
}

func TestMediaInsights_storyTooFewViewers(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+mediaID+"/insights", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"(#10) Not enough viewers for the media to show insights","type":"OAuthException","code":10,"fbtrace_id":"x"}}`)
	})
	_, _, err := client.MediaInsights(t.Context(), mediaID, &InsightsOptions{Metrics: []string{"reach"}})
	testGraphError(t, err, 10, 0)
}
