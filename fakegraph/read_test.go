package fakegraph

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestMediaRead(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now})
	c := start(t, s)
	feed := c.post("https://cdn.example.com/a.jpg", "hello #sandbox")
	reelC := c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/r.mp4", "share_to_feed", "false")).str("id")
	reel := c.publish(reelC).str("id")
	storyC := c.do("POST", "/"+acct+"/media", vals("media_type", "STORIES", "image_url", "https://cdn.example.com/s.jpg")).str("id")
	story := c.publish(storyC).str("id")
	if feed == reel || strings.HasPrefix(feed, "17889") {
		t.Fatal("media ids must be distinct from container ids")
	}
	tests := []struct {
		id                 string
		mediaType, product string
		permalink          string
	}{
		{feed, "IMAGE", "FEED", "https://www.instagram.com/p/"},
		{reel, "VIDEO", "REELS", "https://www.instagram.com/reel/"},
		{story, "IMAGE", "STORY", "https://www.instagram.com/stories/sandbox_creator/"},
	}
	for _, tt := range tests {
		a := c.do("GET", "/"+tt.id, vals("fields", "id,media_type,media_product_type,caption,permalink,shortcode,timestamp,username,like_count,comments_count,media_url,thumbnail_url,owner,is_comment_enabled"))
		if a.status != 200 || a.str("media_type") != tt.mediaType || a.str("media_product_type") != tt.product || !strings.HasPrefix(a.str("permalink"), tt.permalink) {
			t.Fatalf("%s", a.raw)
		}
		if a.str("timestamp") != "2026-03-10T12:00:00+0000" || a.str("username") != "sandbox_creator" {
			t.Fatalf("%s", a.raw)
		}
		if tt.product != "STORY" && !strings.HasSuffix(a.str("permalink"), "/"+a.str("shortcode")+"/") {
			t.Fatalf("%s", a.raw)
		}
		if _, ok := a.body["like_count"].(float64); !ok {
			t.Fatalf("%s", a.raw)
		}
		if (tt.mediaType == "VIDEO") != (a.str("thumbnail_url") != "") {
			t.Fatalf("thumbnail_url: %s", a.raw)
		}
	}
	if a := c.do("GET", "/"+feed, nil); len(a.body) != 1 || a.str("id") != feed {
		t.Fatalf("default fields: %s", a.raw)
	}
	if a := c.do("GET", "/"+feed, vals("fields", "caption")); a.str("caption") != "hello #sandbox" || a.str("id") != feed {
		t.Fatalf("%s", a.raw)
	}
	wantErr(t, c.do("GET", "/"+feed, vals("fields", "impressions")), 400, 100, 0)
	if a := c.do("GET", "/"+reel, vals("fields", "is_shared_to_feed")); a.body["is_shared_to_feed"] != false {
		t.Fatalf("%s", a.raw)
	}
	// the account
	u := c.do("GET", "/"+acct, vals("fields", "id,username,media_count,followers_count"))
	if u.str("username") != "sandbox_creator" || u.body["media_count"].(float64) != 2 {
		t.Fatalf("%s", u.raw)
	}
	// stories are listed under /stories, not /media, for 24 h
	st := c.do("GET", "/"+acct+"/stories", nil)
	if d := st.data(); len(d) != 1 || d[0].(map[string]any)["id"] != story {
		t.Fatalf("%s", st.raw)
	}
	clk.Add(25 * time.Hour)
	if d := c.do("GET", "/"+acct+"/stories", nil).data(); len(d) != 0 {
		t.Fatalf("stories after 24 h: %v", d)
	}
	// comments can be switched off
	if a := c.do("POST", "/"+feed, vals("comment_enabled", "false")); a.str("") != "" || a.body["success"] != true {
		t.Fatalf("%s", a.raw)
	}
	wantErr(t, c.do("POST", "/"+feed+"/comments", vals("message", "hi")), 400, 100, 0)
	// DELETE (Facebook Login): gone from reads and lists
	if a := c.do("DELETE", "/"+feed, nil); a.body["deleted_id"] != feed {
		t.Fatalf("%s", a.raw)
	}
	wantErr(t, c.do("GET", "/"+feed, nil), 400, 100, 33)
	wantErr(t, c.do("DELETE", "/"+story, nil), 400, -1, 2207073)
}

func TestMediaListPaging(t *testing.T) {
	clk := newClock()
	c := start(t, New(Options{Now: clk.Now}))
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, c.post(fmt.Sprintf("https://cdn.example.com/%d.jpg", i), fmt.Sprint("post ", i)))
		clk.Add(time.Minute)
	}
	var got []string
	params := vals("fields", "id,caption,timestamp", "limit", "3")
	pages := 0
	for {
		a := c.do("GET", "/"+acct+"/media", params)
		pages++
		for _, d := range a.data() {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		paging, _ := a.body["paging"].(map[string]any)
		next, _ := paging["next"].(string)
		if next == "" {
			break
		}
		if strings.Contains(next, "access_token") || strings.Contains(next, DefaultAccount.Token) {
			t.Fatalf("next leaks the token: %s", next)
		}
		u, _ := url.Parse(next)
		params = u.Query()
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if pages != 3 || len(got) != 7 {
		t.Fatalf("pages %d got %v", pages, got)
	}
	for i := range got { // newest first
		if got[i] != ids[len(ids)-1-i] {
			t.Fatalf("order %v", got)
		}
	}
	// before goes back
	first := c.do("GET", "/"+acct+"/media", vals("limit", "3"))
	after := first.body["paging"].(map[string]any)["cursors"].(map[string]any)["after"].(string)
	second := c.do("GET", "/"+acct+"/media", vals("limit", "3", "after", after))
	before := second.body["paging"].(map[string]any)["cursors"].(map[string]any)["before"].(string)
	back := c.do("GET", "/"+acct+"/media", vals("limit", "3", "before", before))
	if fmt.Sprint(back.data()) != fmt.Sprint(first.data()) {
		t.Fatalf("before: %s vs %s", back.raw, first.raw)
	}
	if _, ok := first.body["paging"].(map[string]any)["previous"]; ok {
		t.Fatal("first page has previous")
	}
	wantErr(t, c.do("GET", "/"+acct+"/media", vals("after", "garbage!")), 400, 100, 0)
	// since/until
	since := clk.Now().Add(-3 * time.Minute).Unix()
	if d := c.do("GET", "/"+acct+"/media", vals("since", fmt.Sprint(since))).data(); len(d) != 3 {
		t.Fatalf("since: %v", d)
	}
}

func TestComments(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now})
	c := start(t, s)
	m := c.post("https://cdn.example.com/a.jpg", "hi")
	var ids []string
	for i := 0; i < 60; i++ {
		ids = append(ids, s.AddComment(m, fmt.Sprintf("fan_%d", i), fmt.Sprintf("comment %d", i)))
		clk.Add(time.Second)
	}
	// first page: 50, newest first
	a := c.do("GET", "/"+m+"/comments", vals("limit", "100"))
	d := a.data()
	if len(d) != 50 || d[0].(map[string]any)["id"] != ids[59] || d[0].(map[string]any)["text"] != "comment 59" {
		t.Fatalf("first page %d: %s", len(d), a.raw[:200])
	}
	if d[0].(map[string]any)["timestamp"] == nil {
		t.Fatal("default fields are timestamp,text,id")
	}
	next := a.body["paging"].(map[string]any)["next"].(string)
	u, _ := url.Parse(next)
	b := c.do("GET", "/"+m+"/comments", u.Query())
	if len(b.data()) != 10 || b.body["paging"].(map[string]any)["next"] != nil {
		t.Fatalf("second page: %s", b.raw)
	}
	top := ids[59]
	// owner replies; a reply to a reply attaches to the top-level comment
	r1 := c.do("POST", "/"+top+"/replies", vals("message", "thanks!")).str("id")
	r2 := c.do("POST", "/"+r1+"/replies", vals("message", "again")).str("id")
	if r1 == "" || r2 == "" {
		t.Fatal("replies failed")
	}
	g := c.do("GET", "/"+r2, vals("fields", "id,text,parent_id,username,from,user,media{id},hidden"))
	if g.str("parent_id") != top || g.str("username") != "sandbox_creator" || g.body["user"] == nil || g.body["hidden"] != false {
		t.Fatalf("%s", g.raw)
	}
	other := c.do("GET", "/"+ids[0], vals("fields", "from,user"))
	if other.body["user"] != nil || other.body["from"].(map[string]any)["username"] != "fan_0" {
		t.Fatalf("%s", other.raw)
	}
	nested := c.do("GET", "/"+m+"/comments", vals("fields", "id,text,replies{id,text}", "limit", "1"))
	rep := nested.data()[0].(map[string]any)["replies"].(map[string]any)["data"].([]any)
	if len(rep) != 2 {
		t.Fatalf("%s", nested.raw)
	}
	if l := c.do("GET", "/"+top+"/replies", nil).data(); len(l) != 2 {
		t.Fatalf("replies edge: %v", l)
	}
	if cnt := c.do("GET", "/"+m, vals("fields", "comments_count")).body["comments_count"].(float64); cnt != 62 {
		t.Fatalf("comments_count %v", cnt)
	}
	// hide, then replying is refused; unhide works again
	if h := c.do("POST", "/"+top, vals("hide", "true")); h.body["success"] != true {
		t.Fatalf("%s", h.raw)
	}
	if g := c.do("GET", "/"+top, vals("fields", "hidden")); g.body["hidden"] != true {
		t.Fatalf("%s", g.raw)
	}
	wantErr(t, c.do("POST", "/"+top+"/replies", vals("message", "x")), 400, 100, 0)
	wantErr(t, c.do("POST", "/"+r1+"/replies", vals("message", "x")), 400, 100, 0)
	c.do("POST", "/"+top, vals("hide", "false"))
	if a := c.do("POST", "/"+top+"/replies", vals("message", "x")); a.status != 200 {
		t.Fatalf("%s", a.raw)
	}
	wantErr(t, c.do("POST", "/"+top+"/replies", nil), 400, 100, 0) // message required
	// the owner comments; delete removes a comment and its replies
	mine := c.do("POST", "/"+m+"/comments", vals("message", "first!")).str("id")
	if mine == "" {
		t.Fatal("comment failed")
	}
	if del := c.do("DELETE", "/"+top, nil); del.body["success"] != true {
		t.Fatalf("%s", del.raw)
	}
	wantErr(t, c.do("GET", "/"+top, nil), 400, 100, 33)
	if cnt := c.do("GET", "/"+m, vals("fields", "comments_count")).body["comments_count"].(float64); cnt != 60 {
		t.Fatalf("comments_count after delete %v", cnt)
	}
	// other accounts cannot touch them
	s2 := New(Options{Accounts: []Account{DefaultAccount, {ID: "17841400000000002", Username: "o", Token: "EAAo"}}})
	c2 := start(t, s2)
	m2 := c2.post("https://cdn.example.com/a.jpg", "x")
	cm := s2.AddComment(m2, "fan", "hey")
	wantErr(t, c2.with("EAAo").do("DELETE", "/"+cm, nil), 400, 100, 33)
	wantErr(t, c2.with("EAAo").do("GET", "/"+m2+"/comments", nil), 400, 100, 33)
}

func TestSeedComments(t *testing.T) {
	c := start(t, New(Options{SeedComments: 2}))
	m := c.post("https://cdn.example.com/a.jpg", "x")
	if d := c.do("GET", "/"+m+"/comments", vals("fields", "id,username")).data(); len(d) != 2 {
		t.Fatalf("%v", d)
	}
}

func TestMediaInsights(t *testing.T) {
	srv := New(Options{})
	c := start(t, srv)
	feed := c.post("https://cdn.example.com/a.jpg", "x")
	reel := c.publish(c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/r.mp4")).str("id")).str("id")
	story := c.publish(c.do("POST", "/"+acct+"/media", vals("media_type", "STORIES", "image_url", "https://cdn.example.com/s.jpg")).str("id")).str("id")
	tests := []struct {
		name, media, metric string
		extra               []string
		ok                  bool
		code                int
	}{
		{"feed metrics", feed, "views,reach,likes,comments,saved,shares,total_interactions,follows,profile_visits,profile_activity", nil, true, 0},
		{"reel metrics", reel, "views,reach,ig_reels_avg_watch_time,ig_reels_video_view_total_time,reels_skip_rate", nil, true, 0},
		{"story metrics", story, "views,reach,replies,navigation,shares", nil, true, 0},
		{"retired impressions", feed, "impressions", nil, false, 100},
		{"retired plays", reel, "reach,plays", nil, false, 100},
		{"retired video_views", reel, "video_views", nil, false, 100},
		{"reel metric on feed", feed, "ig_reels_avg_watch_time", nil, false, 100},
		{"likes on story", story, "likes", nil, false, 100},
		{"navigation on reel", reel, "navigation", nil, false, 100},
		{"missing metric", feed, "", nil, false, 100},
		{"bad period", feed, "reach", []string{"period", "year"}, false, 100},
		{"period lifetime", feed, "reach", []string{"period", "lifetime"}, true, 0},
		{"breakdown supported", story, "navigation", []string{"breakdown", "story_navigation_action_type"}, true, 0},
		{"breakdown unsupported", feed, "reach", []string{"breakdown", "action_type"}, false, 1},
		{"facebook_views not shared", feed, "facebook_views", nil, false, 100},
		{"total_likes with Facebook Login", feed, "total_likes", nil, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := c.do("GET", "/"+tt.media+"/insights", vals(append([]string{"metric", tt.metric}, tt.extra...)...))
			if !tt.ok {
				wantErr(t, a, 400, tt.code, 0)
				return
			}
			d := a.data()
			names := strings.Split(tt.metric, ",")
			if a.status != 200 || len(d) != len(names) {
				t.Fatalf("%s", a.raw)
			}
			for i, item := range d {
				it := item.(map[string]any)
				if it["name"] != names[i] || it["period"] != "lifetime" || it["id"] != tt.media+"/insights/"+names[i]+"/lifetime" {
					t.Fatalf("%v", it)
				}
				v := it["values"].([]any)[0].(map[string]any)["value"]
				if _, ok := v.(float64); !ok {
					t.Fatalf("value %v", v)
				}
			}
		})
	}
	a := c.do("GET", "/"+feed+"/insights", vals("metric", "reach,impressions"))
	msg := a.gerr()["message"].(string)
	if !strings.HasPrefix(msg, "(#100) metric[1] must be one of the following values: ") || strings.Contains(msg, "impressions") || !strings.Contains(msg, "reach") {
		t.Fatalf("%s", msg)
	}
	// likes/comments agree with the media fields
	m := c.do("GET", "/"+feed, vals("fields", "like_count,comments_count"))
	in := c.do("GET", "/"+feed+"/insights", vals("metric", "likes,comments")).data()
	for i, f := range []string{"like_count", "comments_count"} {
		if in[i].(map[string]any)["values"].([]any)[0].(map[string]any)["value"] != m.body[f] {
			t.Fatalf("%v vs %s", in, m.raw)
		}
	}
	// deterministic
	x := c.do("GET", "/"+feed+"/insights", vals("metric", "reach")).raw
	y := c.do("GET", "/"+feed+"/insights", vals("metric", "reach")).raw
	if x != y {
		t.Fatal("insights must be deterministic")
	}
	// a Story seen by fewer than 5 accounts has no insights (code 10,
	// docs/graph-api.md §8.1); from 5 it has, and reach is the viewers
	for _, tc := range []struct {
		viewers int
		ok      bool
	}{{0, false}, {4, false}, {5, true}, {40, true}} {
		srv.SetViewers(story, tc.viewers)
		a := c.do("GET", "/"+story+"/insights", vals("metric", "reach,views"))
		if !tc.ok {
			wantErr(t, a, 400, 10, 0)
			if msg := a.gerr()["message"]; msg != "(#10) Not enough viewers for the media to show insights" {
				t.Fatalf("%d viewers: %v", tc.viewers, msg)
			}
			continue
		}
		d := a.data()
		reach := d[0].(map[string]any)["values"].([]any)[0].(map[string]any)["value"]
		views := d[1].(map[string]any)["values"].([]any)[0].(map[string]any)["value"].(float64)
		if a.status != 200 || reach != float64(tc.viewers) || views < float64(tc.viewers) {
			t.Fatalf("%d viewers: %s", tc.viewers, a.raw)
		}
	}
	// feed media and reels have insights whatever their reach
	srv.SetViewers(feed, 0)
	if a := c.do("GET", "/"+feed+"/insights", vals("metric", "reach")); a.status != 200 {
		t.Fatalf("feed with no viewers: %s", a.raw)
	}
	// Instagram Login: total_* are Facebook-Login only
	ig := Account{ID: "17841400000000003", Username: "ig", Token: "IGAAx", Login: LoginInstagram}
	ci := start(t, New(Options{Accounts: []Account{ig}})).with("IGAAx")
	id := ci.do("POST", "/"+ig.ID+"/media", vals("image_url", "https://cdn.example.com/a.jpg")).str("id")
	pm := ci.do("POST", "/"+ig.ID+"/media_publish", vals("creation_id", id)).str("id")
	wantErr(t, ci.do("GET", "/"+pm+"/insights", vals("metric", "total_likes")), 400, 100, 0)
}

func TestUserInsights(t *testing.T) {
	clk := newClock()
	c := start(t, New(Options{Now: clk.Now}))
	day := int64(86400)
	until := clk.Now().Unix()
	tests := []struct {
		name   string
		params []string
		ok     bool
		check  func(t *testing.T, a answer)
	}{
		{"total_value", []string{"metric", "views,reach,accounts_engaged,total_interactions,likes,comments,shares,saves,replies,follows_and_unfollows,profile_links_taps", "period", "day", "metric_type", "total_value"}, true, func(t *testing.T, a answer) {
			for _, d := range a.data() {
				it := d.(map[string]any)
				if _, ok := it["total_value"].(map[string]any)["value"].(float64); !ok || it["period"] != "day" {
					t.Fatalf("%v", it)
				}
			}
		}},
		{"reach time_series", []string{"metric", "reach", "period", "day", "metric_type", "time_series", "since", fmt.Sprint(until - 7*day), "until", fmt.Sprint(until)}, true, func(t *testing.T, a answer) {
			vs := a.data()[0].(map[string]any)["values"].([]any)
			if len(vs) != 7 {
				t.Fatalf("%d values", len(vs))
			}
			if et := vs[0].(map[string]any)["end_time"].(string); !strings.HasSuffix(et, "T00:00:00+0000") {
				t.Fatalf("end_time %s", et)
			}
			if a.body["paging"] == nil {
				t.Fatal("time series has paging")
			}
		}},
		{"reach default metric_type is time_series", []string{"metric", "reach", "period", "day"}, true, nil},
		{"breakdown", []string{"metric", "reach", "period", "day", "metric_type", "total_value", "breakdown", "media_product_type"}, true, func(t *testing.T, a answer) {
			tv := a.data()[0].(map[string]any)["total_value"].(map[string]any)
			bd := tv["breakdowns"].([]any)[0].(map[string]any)
			sum := 0.0
			for _, r := range bd["results"].([]any) {
				sum += r.(map[string]any)["value"].(float64)
			}
			if sum != tv["value"].(float64) {
				t.Fatalf("breakdown sums to %v, total %v", sum, tv["value"])
			}
		}},
		{"demographics", []string{"metric", "follower_demographics", "period", "lifetime", "metric_type", "total_value", "timeframe", "this_month", "breakdown", "country"}, true, nil},
		{"views time_series refused", []string{"metric", "views", "period", "day", "metric_type", "time_series"}, false, func(t *testing.T, a answer) {
			if !strings.Contains(a.gerr()["message"].(string), "should be specified with parameter metric_type=total_value") {
				t.Fatalf("%s", a.raw)
			}
		}},
		{"views default metric_type refused", []string{"metric", "views", "period", "day"}, false, nil},
		{"retired impressions", []string{"metric", "impressions", "period", "day"}, false, nil},
		{"retired profile_views", []string{"metric", "profile_views", "period", "day"}, false, nil},
		{"missing period", []string{"metric", "reach"}, false, nil},
		{"demographics need lifetime", []string{"metric", "follower_demographics", "period", "day", "metric_type", "total_value", "timeframe", "this_month"}, false, nil},
		{"demographics need timeframe", []string{"metric", "follower_demographics", "period", "lifetime", "metric_type", "total_value"}, false, nil},
		{"dropped timeframe", []string{"metric", "follower_demographics", "period", "lifetime", "metric_type", "total_value", "timeframe", "last_30_days"}, false, nil},
		{"breakdown not supported", []string{"metric", "accounts_engaged", "period", "day", "metric_type", "total_value", "breakdown", "age"}, false, nil},
		{"span over 30 days", []string{"metric", "reach", "period", "day", "since", fmt.Sprint(until - 31*day), "until", fmt.Sprint(until)}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := c.do("GET", "/"+acct+"/insights", vals(tt.params...))
			if tt.ok && a.status != 200 {
				t.Fatalf("%s", a.raw)
			}
			if !tt.ok {
				wantErr(t, a, 400, 100, 0)
			}
			if tt.check != nil {
				tt.check(t, a)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		in   string
		want string
		bad  bool
	}{
		{"id,caption", "id caption", false},
		{" id , caption ", "id caption", false},
		{"id,children{id,media_url}", "id children{id media_url}", false},
		{"replies.limit(5){id,text},id", "replies(5){id text} id", false},
		{"instagram_business_account{id,username}", "instagram_business_account{id username}", false},
		{"id,{x}", "", true},
		{"id,children{id", "", true},
		{"id}", "", true},
		{"id,,x", "", true},
		{"a.limit(x){b}", "", true},
	}
	var render func(fs []field) string
	render = func(fs []field) string {
		var parts []string
		for _, f := range fs {
			p := f.name
			if f.limit != 0 {
				p += fmt.Sprintf("(%d)", f.limit)
			}
			if f.hasSub {
				p += "{" + render(f.sub) + "}"
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, " ")
	}
	for _, tt := range tests {
		fs, err := parseFields(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("%q: want error, got %v", tt.in, render(fs))
			}
			continue
		}
		if err != nil || render(fs) != tt.want {
			t.Errorf("%q: got %q (%v), want %q", tt.in, render(fs), err, tt.want)
		}
	}
}

// follower_count and online_followers are account metrics, with Meta's
// documented limits: 100 followers at least; online_followers only for the
// last 30 days (docs/graph-api.md §8.2).
func TestUserInsights_followerMetrics(t *testing.T) {
	clk := newClock()
	srv := New(Options{Now: clk.Now})
	c := start(t, srv)
	day := int64(86400)
	now := clk.Now().Unix()
	a := c.do("GET", "/"+acct+"/insights", vals("metric", "follower_count", "period", "day", "metric_type", "time_series",
		"since", fmt.Sprint(now-5*day), "until", fmt.Sprint(now)))
	if a.status != 200 || len(a.data()[0].(map[string]any)["values"].([]any)) != 5 {
		t.Fatalf("follower_count: %s", a.raw)
	}
	if a := c.do("GET", "/"+acct+"/insights", vals("metric", "follower_count", "period", "day", "metric_type", "total_value")); a.status != 200 {
		t.Fatalf("follower_count total_value: %s", a.raw)
	}
	// online_followers: period lifetime, one object of 24 hourly counts a
	// day, nothing older than 30 days
	a = c.do("GET", "/"+acct+"/insights", vals("metric", "online_followers", "period", "lifetime", "metric_type", "time_series",
		"since", fmt.Sprint(now-40*day), "until", fmt.Sprint(now-20*day)))
	vs := a.data()[0].(map[string]any)["values"].([]any)
	if a.status != 200 || len(vs) != 10 {
		t.Fatalf("online_followers over 40..20 days ago: want the 10 days of the last 30, got %s", a.raw)
	}
	hours := vs[0].(map[string]any)["value"].(map[string]any)
	if len(hours) != 24 || hours["0"] == nil || hours["23"] == nil {
		t.Fatalf("online_followers value %v", hours)
	}
	for _, bad := range [][]string{
		{"metric", "online_followers", "period", "day"},
		{"metric", "online_followers", "period", "lifetime", "metric_type", "total_value"},
		{"metric", "follower_count", "period", "lifetime"},
	} {
		wantErr(t, c.do("GET", "/"+acct+"/insights", vals(bad...)), 400, 100, 0)
	}
	// below 100 followers: refused (followers_count agrees)
	srv.SetFollowers(acct, 99)
	if f := c.do("GET", "/"+acct, vals("fields", "followers_count")).body["followers_count"]; f != float64(99) {
		t.Fatalf("followers_count %v", f)
	}
	for _, m := range [][]string{
		{"metric", "follower_count", "period", "day"},
		{"metric", "online_followers", "period", "lifetime"},
	} {
		a := c.do("GET", "/"+acct+"/insights", vals(m...))
		wantErr(t, a, 400, 100, 0)
		if !strings.Contains(a.gerr()["message"].(string), "fewer than 100 followers") {
			t.Fatalf("%s", a.raw)
		}
	}
	if a := c.do("GET", "/"+acct+"/insights", vals("metric", "reach", "period", "day")); a.status != 200 {
		t.Fatalf("reach below 100 followers: %s", a.raw)
	}
	srv.SetFollowers(acct, 100)
	if a := c.do("GET", "/"+acct+"/insights", vals("metric", "follower_count", "period", "day")); a.status != 200 {
		t.Fatalf("follower_count at 100 followers: %s", a.raw)
	}
}
