package fakegraph

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// --- media insights (§8.1) ---------------------------------------------------------

type mediaMetric struct {
	feed, reels, story bool
	breakdown          string // the one breakdown it supports
	fbOnly             bool   // Facebook Login only (total_*)
	facebookShare      bool   // needs the media shared to Facebook
	title              string
}

var mediaMetrics = map[string]mediaMetric{
	"views":                          {feed: true, reels: true, story: true, title: "Views"},
	"reach":                          {feed: true, reels: true, story: true, title: "Accounts reached"},
	"likes":                          {feed: true, reels: true, title: "Likes"},
	"comments":                       {feed: true, reels: true, title: "Comments"},
	"saved":                          {feed: true, reels: true, title: "Saved"},
	"shares":                         {feed: true, reels: true, story: true, title: "Shares"},
	"total_interactions":             {feed: true, reels: true, story: true, title: "Interactions"},
	"reposts":                        {feed: true, reels: true, story: true, title: "Reposts"},
	"follows":                        {feed: true, story: true, title: "Follows"},
	"profile_visits":                 {feed: true, story: true, title: "Profile visits"},
	"profile_activity":               {feed: true, story: true, breakdown: "action_type", title: "Profile activity"},
	"navigation":                     {story: true, breakdown: "story_navigation_action_type", title: "Navigation"},
	"replies":                        {story: true, title: "Replies"},
	"link_clicks":                    {story: true, title: "Link clicks"},
	"ig_reels_avg_watch_time":        {reels: true, title: "Average watch time"},
	"ig_reels_video_view_total_time": {reels: true, title: "Watch time"},
	"reels_skip_rate":                {reels: true, title: "Skip rate"},
	"crossposted_views":              {reels: true, facebookShare: true, title: "Crossposted views"},
	"facebook_views":                 {feed: true, reels: true, story: true, facebookShare: true, title: "Facebook views"},
	"total_likes":                    {feed: true, reels: true, fbOnly: true, title: "Total likes"},
	"total_comments":                 {feed: true, reels: true, fbOnly: true, title: "Total comments"},
	"total_views":                    {feed: true, reels: true, story: true, fbOnly: true, title: "Total views"},
}

var mediaPeriods = []string{"day", "week", "days_28", "month", "lifetime", "total_over_range"}

// storyMinViewers: a Story seen by fewer accounts has no insights; Meta
// answers code 10 "Not enough viewers for the media to show insights"
// (docs/graph-api.md §8.1).
const storyMinViewers = 5

// viewersKey keeps SetViewers' counts among the objects: Graph ids are
// numeric, so no request can address it.
const viewersKey = "\x00viewers"

// SetViewers sets how many accounts have seen a published media: its
// reach, and a floor for its views. A Story seen by fewer than 5 answers
// insights with (#10) "Not enough viewers for the media to show insights".
// Without it a media's reach is a stable figure from 150 to 4149.
func (s *Server) SetViewers(mediaID string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, _ := s.objs[viewersKey].(map[string]int)
	if v == nil {
		v = map[string]int{}
		s.objs[viewersKey] = v
	}
	v[mediaID] = max(n, 0)
}

// reach is the media's viewer count (caller holds s.mu).
func (s *Server) reach(m *media) int {
	v, _ := s.objs[viewersKey].(map[string]int)
	if n, ok := v[m.id]; ok {
		return n
	}
	return 150 + hv(4000, "reach", m.id)
}

func errNotEnoughViewers() *apiError {
	return &apiError{Code: 10, Message: "(#10) Not enough viewers for the media to show insights"}
}

func (mm mediaMetric) validFor(m *media) bool {
	if mm.fbOnly && m.acct.Login != LoginFacebook {
		return false
	}
	switch m.productType {
	case "REELS":
		return mm.reels
	case "STORY":
		return mm.story
	default:
		return mm.feed
	}
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func oneOf(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// errMetric is Meta's answer for a metric that is retired or not valid for
// the object: "(#100) metric[i] must be one of the following values: …".
func errMetric(i int, valid []string) *apiError {
	return errParam("metric[%d] must be one of the following values: %s", i, strings.Join(valid, ", "))
}

// mediaInsights: GET /{ig-media-id}/insights.
func (s *Server) mediaInsights(w http.ResponseWriter, q *request, m *media) *apiError {
	metrics := splitList(q.params.Get("metric"))
	if len(metrics) == 0 {
		return errRequired("metric")
	}
	if m.parent != nil {
		// documented: no insights for carousel children (the error is a
		// test assumption)
		return errParam("Insights are not available for media in a carousel album")
	}
	var valid []string
	for name, mm := range mediaMetrics {
		if mm.validFor(m) {
			valid = append(valid, name)
		}
	}
	sort.Strings(valid)
	for i, name := range metrics {
		if mm, ok := mediaMetrics[name]; !ok || !mm.validFor(m) {
			return errMetric(i, valid)
		}
	}
	if p := q.params.Get("period"); p != "" && !oneOf(mediaPeriods, p) {
		return errParam("period must be one of the following values: %s", strings.Join(mediaPeriods, ", "))
	}
	bd := q.params.Get("breakdown")
	for _, name := range metrics {
		if mediaMetrics[name].facebookShare {
			return errParam("The media was not shared to Facebook; metric %s is not available", name)
		}
		if bd != "" && mediaMetrics[name].breakdown != bd {
			// documented: a breakdown on a metric that does not support it
			return &apiError{Code: 1, Message: "An unknown error has occurred.", Transient: boolp(false)}
		}
	}
	data := []any{}
	if m.productType == "STORY" && s.now().Sub(m.timestamp) > 24*time.Hour {
		// story metrics live 24 h; unavailable data is an empty list
		writeJSON(w, 200, map[string]any{"data": data})
		return nil
	}
	if m.productType == "STORY" && s.reach(m) < storyMinViewers {
		return errNotEnoughViewers()
	}
	for _, name := range metrics {
		v := s.mediaMetricValue(m, name)
		item := map[string]any{
			"name": name, "period": "lifetime", "values": []any{map[string]any{"value": v}},
			"title": mediaMetrics[name].title, "description": mediaMetrics[name].title + " (simulated).",
			"id": m.id + "/insights/" + name + "/lifetime",
		}
		if bd != "" {
			n, _ := v.(int)
			item["total_value"] = map[string]any{"value": v, "breakdowns": []any{breakdown(bd, breakdownValues[bd], n, m.id+name)}}
		}
		data = append(data, item)
	}
	writeJSON(w, 200, map[string]any{"data": data})
	return nil
}

// hv is a stable pseudo-random number in [0, n).
func hv(n int, parts ...string) int {
	if n <= 0 {
		return 0
	}
	return int(hash64(strings.Join(parts, "|")) % uint64(n))
}

func (s *Server) mediaMetricValue(m *media, name string) any {
	reach := s.reach(m)
	views := reach + hv(reach, "views", m.id)
	likes, comments := m.likeCount(), m.commentsCount()
	saved := reach/40 + hv(5, "saved", m.id)
	shares := reach/60 + hv(5, "shares", m.id)
	reposts := hv(4, "reposts", m.id)
	replies := hv(10, "replies", m.id)
	switch name {
	case "views":
		return views
	case "reach":
		return reach
	case "likes":
		return likes
	case "comments":
		return comments
	case "saved":
		return saved
	case "shares":
		return shares
	case "reposts":
		return reposts
	case "replies":
		return replies
	case "total_interactions":
		if m.productType == "STORY" {
			return shares + replies + reposts
		}
		return likes + comments + saved + shares + reposts
	case "follows":
		return hv(10, "follows", m.id)
	case "profile_visits":
		return reach/25 + hv(8, "visits", m.id)
	case "profile_activity":
		return reach/50 + hv(6, "activity", m.id)
	case "navigation":
		return reach + hv(reach, "navigation", m.id)
	case "link_clicks":
		return hv(15, "links", m.id)
	case "ig_reels_avg_watch_time":
		return 2500 + hv(12000, "watch", m.id)
	case "ig_reels_video_view_total_time":
		return (2500 + hv(12000, "watch", m.id)) * views
	case "reels_skip_rate":
		return float64(1500+hv(5000, "skip", m.id)) / 100
	case "total_likes":
		return likes + hv(20, "adlikes", m.id)
	case "total_comments":
		return comments + hv(5, "adcomments", m.id)
	case "total_views":
		return views + hv(200, "adviews", m.id)
	}
	return 0
}

var breakdownValues = map[string][]string{
	"action_type":                  {"bio_link_clicked", "call", "direction", "email", "other", "text"},
	"story_navigation_action_type": {"swipe_forward", "tap_back", "tap_exit", "tap_forward"},
	"media_product_type":           {"AD", "CAROUSEL_CONTAINER", "POST", "REEL", "STORY"},
	"follow_type":                  {"FOLLOWER", "NON_FOLLOWER", "UNKNOWN"},
	"follower_type":                {"FOLLOWER", "NON_FOLLOWER"},
	"contact_button_type":          {"BOOK_NOW", "CALL", "DIRECTION", "EMAIL", "INSTANT_EXPERIENCE", "TEXT", "UNDEFINED"},
	"age":                          {"13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"},
	"gender":                       {"F", "M", "U"},
	"country":                      {"US", "GB", "DE", "BR", "IN", "FR", "IT", "ES"},
	"city":                         {"London, England", "New York, New York", "Berlin, Berlin", "São Paulo, São Paulo (state)", "Mumbai, Maharashtra"},
}

// breakdown splits total over values, stably.
func breakdown(key string, values []string, total int, seed string) map[string]any {
	weights := make([]int, len(values))
	sum := 0
	for i, v := range values {
		weights[i] = 1 + hv(10, seed, key, v)
		sum += weights[i]
	}
	var results []any
	left := total
	for i, v := range values {
		n := total * weights[i] / sum
		if i == len(values)-1 {
			n = left
		}
		left -= n
		results = append(results, map[string]any{"dimension_values": []string{v}, "value": n})
	}
	return map[string]any{"dimension_keys": []string{key}, "results": results}
}

// --- account insights (§8.2) -----------------------------------------------------

type userMetric struct {
	timeSeries bool // supports metric_type=time_series
	seriesOnly bool // time_series only (no total_value)
	demo       bool // demographics: period=lifetime + timeframe
	lifetime   bool // period=lifetime without a timeframe (online_followers)
	breakdowns []string
	title      string
	daily      int // typical daily value
	// minFollowers: not available below this many followers
	minFollowers int
	// lastDays: only the last n days have data (values before are absent)
	lastDays int
}

var demoBreakdowns = []string{"age", "city", "country", "gender"}

var userMetrics = map[string]userMetric{
	"reach":                         {timeSeries: true, breakdowns: []string{"media_product_type", "follow_type"}, title: "Accounts reached", daily: 900},
	"views":                         {breakdowns: []string{"follower_type", "media_product_type"}, title: "Views", daily: 2500},
	"accounts_engaged":              {title: "Accounts engaged", daily: 80},
	"total_interactions":            {breakdowns: []string{"media_product_type"}, title: "Content interactions", daily: 150},
	"likes":                         {breakdowns: []string{"media_product_type"}, title: "Likes", daily: 120},
	"comments":                      {breakdowns: []string{"media_product_type"}, title: "Comments", daily: 15},
	"shares":                        {breakdowns: []string{"media_product_type"}, title: "Shares", daily: 10},
	"saves":                         {breakdowns: []string{"media_product_type"}, title: "Saves", daily: 12},
	"replies":                       {breakdowns: []string{"media_product_type"}, title: "Replies", daily: 5},
	"reposts":                       {breakdowns: []string{"media_product_type"}, title: "Reposts", daily: 3},
	"profile_links_taps":            {breakdowns: []string{"contact_button_type"}, title: "Profile links taps", daily: 8},
	"follows_and_unfollows":         {breakdowns: []string{"follow_type"}, title: "Follows and unfollows", daily: 12},
	"follower_demographics":         {demo: true, breakdowns: demoBreakdowns, title: "Follower demographics"},
	"engaged_audience_demographics": {demo: true, breakdowns: demoBreakdowns, title: "Engaged audience demographics"},
	// Named in the reference's limitations (docs/graph-api.md §8.2): not
	// available below 100 followers; online_followers only for the last 30
	// days. Their shapes are the older reference's: follower_count new
	// followers per day, online_followers per day an object of 24 hourly
	// counts (period lifetime, time series only).
	"follower_count":   {timeSeries: true, title: "Follower count", daily: 20, minFollowers: 100},
	"online_followers": {timeSeries: true, seriesOnly: true, lifetime: true, title: "Online followers", minFollowers: 100, lastDays: 30},
}

// errFewFollowers is the refusal for an account below minFollowers
// (test assumption: Meta documents the limit, not its error).
func errFewFollowers(names []string, n int) *apiError {
	return errParam("The metrics %s are not available for accounts with fewer than %d followers", strings.Join(names, ", "), n)
}

// followers is the account's follower count (caller holds s.mu).
func (s *Server) followers(a *account) int {
	if a.followers != nil {
		return *a.followers
	}
	return 1000 + hv(9000, "followers:"+a.ID)
}

// SetFollowers sets an account's followers_count (and the audience its
// insights describe). By default it is a stable figure from 1000 to 9999.
func (s *Server) SetFollowers(accountID string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.acctByID[accountID]; a != nil {
		n = max(n, 0)
		a.followers = &n
	}
}

const maxInsightsSpan = 30 * 24 * time.Hour

// timeRange reads since/until (Unix seconds); zero when absent.
func timeRange(q *request) (since, until time.Time, e *apiError) {
	for _, k := range []string{"since", "until"} {
		v := q.params.Get(k)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return since, until, errParam("The parameter %s must be a Unix timestamp", k)
		}
		if k == "since" {
			since = time.Unix(n, 0)
		} else {
			until = time.Unix(n, 0)
		}
	}
	return since, until, nil
}

// userInsights: GET /{ig-user-id}/insights.
func (s *Server) userInsights(w http.ResponseWriter, q *request, a *account) *apiError {
	p := q.params
	metrics := splitList(p.Get("metric"))
	if len(metrics) == 0 {
		return errRequired("metric")
	}
	var valid []string
	for name := range userMetrics {
		valid = append(valid, name)
	}
	sort.Strings(valid)
	for i, name := range metrics {
		if _, ok := userMetrics[name]; !ok {
			return errMetric(i, valid)
		}
	}
	period := p.Get("period")
	if period == "" {
		return errRequired("period")
	}
	metricType := p.Get("metric_type")
	if metricType != "" && metricType != "total_value" && metricType != "time_series" {
		return errParam("metric_type must be one of the following values: total_value, time_series")
	}
	timeSeries := metricType != "total_value" // Graph's default is time_series
	var needTotal, needSeries, tooFew []string
	for _, name := range metrics {
		um := userMetrics[name]
		want := "day"
		if um.demo || um.lifetime {
			want = "lifetime"
		}
		if period != want {
			return errParam("Incompatible period (%s) for metric (%s); use period=%s", period, name, want)
		}
		if timeSeries && !um.timeSeries {
			needTotal = append(needTotal, name)
		}
		if !timeSeries && um.seriesOnly {
			needSeries = append(needSeries, name)
		}
		if um.minFollowers > 0 && s.followers(a) < um.minFollowers {
			tooFew = append(tooFew, name)
		}
	}
	if len(needTotal) > 0 {
		return errParam("The following metrics (%s) should be specified with parameter metric_type=total_value", strings.Join(needTotal, ", "))
	}
	if len(needSeries) > 0 {
		return errParam("The following metrics (%s) should be specified with parameter metric_type=time_series", strings.Join(needSeries, ", "))
	}
	if len(tooFew) > 0 {
		return errFewFollowers(tooFew, userMetrics[tooFew[0]].minFollowers)
	}
	demo := userMetrics[metrics[0]].demo
	if demo {
		tf := p.Get("timeframe")
		if tf == "" {
			return errRequired("timeframe")
		}
		if tf != "this_week" && tf != "this_month" {
			return errParam("timeframe must be one of the following values: this_week, this_month")
		}
	}
	var bds []string
	if !timeSeries { // time_series answers carry no breakdowns
		bds = splitList(p.Get("breakdown"))
		for _, bd := range bds {
			for _, name := range metrics {
				if !oneOf(userMetrics[name].breakdowns, bd) {
					return errParam("The breakdown (%s) is not supported for metric (%s); supported: %s", bd, name, strings.Join(userMetrics[name].breakdowns, ", "))
				}
			}
		}
	}
	now := s.now()
	since, until, e := timeRange(q)
	if e != nil {
		return e
	}
	if until.IsZero() {
		until = now
	}
	if since.IsZero() {
		since = until.Add(-24 * time.Hour)
	}
	if !since.Before(until) {
		return errParam("The since timestamp must be earlier than the until timestamp")
	}
	if until.Sub(since) > maxInsightsSpan {
		return errParam("There cannot be more than 30 days (2592000 s) between since and until")
	}

	days := dayRange(since, until)
	data := []any{}
	for _, name := range metrics {
		um := userMetrics[name]
		item := map[string]any{"name": name, "period": period, "title": um.title,
			"description": um.title + " (simulated).", "id": a.ID + "/insights/" + name + "/" + period}
		switch {
		case um.demo:
			total := s.followers(a) // demographics cover the audience
			tv := map[string]any{}
			if len(bds) == 0 {
				tv["value"] = total
			} else {
				var list []any
				for _, bd := range bds {
					list = append(list, breakdown(bd, breakdownValues[bd], total, a.ID+name))
				}
				tv["breakdowns"] = list
			}
			item["total_value"] = tv
		case timeSeries:
			values := []any{}
			for _, d := range days {
				if um.lastDays > 0 && now.Sub(d.Add(24*time.Hour)) > time.Duration(um.lastDays)*24*time.Hour {
					continue // a day that ended longer ago has no data left
				}
				var v any = dailyValue(a, name, d)
				if name == "online_followers" {
					v = hourlyOnline(s.followers(a), a, d)
				}
				values = append(values, map[string]any{"value": v, "end_time": isoTime(d.Add(24 * time.Hour))})
			}
			item["values"] = values
		default:
			total := 0
			for _, d := range days {
				total += dailyValue(a, name, d)
			}
			tv := map[string]any{"value": total}
			if len(bds) > 0 {
				var list []any
				for _, bd := range bds {
					list = append(list, breakdown(bd, breakdownValues[bd], total, a.ID+name))
				}
				tv["breakdowns"] = list
			}
			item["total_value"] = tv
		}
		data = append(data, item)
	}
	out := map[string]any{"data": data}
	if timeSeries {
		span := until.Sub(since)
		out["paging"] = map[string]string{
			"previous": rangeURL(q, since.Add(-span), since),
			"next":     rangeURL(q, until, until.Add(span)),
		}
	}
	writeJSON(w, 200, out)
	return nil
}

// dayRange lists the starts of the UTC days whose end (the value's
// end_time) falls in (since, until].
func dayRange(since, until time.Time) []time.Time {
	var out []time.Time
	for end := since.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour); !end.After(until); end = end.Add(24 * time.Hour) {
		out = append(out, end.Add(-24*time.Hour))
	}
	return out
}

func dailyValue(a *account, metric string, day time.Time) int {
	base := userMetrics[metric].daily
	if base == 0 {
		base = 10
	}
	return base/2 + hv(base, a.ID, metric, fmt.Sprint(day.Unix()/86400))
}

// hourlyOnline is online_followers' value: how many followers were online
// in each hour of the day ("0"…"23"), a share of the audience.
func hourlyOnline(followers int, a *account, day time.Time) map[string]int {
	out := make(map[string]int, 24)
	for h := range 24 {
		out[strconv.Itoa(h)] = followers * (5 + hv(30, a.ID, "online", fmt.Sprint(day.Unix()/86400, h))) / 100
	}
	return out
}

func rangeURL(q *request, since, until time.Time) string {
	return selfURL(q, map[string]string{"since": strconv.FormatInt(since.Unix(), 10), "until": strconv.FormatInt(until.Unix(), 10)})
}
