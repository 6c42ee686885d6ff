package fakegraph

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// publishedImage creates an image container and publishes it.
func publishedImage(c *client) string {
	id := c.createImage("https://cdn.example.com/a.jpg")
	if a := c.publish(id); a.status != 200 {
		c.t.Fatalf("publish: %s", a.raw)
	}
	return id
}

func TestContainerStateMachine(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		setup func(s *Server)
		// create makes the container; steps then alternate clock moves and
		// expected status codes
		create func(c *client) string
		steps  []struct {
			advance time.Duration
			want    string
		}
		wantStatus string // expected `status` string at the last step
	}{
		{
			name:   "image finished at once",
			create: func(c *client) string { return c.createImage("https://cdn.example.com/a.jpg") },
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusFinished}},
			wantStatus: statusFinished,
		},
		{
			name:   "image in progress until processing time passed",
			opts:   Options{ImageProcessing: 10 * time.Second},
			create: func(c *client) string { return c.createImage("https://cdn.example.com/a.jpg") },
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusInProgress}, {9 * time.Second, StatusInProgress}, {time.Second, StatusFinished}},
			wantStatus: statusFinished,
		},
		{
			name: "reel processing uses VideoProcessing",
			opts: Options{ImageProcessing: time.Hour, VideoProcessing: time.Minute},
			create: func(c *client) string {
				return c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/r.mp4")).str("id")
			},
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusInProgress}, {time.Minute, StatusFinished}},
			wantStatus: statusFinished,
		},
		{
			name:   "ProcessingPolls reads answer IN_PROGRESS first",
			opts:   Options{ProcessingPolls: 2},
			create: func(c *client) string { return c.createImage("https://cdn.example.com/a.jpg") },
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusInProgress}, {0, StatusInProgress}, {0, StatusFinished}, {0, StatusFinished}},
			wantStatus: statusFinished,
		},
		{
			name: "time and polls both required",
			opts: Options{VideoProcessing: time.Minute, ProcessingPolls: 1},
			create: func(c *client) string {
				return c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/r.mp4")).str("id")
			},
			steps: []struct {
				advance time.Duration
				want    string
			}{{2 * time.Minute, StatusInProgress}, {0, StatusFinished}},
			wantStatus: statusFinished,
		},
		{
			name: "polls done but time not passed",
			opts: Options{VideoProcessing: time.Minute, ProcessingPolls: 1},
			create: func(c *client) string {
				return c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/r.mp4")).str("id")
			},
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusInProgress}, {30 * time.Second, StatusInProgress}, {30 * time.Second, StatusFinished}},
			wantStatus: statusFinished,
		},
		{
			name:  "ERROR outcome",
			opts:  Options{VideoProcessing: time.Minute},
			setup: func(s *Server) { s.SetMediaOutcome("broken", Outcome{StatusCode: StatusError, Subcode: 2207026}) },
			create: func(c *client) string {
				return c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/broken.avi")).str("id")
			},
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusInProgress}, {time.Minute, StatusError}},
			wantStatus: "Error: Media upload has failed with error code 2207026",
		},
		{
			name:   "EXPIRED 24 h after creation",
			create: func(c *client) string { return c.createImage("https://cdn.example.com/a.jpg") },
			steps: []struct {
				advance time.Duration
				want    string
			}{{23*time.Hour + 59*time.Minute, StatusFinished}, {time.Minute, StatusExpired}},
			wantStatus: statusExpired,
		},
		{
			name:  "EXPIRED outcome",
			setup: func(s *Server) { s.SetMediaOutcome("stale", Outcome{StatusCode: StatusExpired}) },
			create: func(c *client) string {
				return c.createImage("https://cdn.example.com/stale.jpg")
			},
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusExpired}},
			wantStatus: statusExpired,
		},
		{
			name:   "PUBLISHED after publish, once the status lag has passed",
			create: publishedImage,
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusFinished}, {DefaultStatusLag - time.Millisecond, StatusFinished}, {time.Millisecond, StatusPublished}, {48 * time.Hour, StatusPublished}},
			wantStatus: statusPublished,
		},
		{
			name:   "StatusLag set",
			opts:   Options{StatusLag: 10 * time.Second},
			create: publishedImage,
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusFinished}, {9 * time.Second, StatusFinished}, {time.Second, StatusPublished}},
			wantStatus: statusPublished,
		},
		{
			name:   "PUBLISHED at once: Optimistic, or a negative StatusLag",
			opts:   Options{StatusLag: -1},
			create: publishedImage,
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusPublished}, {48 * time.Hour, StatusPublished}},
			wantStatus: statusPublished,
		},
		{
			name:   "PUBLISHED at once: Optimistic",
			opts:   Options{Optimistic: true},
			create: publishedImage,
			steps: []struct {
				advance time.Duration
				want    string
			}{{0, StatusPublished}},
			wantStatus: statusPublished,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			tt.opts.Now = clk.Now
			s := New(tt.opts)
			if tt.setup != nil {
				tt.setup(s)
			}
			c := start(t, s)
			id := tt.create(c)
			var last answer
			for i, st := range tt.steps {
				clk.Add(st.advance)
				last = c.do("GET", "/"+id, vals("fields", "id,status_code,status"))
				if got := last.str("status_code"); got != st.want {
					t.Fatalf("step %d: status_code %s, want %s (%s)", i, got, st.want, last.raw)
				}
				if last.str("id") != id {
					t.Fatalf("id %q, want %q", last.str("id"), id)
				}
			}
			if got := last.str("status"); got != tt.wantStatus {
				t.Fatalf("status %q, want %q", got, tt.wantStatus)
			}
		})
	}
}

func TestSyncOutcomeFailsCreation(t *testing.T) {
	s := New(Options{})
	s.SetMediaOutcome("unreachable", Outcome{StatusCode: StatusError, Subcode: 2207052, AtCreation: true})
	c := start(t, s)
	a := c.do("POST", "/"+acct+"/media", vals("image_url", "https://unreachable.example/a.jpg"))
	wantErr(t, a, 400, 9004, 2207052)
	if n := len(s.Containers()); n != 0 {
		t.Fatalf("%d containers created", n)
	}
}

func TestPublishRules(t *testing.T) {
	t.Run("not ready is 9007/2207027", func(t *testing.T) {
		s := New(Options{ImageProcessing: time.Minute})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		a := c.publish(id)
		wantErr(t, a, 400, 9007, 2207027)
		e := a.gerr()
		if e["is_transient"] != false || e["error_user_title"] != "Cannot Publish" ||
			e["error_user_msg"] != "The media is not ready for publishing, please wait for a moment" {
			t.Fatalf("body %s", a.raw)
		}
		if len(s.Published(acct)) != 0 {
			t.Fatal("published while not ready")
		}
	})
	t.Run("unknown id is 24/2207008", func(t *testing.T) {
		c := start(t, New(Options{}))
		wantErr(t, c.publish("17889999999999999"), 400, 24, 2207008)
	})
	t.Run("missing creation_id", func(t *testing.T) {
		c := start(t, New(Options{}))
		a := c.do("POST", "/"+acct+"/media_publish", nil)
		wantErr(t, a, 400, 100, 0)
	})
	t.Run("second publish makes a second post (Meta documents no guard)", func(t *testing.T) {
		s := New(Options{StatusLag: -1})
		c := start(t, s)
		for _, kind := range []string{"image", "carousel"} {
			id := c.createImage("https://cdn.example.com/a.jpg")
			if kind == "carousel" {
				a := c.createImage("https://cdn.example.com/b.jpg", "is_carousel_item", "true")
				b := c.createImage("https://cdn.example.com/c.jpg", "is_carousel_item", "true")
				id = c.do("POST", "/"+acct+"/media", vals("media_type", "CAROUSEL", "children", a+","+b)).str("id")
			}
			first, second := c.publish(id), c.publish(id)
			if first.status != 200 || second.status != 200 || first.str("id") == "" || first.str("id") == second.str("id") {
				t.Fatalf("%s: publishes %s / %s", kind, first.raw, second.raw)
			}
			if c.status(id) != StatusPublished || s.MediaPublishes(id) != 2 {
				t.Fatalf("%s: status %s, %d sends", kind, c.status(id), s.MediaPublishes(id))
			}
		}
		if n := len(s.Published(acct)); n != 4 {
			t.Fatalf("%d published, want 4 (2 per container)", n)
		}
	})
	t.Run("a publish during the status lag makes a second post", func(t *testing.T) {
		clk := newClock()
		s := New(Options{Now: clk.Now})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		first := c.publish(id)
		clk.Add(DefaultStatusLag / 2)
		if first.status != 200 || c.status(id) != StatusFinished {
			t.Fatalf("first %s, status %s within the lag", first.raw, c.status(id))
		}
		if second := c.publish(id); second.status != 200 || second.str("id") == first.str("id") || len(s.Published(acct)) != 2 {
			t.Fatalf("second %s, %d posts", second.raw, len(s.Published(acct)))
		}
	})
	t.Run("RefuseRepublish: second publish is 24/2207008 and publishes nothing", func(t *testing.T) {
		s := New(Options{RefuseRepublish: true})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		first := c.publish(id)
		if first.status != 200 || first.str("id") == "" || first.str("id") == id {
			t.Fatalf("first publish: %s", first.raw)
		}
		wantErr(t, c.publish(id), 400, 24, 2207008)
		if n := len(s.Published(acct)); n != 1 || s.MediaPublishes(id) != 2 {
			t.Fatalf("%d published, %d sends", n, s.MediaPublishes(id))
		}
	})
	t.Run("Optimistic refuses a second publish", func(t *testing.T) {
		s := New(Options{Optimistic: true})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		if first := c.publish(id); first.status != 200 {
			t.Fatalf("first publish: %s", first.raw)
		}
		wantErr(t, c.publish(id), 400, 24, 2207008)
		if n := len(s.Published(acct)); n != 1 {
			t.Fatalf("%d published", n)
		}
	})
	t.Run("PublishSends leaves out not-ready refusals only", func(t *testing.T) {
		clk := newClock()
		s := New(Options{Now: clk.Now, ImageProcessing: time.Minute, StatusLag: -1})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		wantErr(t, c.publish(id), 400, 9007, 2207027)
		wantErr(t, c.publish(id), 400, 9007, 2207027)
		clk.Add(time.Minute)
		if a := c.publish(id); a.status != 200 {
			t.Fatalf("publish: %s", a.raw)
		}
		s.Inject(Fault{PathSuffix: "/media_publish", Nth: 1, Action: FaultHTTP500})
		c.publish(id) // a 5xx may have published: it counts
		if got, all := s.PublishSends(id), s.MediaPublishes(id); got != 2 || all != 4 {
			t.Fatalf("PublishSends %d, MediaPublishes %d; want 2, 4", got, all)
		}
		calls := s.Calls()
		if cl := calls[1]; cl.ErrorCode != 9007 || cl.ErrorSubcode != 2207027 || cl.Status != 400 {
			t.Fatalf("call %+v", cl)
		}
	})
	t.Run("a send whose client left before the fake acted is marked and changes nothing", func(t *testing.T) {
		s := New(Options{})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		s.Inject(Fault{PathSuffix: "/media_publish", Nth: 1, Action: FaultLatency, Delay: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		form := url.Values{"creation_id": {id}, "access_token": {c.token}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+acct+"/media_publish", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		for s.MediaPublishes(id) == 0 { // the fake has the call
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; err == nil {
			t.Fatal("the cancelled send was answered")
		}
		for !lastCall(s).Aborted { // the handler sees the client gone
			time.Sleep(time.Millisecond)
		}
		if n := len(s.Published(acct)); n != 0 {
			t.Fatalf("%d published by a send the fake never acted on", n)
		}
		if a := c.publish(id); a.status != 200 {
			t.Fatalf("publish after the aborted send: %s", a.raw)
		}
		if n := len(s.Published(acct)); n != 1 || lastCall(s).Aborted {
			t.Fatalf("%d published; last call %+v", n, lastCall(s))
		}
	})
	t.Run("expired is -2/2207020", func(t *testing.T) {
		clk := newClock()
		c := start(t, New(Options{Now: clk.Now}))
		id := c.createImage("https://cdn.example.com/a.jpg")
		clk.Add(24 * time.Hour)
		wantErr(t, c.publish(id), 400, -2, 2207020)
	})
	t.Run("ERROR container answers its processing error", func(t *testing.T) {
		s := New(Options{})
		s.SetMediaOutcome("bad", Outcome{StatusCode: StatusError, Subcode: 2207026})
		c := start(t, s)
		a := c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/bad.mkv"))
		wantErr(t, c.publish(a.str("id")), 400, 352, 2207026)
	})
	t.Run("carousel child cannot be published alone", func(t *testing.T) {
		c := start(t, New(Options{}))
		id := c.createImage("https://cdn.example.com/a.jpg", "is_carousel_item", "true")
		wantErr(t, c.publish(id), 400, 100, 0)
	})
	t.Run("another account's container is unknown", func(t *testing.T) {
		other := Account{ID: "17841400000000002", Username: "other", Token: "EAAother"}
		c := start(t, New(Options{Accounts: []Account{DefaultAccount, other}}))
		a := c.with("EAAother").do("POST", "/"+other.ID+"/media", vals("image_url", "https://cdn.example.com/a.jpg"))
		wantErr(t, c.publish(a.str("id")), 400, 24, 2207008)
	})
}

func TestPublishQuota(t *testing.T) {
	clk := newClock()
	s := New(Options{QuotaTotal: 2, Now: clk.Now})
	c := start(t, s)
	limit := func(params ...string) (usage, total int) {
		a := c.do("GET", "/"+acct+"/content_publishing_limit", vals(append([]string{"fields", "quota_usage,config"}, params...)...))
		d := a.data()
		if a.status != 200 || len(d) != 1 {
			t.Fatalf("limit: %s", a.raw)
		}
		item := d[0].(map[string]any)
		cfg := item["config"].(map[string]any)
		if cfg["quota_duration"].(float64) != 86400 {
			t.Fatalf("config %v", cfg)
		}
		return int(item["quota_usage"].(float64)), int(cfg["quota_total"].(float64))
	}
	if u, tot := limit(); u != 0 || tot != 2 {
		t.Fatalf("usage %d total %d", u, tot)
	}
	c.post("https://cdn.example.com/1.jpg", "one")
	clk.Add(time.Hour)
	c.post("https://cdn.example.com/2.jpg", "two")
	if u, _ := limit(); u != 2 {
		t.Fatalf("usage %d, want 2", u)
	}
	if u, _ := limit("since", fmt.Sprint(clk.Now().Add(-30*time.Minute).Unix())); u != 1 {
		t.Fatalf("usage since 30 min %d, want 1", u)
	}
	id := c.createImage("https://cdn.example.com/3.jpg")
	wantErr(t, c.publish(id), 400, 9, 2207042)
	// the container stays publishable once the window rolls on
	clk.Add(23*time.Hour + time.Second)
	if a := c.publish(id); a.status != 200 {
		t.Fatalf("publish after window: %s", a.raw)
	}
	if u, _ := limit(); u != 2 {
		t.Fatalf("usage %d, want 2", u)
	}
	// default quota is 100
	c2 := start(t, New(Options{}))
	a := c2.do("GET", "/"+acct+"/content_publishing_limit", vals("fields", "config"))
	if !strings.Contains(a.raw, `"quota_total":100`) {
		t.Fatalf("default quota: %s", a.raw)
	}
	// default fields: quota_usage only
	a = c2.do("GET", "/"+acct+"/content_publishing_limit", nil)
	if a.raw != `{"data":[{"quota_usage":0}]}` {
		t.Fatalf("default fields: %s", a.raw)
	}
}

func TestCarousel(t *testing.T) {
	newChild := func(c *client, i int) string {
		return c.createImage(fmt.Sprintf("https://cdn.example.com/%d.jpg", i), "is_carousel_item", "true")
	}
	t.Run("publish a carousel", func(t *testing.T) {
		s := New(Options{Latency: 20 * time.Millisecond, StatusLag: -1})
		c := start(t, s)
		ids := make([]string, 3)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i] = newChild(c, i)
			}()
		}
		wg.Wait()
		if got := s.MaxConcurrent("POST", "/media"); got != 3 {
			t.Fatalf("MaxConcurrent = %d, want 3", got)
		}
		a := c.do("POST", "/"+acct+"/media", vals("media_type", "CAROUSEL", "children", strings.Join(ids, ","), "caption", "album"))
		if a.status != 200 {
			t.Fatalf("parent: %s", a.raw)
		}
		parent := a.str("id")
		if st := c.status(parent); st != StatusFinished {
			t.Fatalf("parent %s", st)
		}
		pub := c.publish(parent)
		if pub.status != 200 {
			t.Fatalf("publish: %s", pub.raw)
		}
		m := c.do("GET", "/"+pub.str("id"), vals("fields", "media_type,media_product_type,caption,children{id,media_type}"))
		if m.str("media_type") != "CAROUSEL_ALBUM" || m.str("media_product_type") != "FEED" || m.str("caption") != "album" {
			t.Fatalf("media %s", m.raw)
		}
		if kids := m.body["children"].(map[string]any)["data"].([]any); len(kids) != 3 {
			t.Fatalf("children %v", kids)
		}
		for _, id := range ids {
			if st := c.status(id); st != StatusPublished {
				t.Fatalf("child %s", st)
			}
		}
		pl := c.do("GET", "/"+acct+"/content_publishing_limit", nil)
		if !strings.Contains(pl.raw, `"quota_usage":1`) {
			t.Fatalf("a carousel counts as one post: %s", pl.raw)
		}
		// JSON-array children are accepted too
		j := c.do("POST", "/"+acct+"/media", vals("media_type", "CAROUSEL", "children", `["`+newChild(c, 7)+`","`+newChild(c, 8)+`"]`))
		if j.status != 200 {
			t.Fatalf("JSON children: %s", j.raw)
		}
	})
	t.Run("rules", func(t *testing.T) {
		clk := newClock()
		s := New(Options{Now: clk.Now, ImageProcessing: time.Minute})
		c := start(t, s)
		var ready []string
		for i := 0; i < 11; i++ {
			ready = append(ready, newChild(c, i))
		}
		clk.Add(time.Minute)
		pending := newChild(c, 99)
		single := c.createImage("https://cdn.example.com/single.jpg")
		clk.Add(time.Minute)
		slow := newChild(c, 100) // still processing
		reel := c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/r.mp4")).str("id")
		_ = pending
		tests := []struct {
			name            string
			params          []string
			code, sub       int
			substrOfMessage string
		}{
			{"one child", []string{"children", ready[0]}, 100, 2207028, ""},
			{"eleven children", []string{"children", strings.Join(ready, ",")}, 100, 2207028, ""},
			{"no children", nil, 100, 0, "children"},
			{"child still processing", []string{"children", ready[0] + "," + slow}, 9007, 2207027, ""},
			{"unknown child", []string{"children", ready[0] + ",17889000000999999"}, 24, 2207006, ""},
			{"child not a carousel item", []string{"children", ready[0] + "," + single}, 100, 0, "carousel item"},
			{"reel as child", []string{"children", ready[0] + "," + reel}, 100, 0, "carousel item"},
			{"duplicate child", []string{"children", ready[0] + "," + ready[0]}, 100, 0, "twice"},
			{"image_url on parent", []string{"children", ready[0] + "," + ready[1], "image_url", "https://cdn.example.com/x.jpg"}, 100, 0, "image_url"},
			{"user_tags on parent", []string{"children", ready[0] + "," + ready[1], "user_tags", `[{"username":"a","x":0.1,"y":0.1}]`}, 100, 0, "user_tags"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := c.do("POST", "/"+acct+"/media", vals(append([]string{"media_type", "CAROUSEL"}, tt.params...)...))
				wantErr(t, a, 400, tt.code, tt.sub)
				if !strings.Contains(a.gerr()["message"].(string), tt.substrOfMessage) {
					t.Fatalf("message %s", a.raw)
				}
			})
		}
		itemTests := []struct {
			name      string
			params    []string
			code, sub int
		}{
			{"caption on child", []string{"image_url", "https://cdn.example.com/a.jpg", "is_carousel_item", "true", "caption", "no"}, 100, 0},
			{"collaborators on child", []string{"image_url", "https://cdn.example.com/a.jpg", "is_carousel_item", "true", "collaborators", `["a"]`}, 100, 0},
			{"location on child", []string{"image_url", "https://cdn.example.com/a.jpg", "is_carousel_item", "true", "location_id", "123"}, 100, 0},
			{"REELS as carousel item", []string{"media_type", "REELS", "video_url", "https://cdn.example.com/a.mp4", "is_carousel_item", "true"}, 100, 2207023},
			{"VIDEO without is_carousel_item", []string{"media_type", "VIDEO", "video_url", "https://cdn.example.com/a.mp4"}, 100, 2207023},
		}
		for _, tt := range itemTests {
			t.Run(tt.name, func(t *testing.T) {
				wantErr(t, c.do("POST", "/"+acct+"/media", vals(tt.params...)), 400, tt.code, tt.sub)
			})
		}
		// a VIDEO carousel item is fine
		if a := c.do("POST", "/"+acct+"/media", vals("media_type", "VIDEO", "video_url", "https://cdn.example.com/a.mp4", "is_carousel_item", "true")); a.status != 200 {
			t.Fatalf("video item: %s", a.raw)
		}
	})
	t.Run("parent expires with its children", func(t *testing.T) {
		clk := newClock()
		c := start(t, New(Options{Now: clk.Now}))
		a, b := newChild(c, 1), newChild(c, 2)
		clk.Add(12 * time.Hour)
		p := c.do("POST", "/"+acct+"/media", vals("media_type", "CAROUSEL", "children", a+","+b)).str("id")
		clk.Add(12 * time.Hour)
		if st := c.status(p); st != StatusExpired {
			t.Fatalf("parent %s, want EXPIRED", st)
		}
		wantErr(t, c.publish(p), 400, -2, 2207020)
	})
}

func TestContainerValidation(t *testing.T) {
	long := strings.Repeat("a", 2201)
	tags := strings.Repeat("#tag ", 6)
	mentions := strings.Repeat("@someone ", 21)
	img := "https://cdn.example.com/a.jpg"
	vid := "https://cdn.example.com/a.mp4"
	tests := []struct {
		name      string
		params    []string
		code, sub int // 0, 0: success
	}{
		{"image ok", []string{"image_url", img, "caption", "hi #one @two", "alt_text", "a cat", "location_id", "1234", "user_tags", `[{"username":"bob","x":0.5,"y":1}]`, "collaborators", `["a","b","c"]`}, 0, 0},
		{"missing image_url", nil, 100, 0},
		{"video_url on image", []string{"image_url", img, "video_url", vid}, 100, 0},
		{"explicit IMAGE media_type unknown", []string{"media_type", "IMAGE", "image_url", img}, 100, 2207023},
		{"unknown media_type", []string{"media_type", "GIF", "image_url", img}, 100, 2207023},
		{"reel needs video_url", []string{"media_type", "REELS"}, 100, 0},
		{"reel ok", []string{"media_type", "REELS", "video_url", vid, "caption", "r", "share_to_feed", "false", "thumb_offset", "1500", "cover_url", "https://cdn.example.com/c.jpg", "audio_name", "x", "trial_params", `{"graduation_strategy":"MANUAL"}`}, 0, 0},
		{"reel with image_url", []string{"media_type", "REELS", "video_url", vid, "image_url", img}, 100, 0},
		{"story image ok", []string{"media_type", "STORIES", "image_url", img, "user_tags", `[{"username":"bob"}]`}, 0, 0},
		{"story video ok", []string{"media_type", "STORIES", "video_url", vid}, 0, 0},
		{"story needs a url", []string{"media_type", "STORIES"}, 100, 0},
		{"story with both urls", []string{"media_type", "STORIES", "video_url", vid, "image_url", img}, 100, 0},
		{"collaborators on story", []string{"media_type", "STORIES", "image_url", img, "collaborators", `["a"]`}, 100, 0},
		{"caption too long", []string{"image_url", img, "caption", long}, 36004, 2207010},
		{"caption 2200 runes ok", []string{"image_url", img, "caption", strings.Repeat("é", 2200)}, 0, 0},
		{"too many hashtags", []string{"image_url", img, "caption", tags}, 36004, 2207010},
		{"5 hashtags ok", []string{"image_url", img, "caption", strings.Repeat("#tag ", 5)}, 0, 0},
		{"hashtags glued together count", []string{"image_url", img, "caption", "#a#b#c#d#e#f"}, 36004, 2207010},
		{"full-width hashtags count", []string{"image_url", img, "caption", "＃a ＃b ＃c ＃d ＃e ＃f"}, 36004, 2207010},
		{"an HTML entity is no hashtag", []string{"image_url", img, "caption", "#a #b #c #d #e it&#39;s"}, 0, 0},
		{"too many mentions", []string{"image_url", img, "caption", mentions}, 100, 2207040},
		{"e-mail is not a mention", []string{"image_url", img, "caption", strings.Repeat("a@b.com ", 25)}, 0, 0},
		{"four collaborators", []string{"image_url", img, "collaborators", `["a","b","c","d"]`}, 100, 0},
		{"collaborator with @", []string{"image_url", img, "collaborators", `["@a"]`}, 100, 2207018},
		{"user tag out of range", []string{"image_url", img, "user_tags", `[{"username":"bob","x":1.2,"y":0.5}]`}, 100, 0},
		{"user tag without x on image", []string{"image_url", img, "user_tags", `[{"username":"bob"}]`}, 100, 0},
		{"user tags not JSON", []string{"image_url", img, "user_tags", "bob"}, 100, 0},
		{"thumb_offset negative", []string{"media_type", "REELS", "video_url", vid, "thumb_offset", "-1"}, 1, 2207057},
		{"thumb_offset on image", []string{"image_url", img, "thumb_offset", "10"}, 100, 0},
		{"alt_text on reel", []string{"media_type", "REELS", "video_url", vid, "alt_text", "x"}, 100, 0},
		{"alt_text too long", []string{"image_url", img, "alt_text", strings.Repeat("x", 1001)}, 100, 0},
		{"share_to_feed on image", []string{"image_url", img, "share_to_feed", "true"}, 100, 0},
		{"bad trial_params", []string{"media_type", "REELS", "video_url", vid, "trial_params", `{"graduation_strategy":"NEVER"}`}, 100, 0},
		{"not an http url", []string{"image_url", "file:///etc/passwd"}, 9004, 2207052},
		{"non-ASCII url", []string{"image_url", "https://cdn.example.com/café.jpg"}, 9004, 2207052},
		{"upload_type must be lowercase resumable", []string{"media_type", "REELS", "upload_type", "RESUMABLE"}, 100, 0},
		{"resumable image", []string{"image_url", img, "upload_type", "resumable"}, 100, 0},
		{"children on image", []string{"image_url", img, "children", "1,2"}, 100, 0},
	}
	for _, via := range []string{"form", "json"} {
		for _, tt := range tests {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				c := start(t, New(Options{}))
				c.via = via
				a := c.do("POST", "/"+acct+"/media", vals(tt.params...))
				if tt.code == 0 {
					if a.status != 200 || a.str("id") == "" {
						t.Fatalf("want success, got %s", a.raw)
					}
					return
				}
				wantErr(t, a, 400, tt.code, tt.sub)
			})
		}
	}
}

func TestContainerLimit(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now})
	c := start(t, s)
	for i := 0; i < 400; i++ {
		c.createImage("https://cdn.example.com/a.jpg")
		if i == 0 {
			clk.Add(time.Hour)
		}
	}
	wantErr(t, c.do("POST", "/"+acct+"/media", vals("image_url", "https://cdn.example.com/a.jpg")), 400, 9, 0)
	clk.Add(23 * time.Hour) // the first container leaves the rolling window
	c.createImage("https://cdn.example.com/a.jpg")
}

func TestReadAfterWrite(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts Options
		off  bool
	}{
		{"default: ignored", Options{}, true},
		{"ReadAfterWrite", Options{ReadAfterWrite: true}, false},
		{"Optimistic", Options{Optimistic: true}, false},
		{"Optimistic, NoReadAfterWrite", Options{Optimistic: true, NoReadAfterWrite: true}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			off := tt.off
			tt.opts.ProcessingPolls = 1
			c := start(t, New(tt.opts))
			a := c.do("POST", "/"+acct+"/media", vals("image_url", "https://cdn.example.com/a.jpg", "fields", "id,status_code,status"))
			if a.status != 200 || a.str("id") == "" {
				t.Fatalf("%s", a.raw)
			}
			if off {
				if len(a.body) != 1 {
					t.Fatalf("fields must be ignored: %s", a.raw)
				}
			} else if a.str("status_code") != StatusInProgress || a.str("status") != statusInProgress {
				t.Fatalf("read-after-write: %s", a.raw)
			}
			id := a.str("id")
			c.status(id) // the one IN_PROGRESS poll
			if st := c.status(id); st != StatusFinished {
				t.Fatalf("status %s", st)
			}
			p := c.do("POST", "/"+acct+"/media_publish", vals("creation_id", id, "fields", "id,permalink,shortcode"))
			if p.status != 200 {
				t.Fatalf("%s", p.raw)
			}
			if off {
				if len(p.body) != 1 {
					t.Fatalf("fields must be ignored: %s", p.raw)
				}
			} else if !strings.HasPrefix(p.str("permalink"), "https://www.instagram.com/p/"+p.str("shortcode")) {
				t.Fatalf("permalink: %s", p.raw)
			}
			// unknown fields are refused before any work is done
			if !off {
				b := c.do("POST", "/"+acct+"/media", vals("image_url", "https://cdn.example.com/a.jpg", "fields", "id,nope"))
				wantErr(t, b, 400, 100, 0)
			}
		})
	}
}

func TestResumableUpload(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now, VideoProcessing: time.Minute})
	c := start(t, s)
	a := c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "upload_type", "resumable", "caption", "up"))
	id, uri := a.str("id"), a.str("uri")
	if a.status != 200 || !strings.HasSuffix(uri, "/ig-api-upload/v25.0/"+id) {
		t.Fatalf("create: %s", a.raw)
	}
	clk.Add(time.Hour)
	if st := c.status(id); st != StatusInProgress {
		t.Fatalf("before upload: %s", st)
	}
	upload := func(token string, off int, chunk string, size int) (int, string) {
		req, _ := http.NewRequest("POST", uri, strings.NewReader(chunk))
		req.Header.Set("Authorization", "OAuth "+token)
		req.Header.Set("offset", fmt.Sprint(off))
		req.Header.Set("file_size", fmt.Sprint(size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if code, body := upload("EAAwrong", 0, "0123456789", 20); code != 400 || !strings.Contains(body, "unauthorized user request") {
		t.Fatalf("bad token upload: %d %s", code, body)
	}
	if code, body := upload(DefaultAccount.Token, 0, "0123456789", 20); code != 200 || !strings.Contains(body, `"success":true`) {
		t.Fatalf("chunk 1: %d %s", code, body)
	}
	if code, body := upload(DefaultAccount.Token, 5, "0123456789", 20); code != 400 || !strings.Contains(body, "debug_info") {
		t.Fatalf("wrong offset: %d %s", code, body)
	}
	if code, body := upload(DefaultAccount.Token, 10, "0123456789", 20); code != 200 {
		t.Fatalf("chunk 2: %d %s", code, body)
	}
	if st := c.status(id); st != StatusInProgress {
		t.Fatalf("processing: %s", st)
	}
	clk.Add(time.Minute)
	if st := c.status(id); st != StatusFinished {
		t.Fatalf("after processing: %s", st)
	}
	p := c.publish(id)
	if p.status != 200 {
		t.Fatalf("publish: %s", p.raw)
	}
	m := c.do("GET", "/"+p.str("id"), vals("fields", "media_type,media_product_type,permalink,thumbnail_url"))
	if m.str("media_type") != "VIDEO" || m.str("media_product_type") != "REELS" || !strings.Contains(m.str("permalink"), "/reel/") || m.str("thumbnail_url") == "" {
		t.Fatalf("reel: %s", m.raw)
	}
}

// Resumable upload is documented for Facebook Login only: an Instagram
// Login token's resumable container is refused (400/100, an assumption),
// and nothing is created; video_url works.
func TestResumableUpload_InstagramLoginRefused(t *testing.T) {
	ig := Account{ID: "17841400000000077", Username: "ig_reels", Token: "IGAAreels", Login: LoginInstagram}
	s := New(Options{Accounts: []Account{ig}})
	c := start(t, s).with(ig.Token)
	for _, mt := range []string{"REELS", "STORIES"} {
		a := c.do("POST", "/"+ig.ID+"/media", vals("media_type", mt, "upload_type", "resumable"))
		wantErr(t, a, 400, 100, 0)
		if msg, _ := a.gerr()["message"].(string); !strings.Contains(msg, "Facebook Login") || !strings.Contains(msg, "video_url") {
			t.Fatalf("%s: message %q", mt, msg)
		}
	}
	if n := len(s.Containers()); n != 0 {
		t.Fatalf("%d containers created", n)
	}
	if a := c.do("POST", "/"+ig.ID+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/r.mp4")); a.status != 200 {
		t.Fatalf("video_url: %s", a.raw)
	}
}

// A ReadyOnly fault skips media_publish requests of a container that is
// not FINISHED (and every other path) and hits the first one that would
// go live.
func TestFault_ReadyOnly(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now, ImageProcessing: time.Minute})
	s.Inject(Fault{Method: "POST", PathSuffix: "", Nth: 1, Action: FaultHTTP500, ReadyOnly: true})
	c := start(t, s)
	id := c.createImage("https://cdn.example.com/a.jpg") // another path: not hit
	wantErr(t, c.publish(id), 400, 9007, 2207027)        // not ready: not hit
	clk.Add(time.Minute)
	if a := c.publish(id); a.status != 500 || len(s.Published(acct)) != 0 {
		t.Fatalf("the ready publish: %d %s", a.status, a.raw)
	}
	if a := c.publish(id); a.status != 200 {
		t.Fatalf("Nth 1 fired once: %s", a.raw)
	}
	var faults []FaultAction
	for _, cl := range s.Calls() {
		faults = append(faults, cl.Fault)
	}
	if fmt.Sprint(faults) != fmt.Sprint([]FaultAction{0, 0, FaultHTTP500, 0}) {
		t.Fatalf("faults by call: %v", faults)
	}
}

func lastCall(s *Server) Call {
	calls := s.Calls()
	return calls[len(calls)-1]
}
