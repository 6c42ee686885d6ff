package auth

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
)

type regEnv struct {
	*fakeEnv
	ts  *testStore
	reg *Registry
	log *syncBuffer
}

func newRegEnv(t *testing.T, clk *clock, def string, recs []Record, accts ...fakegraph.Account) *regEnv {
	t.Helper()
	f := newFake(t, clk, accts...)
	ts := newTestStore(t)
	for _, r := range recs {
		ts.put(t, r)
	}
	log := &syncBuffer{}
	reg, err := NewRegistry(context.Background(), RegistryConfig{
		Tokens: ts.tokens, OAuth: f.oauth(clk), GraphOptions: f.graphOptions, Default: def,
		Now: clk.Now, Logger: debugLogger(log), Policy: RefreshPolicy{Poll: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &regEnv{fakeEnv: f, ts: ts, reg: reg, log: log}
}

func kindOf(err error) failure.Kind { return failure.Classify(err).Kind }

func TestRegistry_Resolve(t *testing.T) {
	clk := newClock()
	recs := []Record{
		{AccountID: fbOne.ID, Username: fbOne.Username, Login: LoginFacebook, Token: Secret(fbOne.Token)},
		{AccountID: igOne.ID, Username: igOne.Username, Login: LoginInstagram, Token: Secret(igOne.Token)},
	}
	e := newRegEnv(t, clk, "", recs, fbOne, igOne)
	ctx := context.Background()
	for _, name := range []string{fbOne.ID, fbOne.Username, "@" + strings.ToUpper(fbOne.Username)} {
		a, err := e.reg.Resolve(ctx, name)
		if err != nil || a.ID != fbOne.ID || a.Login != LoginFacebook || a.Client == nil {
			t.Fatalf("%s: %+v %v", name, a, err)
		}
	}
	if _, err := e.reg.Resolve(ctx, ""); kindOf(err) != failure.InvalidInput || !strings.Contains(err.Error(), "@creator") {
		t.Fatalf("two accounts and no default: %v", err)
	}
	if _, err := e.reg.Resolve(ctx, "stranger"); kindOf(err) != failure.InvalidInput || failure.Classify(err).Field != "account" {
		t.Fatalf("%v", err)
	}
	// each account calls its own Graph host with its own token
	a, _ := e.reg.Resolve(ctx, igOne.Username)
	if id, _, _, err := a.Client.Me(ctx); err != nil || id != igOne.ID {
		t.Fatalf("%v %v", id, err)
	}
	// a default, and an account logged in while running
	d := newRegEnv(t, clk, igOne.Username, recs, fbOne, igOne)
	if a, err := d.reg.Resolve(ctx, ""); err != nil || a.ID != igOne.ID {
		t.Fatalf("%v %v", a, err)
	}
	empty := newRegEnv(t, clk, "", nil, igOne)
	_, err := empty.reg.Resolve(ctx, "")
	if fe := failure.Classify(err); fe.Kind != failure.AuthExpired || !strings.Contains(fe.Action, "igmcp auth login") {
		t.Fatalf("%+v", fe)
	}
	empty.ts.put(t, recs[1])
	if a, err := empty.reg.Resolve(ctx, ""); err != nil || a.ID != igOne.ID {
		t.Fatalf("a new login must be picked up without a restart: %v", err)
	}
}

func TestRegistry_CheckScopes(t *testing.T) {
	clk := newClock()
	e := newRegEnv(t, clk, "", []Record{
		{AccountID: fbOne.ID, Username: fbOne.Username, Login: LoginFacebook, Token: Secret(fbOne.Token), Scopes: []string{"instagram_basic", "pages_show_list"}},
		{AccountID: igOne.ID, Username: igOne.Username, Login: LoginInstagram, Token: Secret(igOne.Token)}, // scopes unknown
	}, fbOne, igOne)
	ctx := context.Background()
	publishing := Scopes{LoginFacebook: {"instagram_basic", "instagram_content_publish"}, LoginInstagram: {"instagram_business_basic"}}
	err := e.reg.CheckScopes(ctx, fbOne.Username, "create_post", publishing)
	fe := failure.Classify(err)
	if fe.Kind != failure.PermissionDenied || fe.Message != "The token of @brand_one ("+fbOne.ID+") lacks the permission instagram_content_publish, which create_post needs." ||
		!strings.Contains(fe.Action, "igmcp auth login --login facebook --scopes instagram_basic,pages_show_list,instagram_content_publish") {
		t.Fatalf("%+v", fe)
	}
	if err := e.reg.CheckScopes(ctx, fbOne.ID, "get_container_status", Scopes{LoginFacebook: {"instagram_basic"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.CheckScopes(ctx, fbOne.ID, "list_activity", NoScopes()); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.CheckScopes(ctx, igOne.ID, "create_post", publishing); err != nil {
		t.Fatalf("unknown scopes must not block: %v", err)
	}
	if err := e.reg.CheckScopes(ctx, "nobody", "create_post", publishing); err != nil {
		t.Fatal("an unknown account is the tool's to report")
	}
}

// What `igmcp auth login` asks for by default covers every set the tools
// declare, under both login flows.
func TestDefaultScopes_CoverTheToolSets(t *testing.T) {
	for name, s := range map[string]Scopes{"none": NoScopes(), "basic": BasicScopes(), "publish": PublishScopes(),
		"comments": CommentScopes(), "insights": InsightScopes(), "facebook only": FacebookOnlyScopes("instagram_basic", "pages_read_engagement")} {
		if !s.Declared() {
			t.Errorf("%s: not declared for every login flow: %v", name, s)
		}
		for _, l := range Logins() {
			if m := s.Missing(l, DefaultScopes(l)); m != nil {
				t.Errorf("%s/%s: the default login lacks %v", name, l, m)
			}
		}
	}
	if (Scopes{LoginFacebook: {"instagram_basic"}}).Declared() {
		t.Error("a declaration without Instagram Login counts as declared")
	}
}

func TestRefreshPolicy_DueAt(t *testing.T) {
	p := RefreshPolicy{}.withDefaults()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cases := []struct {
		name string
		rec  Record
		at   time.Time
		ok   bool
	}{
		{"60-day token: 30 days ahead", Record{Login: LoginInstagram, IssuedAt: t0, Expiry: t0.Add(60 * day)}, t0.Add(30 * day), true},
		{"unknown issue time", Record{Login: LoginFacebook, Expiry: t0.Add(60 * day)}, t0.Add(30 * day), true},
		{"short life: at half", Record{Login: LoginFacebook, IssuedAt: t0, Expiry: t0.Add(10 * day)}, t0.Add(5 * day), true},
		{"Instagram: never under 24 h", Record{Login: LoginInstagram, IssuedAt: t0, Expiry: t0.Add(36 * time.Hour)}, t0.Add(p.MinAge), true},
		{"1-hour Instagram token: never", Record{Login: LoginInstagram, IssuedAt: t0, Expiry: t0.Add(time.Hour)}, time.Time{}, false},
		{"Facebook, never expires", Record{Login: LoginFacebook, IssuedAt: t0}, time.Time{}, false},
		{"Instagram, expiry unknown: learn it", Record{Login: LoginInstagram, IssuedAt: t0}, t0.Add(p.MinAge), true},
	}
	for _, c := range cases {
		at, ok := p.dueAt(c.rec)
		if ok != c.ok || !at.Equal(c.at) {
			t.Errorf("%s: got %v %v, want %v %v", c.name, at, ok, c.at, c.ok)
		}
	}
}

// The background refresher renews a token before it expires, the client
// uses the new token on its next request, and the old one is never sent
// again.
func TestRegistry_RefresherRenewsAndClientUsesNewToken(t *testing.T) {
	clk := newClock()
	day := 24 * time.Hour
	ig := igOne
	ig.TokenExpiry = clk.Now().Add(40 * day)
	fb := fbOne
	fb.TokenExpiry = clk.Now().Add(40 * day)
	e := newRegEnv(t, clk, "", []Record{
		{AccountID: ig.ID, Username: ig.Username, Login: LoginInstagram, Token: Secret(ig.Token), IssuedAt: clk.Now().Add(-20 * day), Expiry: ig.TokenExpiry, Scopes: DefaultScopes(LoginInstagram)},
		{AccountID: fb.ID, Username: fb.Username, Login: LoginFacebook, Token: Secret(fb.Token), IssuedAt: clk.Now().Add(-20 * day), Expiry: fb.TokenExpiry, Scopes: DefaultScopes(LoginFacebook)},
	}, ig, fb)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.reg.Run(ctx)
	}()
	// the refresher writes the store: it stops before the temp dir goes
	t.Cleanup(func() { cancel(); <-done })
	a, _ := e.reg.Resolve(ctx, ig.Username)
	if _, _, _, err := a.Client.Me(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // several refresher passes: nothing is due yet
	if n := e.fake.CountCalls("", "/refresh_access_token") + e.fake.CountCalls("", "/oauth/access_token"); n != 0 {
		t.Fatalf("renewed %d tokens too early", n)
	}
	clk.Add(15 * day) // 25 days left: due
	e.reg.Kick()
	// wait on what the running registry uses, not the store: the store is
	// written a moment before the in-memory view is swapped
	waitFor(t, func() bool {
		renewed := 0
		for _, r := range e.reg.Records() {
			if r.Token != Secret(ig.Token) && r.Token != Secret(fb.Token) {
				renewed++
			}
		}
		return renewed == 2
	})
	for _, id := range []string{ig.ID, fb.ID} {
		if r, _ := e.ts.tokens.Get(ctx, id); r.Token == Secret(ig.Token) || r.Token == Secret(fb.Token) {
			t.Fatalf("%s: the renewed token was not stored", id)
		}
	}
	mark := len(e.fake.Calls())
	for _, name := range []string{ig.Username, fb.Username} {
		a, _ := e.reg.Resolve(ctx, name)
		if _, _, err := a.Client.PublishingLimit(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range e.fake.Calls()[mark:] {
		if c.Token == ig.Token || c.Token == fb.Token {
			t.Fatalf("the old token was sent after the renewal: %s %s", c.Method, c.Path)
		}
	}
	rec, _ := e.ts.tokens.Get(ctx, ig.ID)
	if !rec.Expiry.Equal(clk.Now().Add(60*day)) || !rec.IssuedAt.Equal(clk.Now()) {
		t.Fatalf("renewed record %+v", rec)
	}
	if infos, _ := e.reg.ListAccounts(ctx); infos[0].Status != TokenActive || !infos[0].NextRefresh.Equal(rec.Expiry.Add(-30*day)) {
		t.Fatalf("%+v", infos[0])
	}
	// the token travels in a URL only where Meta's reference requires it
	// (Instagram Login's refresh_access_token); elsewhere in a header or a
	// form body
	igRefreshes := 0
	for _, c := range e.fake.Calls() {
		if c.Path == "/refresh_access_token" {
			igRefreshes++
			if c.TokenSource != "query" {
				t.Fatalf("refresh_access_token sent the token in %q, not the query", c.TokenSource)
			}
		} else if c.TokenSource == "query" {
			t.Fatalf("token in a URL: %s %s", c.Method, c.Path)
		}
	}
	if igRefreshes != 1 {
		t.Fatalf("%d refresh_access_token calls, want 1", igRefreshes)
	}
	assertNoSecrets(t, "log", e.log.String(), append(tokensSeen(e.fake), appSecret)...)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRegistry_InstagramWaitsUntil24Hours(t *testing.T) {
	clk := newClock()
	e := newRegEnv(t, clk, "", []Record{
		{AccountID: igOne.ID, Username: igOne.Username, Login: LoginInstagram, Token: Secret(igOne.Token), IssuedAt: clk.Now(), Expiry: clk.Now().Add(36 * time.Hour)},
	}, igOne)
	ctx := context.Background()
	_, err := e.reg.RefreshNow(ctx, igOne.ID)
	if !errors.Is(err, ErrTokenTooNew) {
		t.Fatalf("%v", err)
	}
	if e.fake.CountCalls("", "/refresh_access_token") != 0 {
		t.Fatal("a token under 24 h must not be sent for refresh")
	}
	clk.Add(25 * time.Hour)
	rec, err := e.reg.RefreshNow(ctx, igOne.Username)
	if err != nil || rec.Token == Secret(igOne.Token) {
		t.Fatalf("%v", err)
	}
}

func TestRegistry_FacebookNeedsTheApp(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, fbOne)
	ts := newTestStore(t)
	ts.put(t, Record{AccountID: fbOne.ID, Login: LoginFacebook, Token: Secret(fbOne.Token), Expiry: clk.Now().Add(time.Hour * 24)})
	reg, err := NewRegistry(context.Background(), RegistryConfig{Tokens: ts.tokens, GraphOptions: f.graphOptions, Now: clk.Now,
		OAuth: NewOAuth(OAuthConfig{Endpoints: Endpoints{GraphURL: f.base}})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.RefreshNow(context.Background(), fbOne.ID); !errors.Is(err, ErrNoApp) {
		t.Fatalf("%v", err)
	}
}

// On 190 the client asks the registry: a newer token in the store (renewed
// by another process) is used and the call retried once.
func TestRegistry_190UsesNewerStoredToken(t *testing.T) {
	clk := newClock()
	e := newRegEnv(t, clk, "", []Record{
		{AccountID: igOne.ID, Username: igOne.Username, Login: LoginInstagram, Token: "IGAAstale"},
	}, igOne)
	ctx := context.Background()
	a, err := e.reg.Resolve(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// another process (igmcp auth refresh) stores a good token
	other, _ := NewTokenStore(ctx, e.ts.st, e.ts.key)
	if _, err := other.Put(ctx, Record{AccountID: igOne.ID, Username: igOne.Username, Login: LoginInstagram, Token: Secret(igOne.Token)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Client.PublishingLimit(ctx, a.ID); err != nil {
		t.Fatalf("the retry with the stored token must succeed: %v", err)
	}
	var seen []string
	for _, c := range e.fake.Calls() {
		seen = append(seen, c.Token)
	}
	if !slices.Equal(seen, []string{"IGAAstale", igOne.Token}) {
		t.Fatalf("tokens sent: %v", seen)
	}
}

// When nothing repairs the token the caller gets auth_expired naming the
// exact command, the bad token is not sent again for a while, and a new
// login is picked up on the next call.
func TestRegistry_190NotRepairable(t *testing.T) {
	clk := newClock()
	e := newRegEnv(t, clk, "", []Record{
		{AccountID: igOne.ID, Username: igOne.Username, Login: LoginInstagram, Token: "IGAArevoked"},
	}, igOne)
	ctx := context.Background()
	a, _ := e.reg.Resolve(ctx, "")
	_, _, err := a.Client.PublishingLimit(ctx, a.ID)
	fe := failure.Classify(err)
	if fe.Kind != failure.AuthExpired || !strings.Contains(fe.Action, "`igmcp auth login --login instagram`") || !strings.Contains(fe.Message, "@creator") {
		t.Fatalf("%+v", fe)
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		t.Fatal("the caller should get the registry's auth_expired, not the raw 190")
	}
	n := len(e.fake.Calls())
	if _, _, err := a.Client.PublishingLimit(ctx, a.ID); kindOf(err) != failure.AuthExpired || len(e.fake.Calls()) != n {
		t.Fatalf("a rejected token must not be sent again at once: %v", err)
	}
	if infos, _ := e.reg.ListAccounts(ctx); infos[0].Status != TokenRejected || infos[0].Action == "" {
		t.Fatalf("%+v", infos[0])
	}
	// the user logs in again (another process writes the store)
	e.ts.put(t, Record{AccountID: igOne.ID, Username: igOne.Username, Login: LoginInstagram, Token: Secret(igOne.Token)})
	a, err = e.reg.Resolve(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Client.PublishingLimit(ctx, a.ID); err != nil {
		t.Fatalf("after a new login: %v", err)
	}
	assertNoSecrets(t, "log", e.log.String(), append(tokensSeen(e.fake), appSecret)...)
}

func TestRegistry_ExpiredTokenFailsWithoutACall(t *testing.T) {
	clk := newClock()
	e := newRegEnv(t, clk, "", []Record{
		{AccountID: fbOne.ID, Username: fbOne.Username, Login: LoginFacebook, Token: Secret(fbOne.Token), Expiry: clk.Now().Add(time.Hour)},
	}, fbOne)
	clk.Add(2 * time.Hour)
	ctx := context.Background()
	a, _ := e.reg.Resolve(ctx, "")
	_, _, err := a.Client.PublishingLimit(ctx, a.ID)
	if fe := failure.Classify(err); fe.Kind != failure.AuthExpired || !strings.Contains(fe.Action, "igmcp auth login --login facebook") || !strings.Contains(fe.Message, "expired") {
		t.Fatalf("%+v", fe)
	}
	if len(e.fake.Calls()) != 0 {
		t.Fatal("an expired token must not be sent")
	}
}

func TestLoopback_StateAndPaste(t *testing.T) {
	lb, err := ListenLoopback(0)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	o := NewOAuth(OAuthConfig{AppID: "1"})
	p, _ := o.BeginLogin(LoginFacebook, lb.RedirectURI(), nil)
	lb.Serve(p)
	u, _ := url.Parse(p.URL)
	state := u.Query().Get("state")
	resp, err := noRedirect().Get(lb.RedirectURI() + "?code=forged&state=wrong")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("forged state: HTTP %d", resp.StatusCode)
	}
	if lb.Deliver(lb.RedirectURI() + "?code=forged&state=wrong") {
		t.Fatal("a pasted address with the wrong state must be refused")
	}
	if !lb.Deliver(lb.RedirectURI() + "?code=AQgood&state=" + state + "#_") {
		t.Fatal("the pasted address was refused")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if code, err := lb.Wait(ctx); err != nil || code != "AQgood" {
		t.Fatalf("%q %v", code, err)
	}
}
