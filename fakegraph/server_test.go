package fakegraph

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestErrorEnvelope(t *testing.T) {
	c := start(t, New(Options{}))
	a := c.do("GET", "/17841499999999999", vals("fields", "id"))
	wantErr(t, a, 400, 100, 33)
	e := a.gerr()
	for _, k := range []string{"message", "type", "code", "fbtrace_id"} {
		if _, ok := e[k]; !ok {
			t.Fatalf("envelope lacks %s: %s", k, a.raw)
		}
	}
	if e["type"] != "GraphMethodException" || !strings.HasPrefix(e["message"].(string), "Unsupported get request. Object with ID '17841499999999999' does not exist") {
		t.Fatalf("%s", a.raw)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	b := c.do("GET", "/17841499999999999", nil)
	if b.gerr()["fbtrace_id"] == e["fbtrace_id"] || len(e["fbtrace_id"].(string)) < 20 {
		t.Fatalf("fbtrace_id must be random: %v %v", e["fbtrace_id"], b.gerr()["fbtrace_id"])
	}
	// the envelope has exactly the documented keys
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(a.raw), &raw); err != nil || len(raw) != 1 {
		t.Fatalf("%s", a.raw)
	}
	for k := range raw["error"] {
		switch k {
		case "message", "type", "code", "error_subcode", "is_transient", "error_user_title", "error_user_msg", "fbtrace_id":
		default:
			t.Fatalf("unexpected key %s", k)
		}
	}
	// other documented error answers
	tests := []struct {
		name      string
		method    string
		path      string
		params    []string
		code, sub int
	}{
		{"unknown edge", "GET", "/" + acct + "/nonsense", nil, 2500, 0},
		{"unknown field", "GET", "/" + acct, []string{"fields", "id,bogus"}, 100, 0},
		{"field syntax", "GET", "/" + acct, []string{"fields", "id,media{id"}, 100, 0},
		{"unsupported post", "POST", "/" + acct + "/content_publishing_limit", nil, 100, 33},
		{"unknown delete", "DELETE", "/17900999999999999", nil, 100, 33},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, c.do(tt.method, tt.path, vals(tt.params...)), 400, tt.code, tt.sub)
		})
	}
}

func TestVersionPrefix(t *testing.T) {
	s := New(Options{})
	c := start(t, s)
	for _, base := range []string{strings.TrimSuffix(c.base, "/v25.0"), strings.TrimSuffix(c.base, "/v25.0") + "/v22.0"} {
		cc := *c
		cc.base = base
		a := cc.do("GET", "/"+acct, vals("fields", "username"))
		if a.status != 200 || a.str("username") != DefaultAccount.Username {
			t.Fatalf("%s: %s", base, a.raw)
		}
	}
	calls := s.Calls()
	if calls[0].Path != "/"+acct || calls[0].Version != "" || calls[1].Path != "/"+acct || calls[1].Version != "v22.0" {
		t.Fatalf("%+v", calls)
	}
	if s.CountCalls("GET", "/"+acct) != 2 || s.CountCalls("POST", "") != 0 {
		t.Fatal("CountCalls")
	}
}

func TestTokens(t *testing.T) {
	clk := newClock()
	igAcct := Account{ID: "17841400000000003", Username: "ig_login", Token: "IGAAtoken", Login: LoginInstagram}
	expiring := Account{ID: "17841400000000004", Username: "expiring", Token: "EAAexpiring", TokenExpiry: clk.Now().Add(time.Hour)}
	s := New(Options{Now: clk.Now, Accounts: []Account{DefaultAccount, igAcct, expiring}})
	c := start(t, s)

	t.Run("token sources", func(t *testing.T) {
		for _, via := range []string{"query", "bearer", "oauth", "form", "json"} {
			cc := *c
			cc.via = via
			a := cc.do("POST", "/"+acct+"/media", vals("image_url", "https://cdn.example.com/a.jpg"))
			if a.status != 200 {
				t.Fatalf("%s: %s", via, a.raw)
			}
			calls := s.Calls()
			last := calls[len(calls)-1]
			if last.TokenSource != via || last.Token != DefaultAccount.Token {
				t.Fatalf("%s: recorded %q %q", via, last.TokenSource, last.Token)
			}
			if last.Params.Get("image_url") == "" {
				t.Fatalf("%s: params %v", via, last.Params)
			}
		}
		for _, call := range s.Calls() {
			for k, vs := range call.Params {
				for _, v := range vs {
					if k == "access_token" || strings.Contains(v, DefaultAccount.Token) {
						t.Fatalf("token in Params: %v", call.Params)
					}
				}
			}
			if call.Header.Get("Authorization") != "" {
				t.Fatal("Authorization recorded")
			}
		}
	})
	t.Run("missing token is 2500", func(t *testing.T) {
		cc := *c
		cc.via = "none"
		a := cc.do("GET", "/"+acct, nil)
		wantErr(t, a, 400, 2500, 0)
		if a.gerr()["message"] != "An active access token must be used to query information about the current user." {
			t.Fatalf("%s", a.raw)
		}
	})
	t.Run("unknown token is 190/467", func(t *testing.T) {
		a := c.with("EAAnope").do("GET", "/"+acct, nil)
		wantErr(t, a, 400, 190, 467)
		if h := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `OAuth "Facebook Platform" "invalid_token" "`) {
			t.Fatalf("WWW-Authenticate %q", h)
		}
		if strings.Contains(a.raw, "EAAnope") {
			t.Fatal("token echoed")
		}
	})
	t.Run("expired token is 190/463", func(t *testing.T) {
		e := c.with(expiring.Token)
		if a := e.do("GET", "/"+expiring.ID, nil); a.status != 200 {
			t.Fatalf("%s", a.raw)
		}
		clk.Add(time.Hour)
		a := e.do("GET", "/"+expiring.ID, nil)
		wantErr(t, a, 400, 190, 463)
		if !strings.HasPrefix(a.gerr()["message"].(string), "Error validating access token: Session has expired on ") {
			t.Fatalf("%s", a.raw)
		}
	})
	t.Run("a token acts only on its own account", func(t *testing.T) {
		wantErr(t, c.do("GET", "/"+igAcct.ID, nil), 400, 100, 33)
		wantErr(t, c.do("POST", "/"+igAcct.ID+"/media", vals("image_url", "https://cdn.example.com/a.jpg")), 400, 100, 33)
		id := c.createImage("https://cdn.example.com/a.jpg")
		wantErr(t, c.with(igAcct.Token).do("GET", "/"+id, nil), 400, 100, 33)
	})
	t.Run("me with Instagram Login", func(t *testing.T) {
		a := c.with(igAcct.Token).do("GET", "/me", vals("fields", "user_id,username"))
		if a.str("user_id") != igAcct.ID || a.str("username") != igAcct.Username || a.str("id") == "" || a.str("id") == igAcct.ID {
			t.Fatalf("%s", a.raw)
		}
		// /me/media works as an alias with Instagram Login
		if b := c.with(igAcct.Token).do("POST", "/me/media", vals("image_url", "https://cdn.example.com/a.jpg")); b.status != 200 {
			t.Fatalf("%s", b.raw)
		}
		wantErr(t, c.with(igAcct.Token).do("GET", "/me/accounts", nil), 400, 2500, 0)
	})
	t.Run("me and accounts with Facebook Login", func(t *testing.T) {
		wantErr(t, c.do("GET", "/me", vals("fields", "user_id")), 400, 100, 0)
		wantErr(t, c.do("GET", "/me/media", nil), 400, 2500, 0) // /me is the Facebook user
		a := c.do("GET", "/me/accounts", vals("fields", "id,name,instagram_business_account{id,username}"))
		d := a.data()
		if len(d) != 1 {
			t.Fatalf("%s", a.raw)
		}
		page := d[0].(map[string]any)
		iba := page["instagram_business_account"].(map[string]any)
		if iba["id"] != acct || iba["username"] != DefaultAccount.Username || page["id"] == "" {
			t.Fatalf("%s", a.raw)
		}
		p := c.do("GET", "/"+page["id"].(string), vals("fields", "instagram_business_account"))
		if p.body["instagram_business_account"].(map[string]any)["id"] != acct {
			t.Fatalf("%s", p.raw)
		}
	})
}

func TestAppSecretProof(t *testing.T) {
	s := New(Options{AppSecret: "s3cret"})
	c := start(t, s)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(DefaultAccount.Token))
	good := hex.EncodeToString(mac.Sum(nil))
	tests := []struct {
		name  string
		proof string
		ok    bool
		msg   string
	}{
		{"missing", "", false, "API calls from the server require an appsecret_proof argument"},
		{"wrong", strings.Repeat("ab", 32), false, "Invalid appsecret_proof provided in the API argument"},
		{"not hex", "zz", false, "Invalid appsecret_proof provided in the API argument"},
		{"correct", good, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := *c
			if tt.proof != "" {
				cc.extra = vals("appsecret_proof", tt.proof)
			}
			a := cc.do("GET", "/"+acct, nil)
			if tt.ok {
				if a.status != 200 {
					t.Fatalf("%s", a.raw)
				}
				calls := s.Calls()
				if p := calls[len(calls)-1].Params.Get("appsecret_proof"); p != "[redacted]" {
					t.Fatalf("recorded proof %q", p)
				}
				return
			}
			wantErr(t, a, 400, 100, 0)
			if a.gerr()["type"] != "GraphMethodException" || a.gerr()["message"] != tt.msg {
				t.Fatalf("%s", a.raw)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	t.Run("no headers until configured", func(t *testing.T) {
		c := start(t, New(Options{}))
		a := c.do("GET", "/"+acct, nil)
		if a.header.Get("x-business-use-case-usage") != "" || a.header.Get("x-app-usage") != "" {
			t.Fatalf("headers %v", a.header)
		}
	})
	t.Run("UsagePerCall grows to 80002", func(t *testing.T) {
		clk := newClock()
		s := New(Options{UsagePerCall: 40, Now: clk.Now})
		c := start(t, s)
		want := []int{40, 80, 100}
		for _, w := range want {
			a := c.do("GET", "/"+acct, nil)
			if a.status != 200 {
				t.Fatalf("%s", a.raw)
			}
			var buc map[string][]bucEntry
			if err := json.Unmarshal([]byte(a.header.Get("x-business-use-case-usage")), &buc); err != nil {
				t.Fatal(err)
			}
			e := buc[acct][0]
			if e.Type != "instagram" || e.CallCount != w {
				t.Fatalf("usage %+v, want %d", e, w)
			}
			var app map[string]int
			if err := json.Unmarshal([]byte(a.header.Get("x-app-usage")), &app); err != nil || app["call_count"] != w {
				t.Fatalf("x-app-usage %q", a.header.Get("x-app-usage"))
			}
		}
		a := c.do("POST", "/"+acct+"/media", vals("image_url", "https://cdn.example.com/a.jpg"))
		wantErr(t, a, 400, 80002, 0)
		if a.gerr()["message"] != "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again." {
			t.Fatalf("%s", a.raw)
		}
		var buc map[string][]bucEntry
		_ = json.Unmarshal([]byte(a.header.Get("x-business-use-case-usage")), &buc)
		if buc[acct][0].EstimatedTimeToRegainAccess <= 0 {
			t.Fatalf("regain %q", a.header.Get("x-business-use-case-usage"))
		}
		if len(s.Containers()) != 0 {
			t.Fatal("work done while throttled")
		}
		clk.Add(defaultRegainMinutes * time.Minute)
		if a := c.do("GET", "/"+acct, nil); a.status != 200 || !strings.Contains(a.header.Get("x-business-use-case-usage"), `"call_count":40`) {
			t.Fatalf("after regain: %s %v", a.raw, a.header)
		}
	})
	t.Run("SetUsage", func(t *testing.T) {
		s := New(Options{})
		c := start(t, s)
		s.SetUsage(acct, 75, 0)
		a := c.do("GET", "/"+acct, nil)
		if !strings.Contains(a.header.Get("x-business-use-case-usage"), `"call_count":75`) {
			t.Fatalf("%v", a.header)
		}
		s.SetUsage(acct, 100, 17)
		a = c.do("GET", "/"+acct, nil)
		wantErr(t, a, 400, 80002, 0)
		if !strings.Contains(a.header.Get("x-business-use-case-usage"), `"estimated_time_to_regain_access":17`) {
			t.Fatalf("%v", a.header)
		}
		s.SetUsage(acct, 10, 0)
		if a := c.do("GET", "/"+acct, nil); a.status != 200 {
			t.Fatalf("%s", a.raw)
		}
	})
}

func TestFaults(t *testing.T) {
	t.Run("GraphError on the Nth call only", func(t *testing.T) {
		s := New(Options{})
		s.Inject(Fault{Method: "POST", PathSuffix: "/media", Nth: 2, Action: FaultGraphError,
			GraphError: &ErrorSpec{Code: 2, Message: "An unexpected error has occurred. Please retry your request later.", IsTransient: true}})
		c := start(t, s)
		c.createImage("https://cdn.example.com/1.jpg")
		a := c.do("POST", "/"+acct+"/media", vals("image_url", "https://cdn.example.com/2.jpg"))
		wantErr(t, a, 400, 2, 0)
		if a.gerr()["is_transient"] != true {
			t.Fatalf("%s", a.raw)
		}
		c.createImage("https://cdn.example.com/3.jpg")
		if n := len(s.Containers()); n != 2 {
			t.Fatalf("%d containers", n)
		}
	})
	t.Run("Times limits repeated faults; default spec is a 500 code 2", func(t *testing.T) {
		s := New(Options{})
		s.Inject(Fault{PathSuffix: "/media_publish", Times: 2, Action: FaultGraphError})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/1.jpg")
		for i := 0; i < 2; i++ {
			wantErr(t, c.publish(id), 500, 2, 0)
		}
		if a := c.publish(id); a.status != 200 {
			t.Fatalf("%s", a.raw)
		}
		if n := s.CountCalls("POST", "/media_publish"); n != 3 {
			t.Fatalf("CountCalls %d", n)
		}
	})
	t.Run("HTTP500 has an HTML body", func(t *testing.T) {
		s := New(Options{})
		s.Inject(Fault{Action: FaultHTTP500, Times: 1})
		c := start(t, s)
		a := c.do("GET", "/"+acct, nil)
		if a.status != 500 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || !strings.Contains(a.raw, "Sorry, something went wrong") {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		s.Inject(Fault{Action: FaultHTTP500, Times: 1, GraphError: &ErrorSpec{HTTPStatus: 503}})
		if a := c.do("GET", "/"+acct, nil); a.status != 503 {
			t.Fatalf("%d", a.status)
		}
	})
	t.Run("Drop closes the connection without doing the work", func(t *testing.T) {
		s := New(Options{})
		s.Inject(Fault{PathSuffix: "/media", Action: FaultDrop, Times: 1})
		c := start(t, s)
		if _, err := c.try("POST", "/"+acct+"/media", vals("image_url", "https://cdn.example.com/a.jpg")); err == nil {
			t.Fatal("want a transport error")
		}
		if n := len(s.Containers()); n != 0 {
			t.Fatalf("%d containers", n)
		}
		if calls := s.Calls(); len(calls) != 1 || calls[0].Status != 0 {
			t.Fatalf("calls %+v", calls)
		}
		c.createImage("https://cdn.example.com/a.jpg")
	})
	t.Run("Drop without a hijackable writer aborts the handler", func(t *testing.T) {
		s := New(Options{})
		s.Inject(Fault{Action: FaultDrop})
		defer func() {
			if r := recover(); r != http.ErrAbortHandler {
				t.Fatalf("recover %v", r)
			}
		}()
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v25.0/me?access_token=EAAsandbox", nil))
	})
	t.Run("Latency delays then serves", func(t *testing.T) {
		s := New(Options{})
		s.Inject(Fault{Action: FaultLatency, Delay: 50 * time.Millisecond, Nth: 1})
		c := start(t, s)
		t0 := time.Now()
		if a := c.do("GET", "/"+acct, nil); a.status != 200 {
			t.Fatalf("%s", a.raw)
		}
		if d := time.Since(t0); d < 50*time.Millisecond {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("PublishThenFail with an error leaves the post published", func(t *testing.T) {
		s := New(Options{StatusLag: -1})
		s.Inject(Fault{PathSuffix: "/media_publish", Nth: 1, Action: FaultPublishThenFail,
			GraphError: &ErrorSpec{HTTPStatus: 500, Code: 1, Message: "An unknown error has occurred.", IsTransient: true}})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		wantErr(t, c.publish(id), 500, 1, 0)
		if n := len(s.Published(acct)); n != 1 {
			t.Fatalf("%d published", n)
		}
		if st := c.status(id); st != StatusPublished {
			t.Fatalf("container %s", st)
		}
		if again := c.publish(id); again.status != 200 || len(s.Published(acct)) != 2 {
			t.Fatalf("a blind retry of a published container must make a second post (the worst case): %s", again.raw)
		}
	})
	t.Run("DropThenApplyLater: no answer, FINISHED meanwhile, the post appears later", func(t *testing.T) {
		s := New(Options{StatusLag: -1})
		s.Inject(Fault{PathSuffix: "/media_publish", Nth: 1, Action: FaultDropThenApplyLater, ApplyAfter: 200 * time.Millisecond})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		if _, err := c.try("POST", "/"+acct+"/media_publish", vals("creation_id", id)); err == nil {
			t.Fatal("want a transport error")
		}
		if st := c.status(id); st != StatusFinished || len(s.Published(acct)) != 0 {
			t.Fatalf("right after the lost answer: status %s, %d published", st, len(s.Published(acct)))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.WaitLate(ctx); err != nil {
			t.Fatal(err)
		}
		pub := s.Published(acct)
		if len(pub) != 1 || pub[0].ContainerID != id || c.status(id) != StatusPublished {
			t.Fatalf("after the delay: published %+v, status %s", pub, c.status(id))
		}
		calls := s.Calls()
		var sent []Call
		for _, cl := range calls {
			if strings.HasSuffix(cl.Path, "/media_publish") {
				sent = append(sent, cl)
			}
		}
		if len(sent) != 1 || sent[0].Fault != FaultDropThenApplyLater || sent[0].Status != 0 || s.MediaPublishes(id) != 1 {
			t.Fatalf("recorded sends %+v", sent)
		}
	})
	t.Run("DropThenApplyLater: closing the server drops what is pending", func(t *testing.T) {
		s := New(Options{})
		s.Inject(Fault{PathSuffix: "/media_publish", Nth: 1, Action: FaultDropThenApplyLater, ApplyAfter: time.Hour})
		base, closeFn := s.Start()
		c := &client{t: t, base: base + "/v25.0", token: DefaultAccount.Token}
		id := c.createImage("https://cdn.example.com/a.jpg")
		if _, err := c.try("POST", "/"+acct+"/media_publish", vals("creation_id", id)); err == nil {
			t.Fatal("want a transport error")
		}
		closeFn()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.WaitLate(ctx); err != nil || len(s.Published(acct)) != 0 {
			t.Fatalf("after close: %v, %d published", err, len(s.Published(acct)))
		}
	})
	t.Run("PublishThenFail without an error drops the connection", func(t *testing.T) {
		s := New(Options{})
		s.Inject(Fault{PathSuffix: "/media_publish", Action: FaultPublishThenFail, Times: 1})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		if _, err := c.try("POST", "/"+acct+"/media_publish", vals("creation_id", id)); err == nil {
			t.Fatal("want a transport error")
		}
		pub := s.Published(acct)
		if len(pub) != 1 || pub[0].ContainerID != id {
			t.Fatalf("published %+v", pub)
		}
		// the media is findable by listing, the way a client reconciles
		a := c.do("GET", "/"+acct+"/media", vals("fields", "id,timestamp"))
		if d := a.data(); len(d) != 1 || d[0].(map[string]any)["id"] != pub[0].ID {
			t.Fatalf("%s", a.raw)
		}
	})
	t.Run("PublishThenFail passes a real failure through", func(t *testing.T) {
		s := New(Options{ImageProcessing: time.Hour})
		s.Inject(Fault{PathSuffix: "/media_publish", Action: FaultPublishThenFail})
		c := start(t, s)
		id := c.createImage("https://cdn.example.com/a.jpg")
		wantErr(t, c.publish(id), 400, 9007, 2207027)
	})
	t.Run("each fault counts its own matches", func(t *testing.T) {
		s := New(Options{})
		s.Inject(Fault{PathSuffix: "/" + acct, Nth: 1, Action: FaultGraphError, GraphError: &ErrorSpec{Code: 1}})
		s.Inject(Fault{PathSuffix: "/" + acct, Nth: 2, Action: FaultGraphError, GraphError: &ErrorSpec{Code: 4}})
		c := start(t, s)
		wantErr(t, c.do("GET", "/"+acct, nil), 400, 1, 0)
		wantErr(t, c.do("GET", "/"+acct, nil), 400, 4, 0)
		if a := c.do("GET", "/"+acct, nil); a.status != 200 {
			t.Fatalf("%s", a.raw)
		}
	})
}

func TestConcurrentClients(t *testing.T) {
	s := New(Options{ProcessingPolls: 1, QuotaTotal: 1000, UsagePerCall: 0})
	c := start(t, s)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := c.try("POST", "/"+acct+"/media", vals("image_url", "https://cdn.example.com/a.jpg", "caption", "x"))
			if err != nil || a.status != 200 {
				t.Errorf("create: %v %s", err, a.raw)
				return
			}
			id := a.str("id")
			for {
				st, err := c.try("GET", "/"+id, vals("fields", "status_code"))
				if err != nil {
					t.Errorf("status: %v", err)
					return
				}
				if st.str("status_code") == StatusFinished {
					break
				}
			}
			if p, err := c.try("POST", "/"+acct+"/media_publish", vals("creation_id", id)); err != nil || p.status != 200 {
				t.Errorf("publish: %v %s", err, p.raw)
			}
			_ = s.Calls()
			_ = s.Containers()
		}()
	}
	wg.Wait()
	if n := len(s.Published(acct)); n != 16 {
		t.Fatalf("%d published", n)
	}
	ids := map[string]bool{}
	for _, m := range s.Published(acct) {
		if ids[m.ID] || ids[m.ContainerID] {
			t.Fatal("duplicate id")
		}
		ids[m.ID], ids[m.ContainerID] = true, true
	}
}

func TestTokenEndpoints(t *testing.T) {
	igAcct := Account{ID: "17841400000000003", Username: "ig_login", Token: "IGAAtoken", Login: LoginInstagram}
	s := New(Options{Accounts: []Account{DefaultAccount, igAcct}, AppSecret: "sec"})
	base, closeFn := s.Start()
	defer closeFn()
	get := func(path string) map[string]any {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	r := get("/refresh_access_token?grant_type=ig_refresh_token&access_token=IGAAtoken")
	tok, _ := r["access_token"].(string)
	if !strings.HasPrefix(tok, "IGAA") || r["expires_in"].(float64) < 5e6 {
		t.Fatalf("%v", r)
	}
	// the refreshed token works (with its own appsecret_proof)
	mac := hmac.New(sha256.New, []byte("sec"))
	mac.Write([]byte(tok))
	me := get("/v25.0/me?fields=user_id&access_token=" + tok + "&appsecret_proof=" + hex.EncodeToString(mac.Sum(nil)))
	if me["user_id"] != igAcct.ID {
		t.Fatalf("%v", me)
	}
	if e := get("/v25.0/oauth/access_token?grant_type=fb_exchange_token&client_id=1&client_secret=bad&fb_exchange_token=EAAsandbox"); e["error"] == nil {
		t.Fatalf("%v", e)
	}
	x := get("/v25.0/oauth/access_token?grant_type=fb_exchange_token&client_id=1&client_secret=sec&fb_exchange_token=EAAsandbox")
	if !strings.HasPrefix(x["access_token"].(string), "EAA") {
		t.Fatalf("%v", x)
	}
	// api.instagram.com code exchange: flat errors, single-use codes
	code := s.AuthCode(igAcct.ID)
	post := func() map[string]any {
		resp, err := http.PostForm(base+"/oauth/access_token", map[string][]string{
			"client_id": {"1"}, "client_secret": {"sec"}, "grant_type": {"authorization_code"}, "redirect_uri": {"https://x/cb"}, "code": {code}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	if d, _ := post()["data"].([]any); len(d) != 1 || d[0].(map[string]any)["user_id"] != igAcct.ID {
		t.Fatal("code exchange failed")
	}
	if e := post(); e["error_message"] != "Matching code was not found or was already used" {
		t.Fatalf("%v", e)
	}
	for _, c := range s.Calls() {
		for _, k := range secretParams {
			if v := c.Params.Get(k); v != "" && v != "[redacted]" {
				t.Fatalf("%s recorded: %v", k, c.Params)
			}
		}
	}
}
