package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
)

// Current metric names (docs/graph-api.md §8, 2026), per media product
// type and for the account. Retired names are refused before any call,
// naming their replacement; a metric the media's type does not have is
// refused naming the ones it has.

type mediaMetric struct {
	feed, reels, story bool
	breakdown          string // the one breakdown it supports
	fbOnly             bool   // Facebook Login only
}

var mediaMetricSpecs = map[string]mediaMetric{
	"views":                          {feed: true, reels: true, story: true},
	"reach":                          {feed: true, reels: true, story: true},
	"likes":                          {feed: true, reels: true},
	"comments":                       {feed: true, reels: true},
	"saved":                          {feed: true, reels: true},
	"shares":                         {feed: true, reels: true, story: true},
	"total_interactions":             {feed: true, reels: true, story: true},
	"reposts":                        {feed: true, reels: true, story: true},
	"follows":                        {feed: true, story: true},
	"profile_visits":                 {feed: true, story: true},
	"profile_activity":               {feed: true, story: true, breakdown: "action_type"},
	"navigation":                     {story: true, breakdown: "story_navigation_action_type"},
	"replies":                        {story: true},
	"link_clicks":                    {story: true},
	"ig_reels_avg_watch_time":        {reels: true},
	"ig_reels_video_view_total_time": {reels: true},
	"reels_skip_rate":                {reels: true},
	"crossposted_views":              {reels: true},
	"facebook_views":                 {feed: true, reels: true, story: true},
	"total_likes":                    {feed: true, reels: true, fbOnly: true},
	"total_comments":                 {feed: true, reels: true, fbOnly: true},
	"total_views":                    {feed: true, reels: true, story: true, fbOnly: true},
}

func (m mediaMetric) has(productType string) bool {
	switch productType {
	case "REELS":
		return m.reels
	case "STORY":
		return m.story
	default: // FEED, AD, carousels
		return m.feed
	}
}

type accountMetric struct {
	timeSeries bool // metric_type=time_series allowed
	seriesOnly bool // metric_type=time_series only
	demo       bool // demographics: period lifetime, timeframe
	lifetime   bool // period lifetime without a timeframe
	breakdowns []string
	lastDays   int // Instagram keeps only the last n days
}

// period is the one period Instagram takes for the metric.
func (m accountMetric) period() string {
	if m.demo || m.lifetime {
		return "lifetime"
	}
	return "day"
}

var demoBreakdowns = []string{"age", "city", "country", "gender"}

var accountMetricSpecs = map[string]accountMetric{
	"reach":                         {timeSeries: true, breakdowns: []string{"media_product_type", "follow_type"}},
	"views":                         {breakdowns: []string{"follower_type", "media_product_type"}},
	"accounts_engaged":              {},
	"total_interactions":            {breakdowns: []string{"media_product_type"}},
	"likes":                         {breakdowns: []string{"media_product_type"}},
	"comments":                      {breakdowns: []string{"media_product_type"}},
	"saves":                         {breakdowns: []string{"media_product_type"}},
	"shares":                        {breakdowns: []string{"media_product_type"}},
	"replies":                       {breakdowns: []string{"media_product_type"}},
	"reposts":                       {breakdowns: []string{"media_product_type"}},
	"profile_links_taps":            {breakdowns: []string{"contact_button_type"}},
	"follows_and_unfollows":         {breakdowns: []string{"follow_type"}},
	"follower_demographics":         {demo: true, breakdowns: demoBreakdowns},
	"engaged_audience_demographics": {demo: true, breakdowns: demoBreakdowns},
	// Named in the reference's limitations (docs/graph-api.md §8.2): only
	// for accounts with 100 followers or more (Instagram refuses the
	// others), online_followers only for the last 30 days; daily new
	// followers, and per day the followers online in each hour.
	"follower_count":   {timeSeries: true},
	"online_followers": {timeSeries: true, seriesOnly: true, lifetime: true, lastDays: 30},
}

var retiredMetrics = map[string]string{
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

var mediaPeriods = []string{"day", "week", "days_28", "month", "lifetime", "total_over_range"}

// maxInsightsSpan: Instagram answers at most 30 days between since and until.
const maxInsightsSpan = 30 * 24 * time.Hour

func sortedKeys[V any](m map[string]V, keep func(V) bool) []string {
	var out []string
	for k, v := range m {
		if keep == nil || keep(v) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

type getInsightsArgs struct {
	MediaID    string   `json:"media_id,omitempty" jsonschema_description:"Omit for the account."`
	Metrics    []string `json:"metrics" jsonschema:"minItems=1,maxItems=20" jsonschema_description:"e.g. views, reach, likes, saved, accounts_engaged, follower_demographics."`
	Period     string   `json:"period,omitempty" jsonschema:"enum=day,enum=week,enum=days_28,enum=month,enum=lifetime,enum=total_over_range" jsonschema_description:"Account: day, or lifetime for demographics."`
	MetricType string   `json:"metric_type,omitempty" jsonschema:"enum=total_value,enum=time_series" jsonschema_description:"Account: total_value, or time_series (reach)."`
	Breakdown  string   `json:"breakdown,omitempty" jsonschema_description:"e.g. media_product_type, age, action_type."`
	Timeframe  string   `json:"timeframe,omitempty" jsonschema:"enum=this_week,enum=this_month" jsonschema_description:"Required for demographics."`
	Since      string   `json:"since,omitempty" jsonschema_description:"Window start, RFC 3339 or date."`
	Until      string   `json:"until,omitempty" jsonschema_description:"Window end (≤30 days)."`
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
	Scope       string       `json:"scope" jsonschema:"enum=account,enum=media" jsonschema_description:"account or media."`
	ID          string       `json:"id" jsonschema_description:"The account or media id."`
	ProductType string       `json:"media_product_type,omitempty"`
	Rows        []InsightRow `json:"rows" jsonschema_description:"One row per metric value."`
	// Available is false (with empty rows and a Reason) when Instagram has
	// no insights for the media yet: a Story seen by fewer than 5 accounts.
	Available bool   `json:"available" jsonschema_description:"false when Instagram has no insights for this media yet; reason says why."`
	Reason    string `json:"reason,omitempty" jsonschema_description:"Why insights are not available."`
	// Note says where the rows come from when not from live insights.
	Note string `json:"note,omitempty"`
}

// GetInsights reads account or media metrics as normalised rows.
func GetInsights(d *Deps) Tool {
	return newTool[getInsightsArgs, InsightsResult](d, "get_insights",
		"Account or media metrics, as rows.",
		annotations{readOnly: true, idempotent: true}, auth.InsightScopes(),
		func(ctx context.Context, c *call, a *getInsightsArgs) (any, string, error) {
			opts, err := a.options()
			if err != nil {
				return nil, "", err
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			res := InsightsResult{Scope: "account", ID: acct.ID}
			var data []graph.Insight
			if a.MediaID != "" {
				res.Scope, res.ID = "media", a.MediaID
				// The metrics a media has depend on its type: read it (one
				// cheap call) so a wrong metric is refused naming the right
				// ones, instead of spending an insights call on an error.
				m, _, err := acct.Client.GetMedia(ctx, a.MediaID, "id", "media_type", "media_product_type")
				if err != nil {
					// an expired Story may be gone from Graph altogether
					if failure.Classify(err).Kind == failure.NotFound {
						if r, text, ok := storyFromEvents(ctx, d, acct, a.MediaID); ok {
							return r, text, nil
						}
					}
					return nil, "", err
				}
				res.ProductType = productType(m)
				if err := checkMediaMetrics(a.Metrics, opts.Breakdown, res.ProductType, acct); err != nil {
					return nil, "", err
				}
				data, _, err = acct.Client.MediaInsights(ctx, a.MediaID, opts)
				if res.ProductType == "STORY" && (err != nil || len(normalise(data)) == 0) {
					if r, text, ok := storyFromEvents(ctx, d, acct, a.MediaID); ok {
						return r, text, nil
					}
				}
				var ge *graph.Error
				if errors.As(err, &ge) && ge.IsNotEnoughViewers() {
					// Not an error (and no missing permission): the answer
					// is that there is nothing to show yet.
					res.Rows, res.Reason = []InsightRow{}, "Instagram shows no insights for a Story until at least 5 accounts have viewed it; ask again later (Story insights are kept 24 hours)."
					return res, fmt.Sprintf("no insights yet for media %s: fewer than 5 viewers", res.ID), nil
				}
				if err != nil {
					return nil, "", metricError(err, sortedKeys(mediaMetricSpecs, func(s mediaMetric) bool { return s.has(res.ProductType) }))
				}
			} else {
				data, _, err = acct.Client.UserInsights(ctx, acct.ID, opts)
				if err != nil {
					return nil, "", metricError(err, sortedKeys(accountMetricSpecs, nil))
				}
			}
			res.Rows, res.Available = normalise(data), true
			return res, fmt.Sprintf("%s for %s %s", count(len(res.Rows), "insight row", "insight rows"), res.Scope, res.ID), nil
		})
}

func productType(m *graph.Media) string {
	switch {
	case m.MediaProductType != "":
		return m.MediaProductType
	case m.MediaType == "CAROUSEL_ALBUM", m.MediaType == "IMAGE":
		return "FEED"
	}
	return "FEED"
}

// checkMediaMetrics applies the per-type table.
func checkMediaMetrics(metrics []string, breakdown, productType string, acct *auth.Account) error {
	valid := sortedKeys(mediaMetricSpecs, func(s mediaMetric) bool {
		return s.has(productType) && !(s.fbOnly && acct.Login == auth.LoginInstagram)
	})
	for i, name := range metrics {
		if !slices.Contains(valid, name) {
			why := fmt.Sprintf("a %s media has no metric %q", productType, name)
			if s := mediaMetricSpecs[name]; s.fbOnly && s.has(productType) {
				why = fmt.Sprintf("metric %q needs Facebook Login", name)
			}
			return invalid(fmt.Sprintf("metrics[%d]", i), "%s. Valid %s metrics: %s", why, productType, strings.Join(valid, ", "))
		}
	}
	if breakdown == "" {
		return nil
	}
	for i, name := range metrics {
		if b := mediaMetricSpecs[name].breakdown; b != breakdown {
			ok := sortedKeys(mediaMetricSpecs, func(s mediaMetric) bool { return s.breakdown == breakdown && s.has(productType) })
			if len(ok) == 0 {
				return invalid("breakdown", "media insights have no breakdown %q; profile_activity takes action_type, navigation takes story_navigation_action_type", breakdown)
			}
			return invalid(fmt.Sprintf("metrics[%d]", i), "metric %q has no breakdown %q; only %s do", name, breakdown, strings.Join(ok, ", "))
		}
	}
	return nil
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
	if len(a.Metrics) > 20 {
		return nil, invalid("metrics", "at most 20 metrics per call")
	}
	scope, valid := "account", sortedKeys(accountMetricSpecs, nil)
	if media {
		scope, valid = "media", sortedKeys(mediaMetricSpecs, nil)
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
	opts := &graph.InsightsOptions{Metrics: a.Metrics, Breakdown: strings.ReplaceAll(a.Breakdown, " ", "")}
	if media {
		if a.MetricType != "" || a.Timeframe != "" || a.Since != "" || a.Until != "" {
			return nil, invalid("metric_type", "metric_type, timeframe, since and until apply to account insights only")
		}
		if a.Period != "" && !slices.Contains(mediaPeriods, a.Period) {
			return nil, invalid("period", "period must be one of %s", strings.Join(mediaPeriods, ", "))
		}
		return opts, nil
	}
	return opts, a.accountOptions(opts)
}

func (a *getInsightsArgs) accountOptions(opts *graph.InsightsOptions) error {
	first := accountMetricSpecs[a.Metrics[0]]
	demo, want := first.demo, first.period()
	for i, m := range a.Metrics {
		spec := accountMetricSpecs[m]
		if spec.demo != demo {
			return invalid(fmt.Sprintf("metrics[%d]", i), "ask demographics metrics (follower_demographics, engaged_audience_demographics) in a separate call: they need period lifetime and a timeframe")
		}
		if spec.period() != want {
			return invalid(fmt.Sprintf("metrics[%d]", i), "ask online_followers in a separate call: it takes period lifetime, the other metrics period day")
		}
	}
	opts.Period, opts.MetricType, opts.Timeframe = a.Period, a.MetricType, a.Timeframe
	if opts.Period == "" {
		opts.Period = want
	}
	if opts.Period != want {
		what := map[bool]string{true: "demographics", false: "interaction"}[demo]
		if first.lifetime {
			what = "online_followers"
		}
		return invalid("period", "period %q does not fit these metrics: %s metrics take period %s", opts.Period, what, want)
	}
	if demo {
		if opts.Timeframe == "" {
			return invalid("timeframe", "demographics metrics need timeframe this_week or this_month")
		}
		if opts.Breakdown == "" {
			return invalid("breakdown", "demographics metrics need a breakdown: age, city, country or gender")
		}
	} else if opts.Timeframe != "" {
		return invalid("timeframe", "timeframe applies to demographics metrics only")
	}
	if opts.MetricType == "" {
		// views only exists as total_value; total_value also works for the
		// others, so it is the safe default (online_followers has only
		// time_series).
		opts.MetricType = "total_value"
		if first.seriesOnly {
			opts.MetricType = "time_series"
		}
	}
	for i, m := range a.Metrics {
		if accountMetricSpecs[m].seriesOnly && opts.MetricType != "time_series" {
			return invalid(fmt.Sprintf("metrics[%d]", i), "metric %q has only metric_type time_series", m)
		}
	}
	if opts.MetricType == "time_series" {
		for i, m := range a.Metrics {
			if !accountMetricSpecs[m].timeSeries {
				return invalid(fmt.Sprintf("metrics[%d]", i), "metric %q has no time_series; use metric_type total_value (only reach, follower_count and online_followers have time_series)", m)
			}
		}
		if opts.Breakdown != "" {
			return invalid("breakdown", "time_series answers carry no breakdowns: use metric_type total_value with a breakdown")
		}
	}
	if opts.Breakdown != "" {
		for _, b := range strings.Split(opts.Breakdown, ",") {
			for i, m := range a.Metrics {
				if !slices.Contains(accountMetricSpecs[m].breakdowns, b) {
					has := "none"
					if bs := accountMetricSpecs[m].breakdowns; len(bs) > 0 {
						has = strings.Join(bs, ", ")
					}
					return invalid(fmt.Sprintf("metrics[%d]", i), "metric %q has no breakdown %q (it has: %s)", m, b, has)
				}
			}
		}
	}
	var err error
	if opts.Since, err = parseTime("since", a.Since); err != nil {
		return err
	}
	if opts.Until, err = parseTime("until", a.Until); err != nil {
		return err
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() {
		if !opts.Until.After(opts.Since) {
			return invalid("until", "until must be after since")
		}
		if opts.Until.Sub(opts.Since) > maxInsightsSpan {
			return invalid("until", "Instagram answers at most 30 days between since and until")
		}
	}
	for _, m := range a.Metrics {
		if n := accountMetricSpecs[m].lastDays; n > 0 && !opts.Since.IsZero() && time.Since(opts.Since) > time.Duration(n)*24*time.Hour {
			return invalid("since", "Instagram keeps %s only for the last %d days: give a since within them", m, n)
		}
	}
	return nil
}

// graphMetricRE is Instagram's answer for a metric the object lacks:
// "(#100) metric[2] must be one of the following values: …".
var graphMetricRE = regexp.MustCompile(`metric\[(\d+)\] must be one of the following values: (.*)$`)

// metricError turns Instagram's metric refusals into invalid_input naming
// the valid metrics; anything else passes through.
func metricError(err error, valid []string) error {
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Code != 100 {
		return err
	}
	if m := graphMetricRE.FindStringSubmatch(ge.Message); m != nil {
		return invalid("metrics["+m[1]+"]", "Instagram refused this metric here. Valid metrics: %s", m[2])
	}
	if strings.Contains(ge.Message, "metric") || strings.Contains(ge.Message, "breakdown") || strings.Contains(ge.Message, "period") {
		e := failure.Invalid("metrics", "Instagram refused the request: %s. Valid metrics: %s", ge.Message, strings.Join(valid, ", "))
		return e
	}
	return err
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
			if v := rawValue(in.TotalValue.Value); v != nil {
				rows = append(rows, InsightRow{Metric: in.Name, Period: in.Period, Value: v})
			}
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
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	var v any
	if err := json.Unmarshal(r, &v); err != nil {
		return string(r)
	}
	return v
}
