package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/graph"
)

// Current metric names (graph-api-facts.md §8, 2026). Retired names are
// refused before any call, naming their replacement.
var (
	mediaMetrics = []string{
		"views", "reach", "likes", "comments", "saved", "shares", "total_interactions", "reposts",
		"follows", "profile_visits", "profile_activity", "navigation", "replies", "link_clicks",
		"ig_reels_avg_watch_time", "ig_reels_video_view_total_time", "reels_skip_rate",
		"crossposted_views", "facebook_views", "total_likes", "total_comments", "total_views",
	}
	accountMetrics = []string{
		"views", "reach", "accounts_engaged", "total_interactions", "likes", "comments", "saves", "shares",
		"replies", "reposts", "profile_links_taps", "follows_and_unfollows",
		"follower_demographics", "engaged_audience_demographics", "follower_count", "online_followers",
	}
	retiredMetrics = map[string]string{
		"impressions":                         "views",
		"plays":                               "views",
		"video_views":                         "views",
		"clips_replays_count":                 "views",
		"ig_reels_aggregated_all_plays_count": "views",
		"engagement":                          "total_interactions",
		"carousel_album_engagement":           "total_interactions",
		"carousel_album_impressions":          "views",
		"carousel_album_reach":                "reach",
		"carousel_album_saved":                "saved",
		"carousel_album_video_views":          "views",
		"taps_forward":                        "navigation",
		"taps_back":                           "navigation",
		"exits":                               "navigation",
		"profile_views":                       "profile_links_taps",
		"email_contacts":                      "profile_links_taps",
		"get_direction_clicks":                "profile_links_taps",
		"text_message_clicks":                 "profile_links_taps",
		"website_clicks":                      "profile_links_taps",
		"phone_call_clicks":                   "profile_links_taps",
	}
	demographicMetrics = []string{"follower_demographics", "engaged_audience_demographics"}
)

type getInsightsArgs struct {
	MediaID    string   `json:"media_id,omitempty" jsonschema_description:"Media id for media insights; omit for account insights."`
	Metrics    []string `json:"metrics" jsonschema:"minItems=1,maxItems=20" jsonschema_description:"Metric names, e.g. views, reach, likes, comments, saved, shares, total_interactions (media) or views, reach, accounts_engaged, follower_demographics (account)."`
	Period     string   `json:"period,omitempty" jsonschema:"enum=day,enum=week,enum=days_28,enum=month,enum=lifetime,enum=total_over_range" jsonschema_description:"Account insights period (default day; lifetime for demographics). Media insights are always lifetime."`
	MetricType string   `json:"metric_type,omitempty" jsonschema:"enum=total_value,enum=time_series" jsonschema_description:"Account insights: total_value (default) or time_series."`
	Breakdown  string   `json:"breakdown,omitempty" jsonschema_description:"Optional breakdown, e.g. media_product_type, follow_type, age, city, country, gender, action_type."`
	Timeframe  string   `json:"timeframe,omitempty" jsonschema:"enum=this_week,enum=this_month" jsonschema_description:"Required for demographics metrics."`
	Since      string   `json:"since,omitempty" jsonschema_description:"Account insights window start, RFC 3339 or YYYY-MM-DD."`
	Until      string   `json:"until,omitempty" jsonschema_description:"Account insights window end, RFC 3339 or YYYY-MM-DD."`
	AccountArg
}

// InsightRow is one normalised metric value.
type InsightRow struct {
	Metric    string            `json:"metric" jsonschema_description:"Metric name."`
	Period    string            `json:"period" jsonschema_description:"Aggregation period."`
	Value     any               `json:"value" jsonschema_description:"The value: a number, or an object for demographics."`
	EndTime   string            `json:"end_time,omitempty" jsonschema_description:"End of the period for time series values."`
	Breakdown map[string]string `json:"breakdown,omitempty" jsonschema_description:"Breakdown dimension values, when a breakdown was asked."`
}

// InsightsResult is the get_insights result.
type InsightsResult struct {
	Scope string       `json:"scope" jsonschema:"enum=account,enum=media" jsonschema_description:"account or media."`
	ID    string       `json:"id" jsonschema_description:"The account or media id."`
	Rows  []InsightRow `json:"rows" jsonschema_description:"One row per metric value."`
}

// GetInsights reads account or media metrics as normalised rows.
func GetInsights(d *Deps) Tool {
	return Tool{
		Toolset:  ToolsetInsights,
		ReadOnly: true,
		Tool: tool("get_insights",
			"Account or media metrics (current names: views, reach, likes, …; impressions is retired) as {metric, period, value, end_time} rows.",
			inputSchema[getInsightsArgs](), outputSchema[InsightsResult](),
			annotations{title: "Get insights", readOnly: true, idempotent: true}),
		Handler: bind(d, func(ctx context.Context, _ mcp.CallToolRequest, a *getInsightsArgs) (any, string, error) {
			opts, err := a.options()
			if err != nil {
				return nil, "", err
			}
			acct, err := d.Accounts.Resolve(ctx, a.Account)
			if err != nil {
				return nil, "", err
			}
			res := InsightsResult{Scope: "account", ID: acct.ID}
			var data []graph.Insight
			if a.MediaID != "" {
				res.Scope, res.ID = "media", a.MediaID
				data, _, err = acct.Client.MediaInsights(ctx, a.MediaID, opts)
			} else {
				data, _, err = acct.Client.UserInsights(ctx, acct.ID, opts)
			}
			if err != nil {
				return nil, "", err
			}
			res.Rows = normalise(data)
			return res, fmt.Sprintf("%d insight rows for %s %s", len(res.Rows), res.Scope, res.ID), nil
		}),
	}
}

func (a *getInsightsArgs) options() (*graph.InsightsOptions, error) {
	media := a.MediaID != ""
	if media {
		if err := checkID("media_id", a.MediaID); err != nil {
			return nil, err
		}
	}
	if len(a.Metrics) == 0 {
		return nil, invalid("metrics", "give at least one metric")
	}
	valid := accountMetrics
	scope := "account"
	if media {
		valid, scope = mediaMetrics, "media"
	}
	seen := map[string]bool{}
	for i, m := range a.Metrics {
		f := fmt.Sprintf("metrics[%d]", i)
		if repl, ok := retiredMetrics[m]; ok {
			return nil, invalid(f, "metric %q was retired by Meta; use %q instead. Valid %s metrics: %s", m, repl, scope, strings.Join(valid, ", "))
		}
		if !slices.Contains(valid, m) {
			return nil, invalid(f, "unknown %s metric %q. Valid %s metrics: %s", scope, m, scope, strings.Join(valid, ", "))
		}
		if seen[m] {
			return nil, invalid(f, "metric %q is listed twice", m)
		}
		seen[m] = true
	}
	opts := &graph.InsightsOptions{Metrics: a.Metrics, Breakdown: a.Breakdown}
	if media {
		if a.MetricType != "" || a.Timeframe != "" || a.Since != "" || a.Until != "" {
			return nil, invalid("metric_type", "metric_type, timeframe, since and until apply to account insights only")
		}
		return opts, nil
	}
	opts.Period = a.Period
	opts.MetricType = a.MetricType
	opts.Timeframe = a.Timeframe
	demo := slices.ContainsFunc(a.Metrics, func(m string) bool { return slices.Contains(demographicMetrics, m) })
	if demo {
		if len(a.Metrics) > 1 && slices.ContainsFunc(a.Metrics, func(m string) bool { return !slices.Contains(demographicMetrics, m) }) {
			return nil, invalid("metrics", "ask demographics metrics in a separate call: they need period lifetime and a timeframe")
		}
		if opts.Period == "" {
			opts.Period = "lifetime"
		}
		if opts.Timeframe == "" {
			return nil, invalid("timeframe", "demographics metrics need timeframe this_week or this_month")
		}
		if opts.Breakdown == "" {
			return nil, invalid("breakdown", "demographics metrics need a breakdown: age, city, country or gender")
		}
	}
	if opts.Period == "" {
		opts.Period = "day"
	}
	if opts.MetricType == "" {
		// views only exists as total_value; total_value also works for the
		// others, so it is the safe default.
		opts.MetricType = "total_value"
	}
	var err error
	if opts.Since, err = parseTime("since", a.Since); err != nil {
		return nil, err
	}
	if opts.Until, err = parseTime("until", a.Until); err != nil {
		return nil, err
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Until.After(opts.Since) {
		return nil, invalid("until", "until must be after since")
	}
	return opts, nil
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, invalid(field, "%s must be RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23), got %q", field, s)
}

// normalise flattens Graph's insights shapes (values[], total_value with
// breakdowns) into one row per value.
func normalise(data []graph.Insight) []InsightRow {
	rows := []InsightRow{}
	for _, in := range data {
		for _, v := range in.Values {
			rows = append(rows, InsightRow{Metric: in.Name, Period: in.Period, Value: rawValue(v.Value), EndTime: v.EndTime})
		}
		if in.TotalValue == nil {
			continue
		}
		if len(in.TotalValue.Breakdowns) == 0 || len(in.Values) == 0 {
			rows = append(rows, InsightRow{Metric: in.Name, Period: in.Period, Value: rawValue(in.TotalValue.Value)})
		}
		for _, b := range in.TotalValue.Breakdowns {
			for _, r := range b.Results {
				dims := map[string]string{}
				for i, k := range b.DimensionKeys {
					if i < len(r.DimensionValues) {
						dims[k] = r.DimensionValues[i]
					}
				}
				rows = append(rows, InsightRow{Metric: in.Name, Period: in.Period, Value: rawValue(r.Value), Breakdown: dims})
			}
		}
	}
	return rows
}

func rawValue(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(r, &v); err != nil {
		return string(r)
	}
	return v
}
