package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
)

var (
	fbOne = fakegraph.Account{ID: "17841400000000011", Username: "brand_one", Token: "EAAfbuser"}
	fbTwo = fakegraph.Account{ID: "17841400000000012", Username: "brand_two", Token: "EAAfbuser"}
	igOne = fakegraph.Account{ID: "17841400000000021", Username: "creator", Token: "IGAAcreator", Login: fakegraph.LoginInstagram}
)

// dialog follows the login URL to its redirect and returns the redirect's
// query.
func dialog(t *testing.T, loginURL string) url.Values {
	t.Helper()
	resp, err := noRedirect().Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != 302 {
		t.Fatalf("dialog: HTTP %d %v", resp.StatusCode, err)
	}
	return loc.Query()
}

func TestLogin_FacebookFlow(t *testing.T) {
	f := newFake(t, nil, fbOne, fbTwo, igOne)
	o := f.oauth(nil)
	p, err := o.BeginLogin(LoginFacebook, "http://127.0.0.1:9/callback", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(p.URL)
	q := u.Query()
	if u.Path != "/v25.0/dialog/oauth" || q.Get("client_id") != "4242" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		q.Get("scope") != strings.Join(DefaultScopes(LoginFacebook), ",") || q.Get("response_type") != "code" || q.Get("state") == "" {
		t.Fatalf("dialog URL %s", p.URL)
	}
	back := dialog(t, p.URL)
	if !p.CheckState(back.Get("state")) || p.CheckState("forged") || p.CheckState("") {
		t.Fatal("state check")
	}
	recs, err := o.CompleteLogin(context.Background(), p, back.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].AccountID != fbOne.ID || recs[1].Username != fbTwo.Username || recs[0].Login != LoginFacebook {
		t.Fatalf("%+v", recs)
	}
	r := recs[0]
	if !slices.Equal(r.Scopes, DefaultScopes(LoginFacebook)) || r.Expiry.Before(time.Now().Add(59*24*time.Hour)) || r.IssuedAt.IsZero() {
		t.Fatalf("scopes/expiry from debug_token: %+v", r)
	}
	// short-lived → long-lived: the stored token is not the code exchange's
	var exchanged []string
	for _, c := range f.fake.Calls() {
		if c.Path == "/oauth/access_token" {
			exchanged = append(exchanged, c.Params.Get("grant_type"))
			if c.Params.Get("client_secret") != "[redacted]" || c.Method != "POST" {
				t.Fatalf("token endpoint call %+v", c)
			}
		}
		if c.Path == "/debug_token" && c.TokenSource != "bearer" {
			t.Fatalf("debug_token authenticated by %s", c.TokenSource)
		}
	}
	if !slices.Equal(exchanged, []string{"authorization_code", "fb_exchange_token"}) {
		t.Fatalf("exchanges %v", exchanged)
	}
	// selecting one of the accounts found
	one, err := SelectAccounts(recs, []string{"@BRAND_TWO"})
	if err != nil || len(one) != 1 || one[0].AccountID != fbTwo.ID {
		t.Fatalf("%v %v", one, err)
	}
	if _, err := SelectAccounts(recs, []string{"nobody"}); err == nil || !strings.Contains(err.Error(), "@brand_one") {
		t.Fatalf("%v", err)
	}
}

func TestLogin_InstagramFlow(t *testing.T) {
	f := newFake(t, nil, fbOne, igOne)
	o := f.oauth(nil)
	scopes := []string{"instagram_business_basic", "instagram_business_content_publish"}
	p, err := o.BeginLogin(LoginInstagram, "http://127.0.0.1:9/callback", scopes)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(p.URL)
	if u.Path != "/oauth/authorize" || u.Query().Has("code_challenge") || u.Query().Get("scope") != strings.Join(scopes, ",") {
		t.Fatalf("dialog URL %s", p.URL)
	}
	back := dialog(t, p.URL)
	recs, err := o.CompleteLogin(context.Background(), p, back.Get("code")+"#_")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].AccountID != igOne.ID || recs[0].Username != igOne.Username || recs[0].Login != LoginInstagram ||
		!slices.Equal(recs[0].Scopes, scopes) || !strings.HasPrefix(recs[0].Token.Reveal(), "IGAA") || recs[0].Expiry.IsZero() {
		t.Fatalf("%+v", recs)
	}
	// Meta's reference lists access_token as a required query parameter of
	// ig_exchange_token (docs/graph-api.md §12); everything else keeps the
	// token in a header.
	exchanges := 0
	for _, c := range f.fake.Calls() {
		want := "bearer"
		if c.Path == "/access_token" {
			want = "query"
			exchanges++
		}
		if c.Token != "" && c.TokenSource != want {
			t.Fatalf("%s %s sent the token in %s, want %s", c.Method, c.Path, c.TokenSource, want)
		}
	}
	if exchanges != 1 {
		t.Fatalf("%d long-lived exchanges", exchanges)
	}
}

func TestLogin_Errors(t *testing.T) {
	f := newFake(t, nil, igOne)
	o := f.oauth(nil)
	p, _ := o.BeginLogin(LoginInstagram, "http://127.0.0.1:9/callback", nil)
	back := dialog(t, p.URL)
	code := back.Get("code")
	if _, err := o.CompleteLogin(context.Background(), p, code); err != nil {
		t.Fatal(err)
	}
	// a spent code: api.instagram.com's flat error, no secret in the message
	_, err := o.CompleteLogin(context.Background(), p, code)
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Type != "OAuthException" || oe.Code != 400 || !strings.Contains(oe.Message, "Matching code") {
		t.Fatalf("%#v", err)
	}
	assertNoSecrets(t, "error", err.Error(), code, appSecret)
	// no app secret: no exchange
	bare := NewOAuth(OAuthConfig{AppID: "1", Endpoints: Endpoints{TokenURL: f.base}})
	if _, err := bare.ExchangeCode(context.Background(), LoginInstagram, code, "x", ""); err == nil || !strings.Contains(err.Error(), "INSTAGRAM_APP_SECRET") {
		t.Fatalf("%v", err)
	}
	// user cancels: no code
	f.fake.SetConsent(fakegraph.Consent{Deny: true})
	p, _ = o.BeginLogin(LoginInstagram, "http://127.0.0.1:9/callback", nil)
	if q := dialog(t, p.URL); q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Fatalf("%v", q)
	}
}

func TestParseGrantAndErrors(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, body := range []string{
		`{"data":[{"access_token":"IGAAx","user_id":17841400000000021,"permissions":"a,b"}]}`,
		`{"access_token":"IGAAx","user_id":"17841400000000021","permissions":["a","b"],"expires_in":3600}`,
	} {
		g, err := parseGrant([]byte(body), now)
		if err != nil || g.Token != "IGAAx" || g.UserID != "17841400000000021" || !slices.Equal(g.Scopes, []string{"a", "b"}) {
			t.Fatalf("%s: %+v %v", body, g, err)
		}
	}
	g, _ := parseGrant([]byte(`{"access_token":"EAAx","token_type":"bearer","expires_in":5183944}`), now)
	if !g.Expiry.Equal(now.Add(5183944 * time.Second)) {
		t.Fatalf("%v", g.Expiry)
	}
	if _, err := parseGrant([]byte(`{"token_type":"bearer"}`), now); err == nil {
		t.Fatal("no token")
	}
	for body, want := range map[string]OAuthError{
		`{"error":{"message":"This authorization code has expired.","type":"OAuthException","code":100,"error_subcode":36007}}`: {Message: "This authorization code has expired.", Type: "OAuthException", Code: 100, Subcode: 36007},
		`{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}`:          {Message: "Matching code was not found or was already used", Type: "OAuthException", Code: 400},
		`{"error":"invalid_request","error_description":"bad"}`:                                                                 {Message: "invalid_request: bad", Type: "oauth2"},
	} {
		if got := *parseOAuthError([]byte(body)); got != want {
			t.Fatalf("%s: %+v", body, got)
		}
	}
}

func TestImport_BringYourOwnToken(t *testing.T) {
	clk := newClock()
	fb := fbOne
	fb.TokenExpiry = clk.Now().Add(time.Hour) // short-lived
	ig := igOne
	f := newFake(t, clk, fb, ig)
	o := f.oauth(clk)
	recs, notes, err := o.Import(context.Background(), LoginFacebook, Secret(fb.Token))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Token == Secret(fb.Token) || recs[0].Expiry.Sub(clk.Now()) < 59*24*time.Hour || len(recs[0].Scopes) == 0 {
		t.Fatalf("a short-lived token must be exchanged: %+v %v", recs, notes)
	}
	recs, notes, err = o.Import(context.Background(), LoginInstagram, Secret(ig.Token))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].AccountID != ig.ID || recs[0].Expiry.IsZero() || len(notes) != 1 {
		t.Fatalf("an Instagram token is refreshed once to learn its expiry: %+v %v", recs, notes)
	}
}

func TestParseScopes(t *testing.T) {
	if s, err := ParseScopes(LoginInstagram, ""); err != nil || !slices.Equal(s, DefaultScopes(LoginInstagram)) {
		t.Fatal(s, err)
	}
	if _, err := ParseScopes(LoginInstagram, "business_basic"); err == nil || !strings.Contains(err.Error(), "instagram_business_basic") {
		t.Fatalf("retired scope: %v", err)
	}
	if _, err := ParseScopes(LoginInstagram, "instagram_basic"); err == nil {
		t.Fatal("a Facebook Login scope on Instagram Login")
	}
	if s, err := ParseScopes(LoginFacebook, "instagram_basic, instagram_basic,pages_show_list"); err != nil || len(s) != 2 {
		t.Fatal(s, err)
	}
}

// TestInstagramTokenCalls_noSecretInErrors: the Instagram Login token
// endpoints carry the token (and client secret) in the query, as Meta's
// reference says; no error text may carry them, whatever the endpoint
// answers: an error echoing the request URL, a redirect loop (Go's error
// names the URL), a dropped connection, a bad answer.
func TestInstagramTokenCalls_noSecretInErrors(t *testing.T) {
	const tok = "IGAAsecret-token-value"
	proof := graph.AppSecretProof(appSecret, tok)
	var seen atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		if r.URL.Query().Get("access_token") != tok || r.URL.Query().Get("appsecret_proof") != proof {
			t.Errorf("%s without the token and proof in the query: %s", r.URL.Path, graph.Redact(r.URL.RawQuery))
		}
		switch r.Header.Get("X-Case") {
		case "echo":
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":{"message":"Bad request %s (token %s, secret %s)","type":"OAuthException","code":100}}`, r.URL.String(), tok, appSecret)
		case "flat":
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error_type":"OAuthException","code":400,"error_message":"no %s"}`, r.URL.RawQuery)
		case "redirect":
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		case "drop":
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		default:
			fmt.Fprintf(w, `{"token":"%s"}`, tok) // 200 without access_token
		}
	}))
	defer srv.Close()
	for _, c := range []string{"echo", "flat", "redirect", "drop", "garbage"} {
		hc := &http.Client{Transport: headerTransport{"X-Case", c}}
		o := NewOAuth(OAuthConfig{AppID: "4242", AppSecret: appSecret, Endpoints: Endpoints{GraphURL: srv.URL}, HTTPClient: hc})
		_, err := o.Refresh(t.Context(), LoginInstagram, Secret(tok))
		if err == nil {
			t.Fatalf("%s: refresh succeeded", c)
		}
		assertNoSecrets(t, c+" refresh error", err.Error(), tok, appSecret, proof)
		_, err = o.LongLived(t.Context(), LoginInstagram, Secret(tok))
		if err == nil {
			t.Fatalf("%s: exchange succeeded", c)
		}
		assertNoSecrets(t, c+" exchange error", err.Error(), tok, appSecret, proof)
		if !strings.Contains(err.Error(), "/access_token") {
			t.Errorf("%s: the error does not say which endpoint failed: %v", c, err)
		}
	}
	if seen.Load() == 0 {
		t.Fatal("no request reached the server")
	}
}

// headerTransport adds one header to every request.
type headerTransport struct{ k, v string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.k, h.v)
	return http.DefaultTransport.RoundTrip(r)
}
