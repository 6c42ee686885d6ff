package fakegraph

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// oauthEnv is a started fake with a Facebook user owning two accounts and
// one Instagram Login account, and a client that does not follow redirects.
type oauthEnv struct {
	t    *testing.T
	s    *Server
	base string
	clk  *fakeClock
	hc   *http.Client
}

var (
	fbA = Account{ID: "17841400000000011", Username: "fb_one", Token: "EAAuserone"}
	fbB = Account{ID: "17841400000000012", Username: "fb_two", Token: "EAAuserone"}
	igA = Account{ID: "17841400000000021", Username: "ig_only", Token: "IGAAuser", Login: LoginInstagram}
)

func newOAuthEnv(t *testing.T) *oauthEnv {
	clk := newClock()
	s := New(Options{Accounts: []Account{fbA, fbB, igA}, AppSecret: "appsecret", Now: clk.Now})
	base, closeFn := s.Start()
	t.Cleanup(closeFn)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &oauthEnv{t: t, s: s, base: base, clk: clk, hc: hc}
}

// authorize opens a dialog URL and returns the redirect's query.
func (e *oauthEnv) authorize(path string, p url.Values) (url.Values, *url.URL) {
	e.t.Helper()
	resp, err := e.hc.Get(e.base + path + "?" + p.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("authorize: HTTP %d %s", resp.StatusCode, b)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return loc.Query(), loc
}

func (e *oauthEnv) send(method, path string, p url.Values, bearer string) (int, map[string]any) {
	e.t.Helper()
	var req *http.Request
	if method == http.MethodPost {
		req, _ = http.NewRequest(method, e.base+path, strings.NewReader(p.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, _ = http.NewRequest(method, e.base+path+"?"+p.Encode(), nil)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

const redirect = "http://127.0.0.1:5555/callback"

func TestOAuth_FacebookDialogPKCEAndExchange(t *testing.T) {
	e := newOAuthEnv(t)
	verifier := strings.Repeat("v", 50)
	q, loc := e.authorize("/v25.0/dialog/oauth", url.Values{
		"client_id": {"42"}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"st8"},
		"scope":          {"instagram_basic,instagram_content_publish,pages_show_list"},
		"code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"},
	})
	if loc.Host != "127.0.0.1:5555" || loc.Path != "/callback" || q.Get("state") != "st8" || q.Get("code") == "" || loc.Fragment != "" {
		t.Fatalf("redirect %s", loc)
	}
	code := q.Get("code")
	ex := url.Values{"client_id": {"42"}, "client_secret": {"appsecret"}, "redirect_uri": {redirect}, "code": {code}}
	// wrong verifier: refused, and the code is spent
	bad := cloneValues(ex)
	bad.Set("code_verifier", strings.Repeat("w", 50))
	if st, m := e.send("POST", "/v25.0/oauth/access_token", bad, ""); st != 400 || m["error"].(map[string]any)["message"] != "Invalid code_verifier" {
		t.Fatalf("%d %v", st, m)
	}
	q, _ = e.authorize("/v25.0/dialog/oauth", url.Values{
		"client_id": {"42"}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s"},
		"scope": {"instagram_basic,instagram_content_publish,pages_show_list"}, "code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"},
	})
	ex.Set("code", q.Get("code"))
	other := cloneValues(ex)
	other.Set("redirect_uri", "http://127.0.0.1:5556/callback")
	other.Set("code_verifier", verifier)
	if st, m := e.send("POST", "/v25.0/oauth/access_token", other, ""); st != 400 || int(m["error"].(map[string]any)["error_subcode"].(float64)) != 36008 {
		t.Fatalf("redirect mismatch: %d %v", st, m)
	}
	q, _ = e.authorize("/v25.0/dialog/oauth", url.Values{
		"client_id": {"42"}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"instagram_basic,instagram_content_publish,pages_show_list"}, "code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"},
	})
	ex.Set("code", q.Get("code"))
	ex.Set("code_verifier", verifier)
	st, m := e.send("POST", "/v25.0/oauth/access_token", ex, "")
	short, _ := m["access_token"].(string)
	if st != 200 || !strings.HasPrefix(short, "EAA") || m["expires_in"].(float64) > 3600 {
		t.Fatalf("exchange: %d %v", st, m)
	}
	if st, _ := e.send("POST", "/v25.0/oauth/access_token", ex, ""); st != 400 {
		t.Fatal("a code must be single use")
	}
	// long-lived, posted in a form body
	st, m = e.send("POST", "/v25.0/oauth/access_token", url.Values{"grant_type": {"fb_exchange_token"}, "client_id": {"42"},
		"client_secret": {"appsecret"}, "fb_exchange_token": {short}}, "")
	long, _ := m["access_token"].(string)
	if st != 200 || long == "" || m["expires_in"].(float64) < 5e6 {
		t.Fatalf("long-lived: %d %v", st, m)
	}
	// debug_token: the granted scopes, expiry, granular targets
	st, m = e.send("GET", "/v25.0/debug_token", url.Values{"input_token": {long}, "appsecret_proof": {hmacHex("appsecret", long)}}, long)
	d, _ := m["data"].(map[string]any)
	if st != 200 || d["is_valid"] != true || d["app_id"] != "42" {
		t.Fatalf("debug_token: %d %v", st, m)
	}
	if sc := d["scopes"].([]any); len(sc) != 3 || sc[0] != "instagram_basic" {
		t.Fatalf("scopes %v", sc)
	}
	if int64(d["expires_at"].(float64)) != e.clk.Now().Add(longLivedTTL).Unix() {
		t.Fatalf("expires_at %v", d["expires_at"])
	}
	gs := d["granular_scopes"].([]any)[0].(map[string]any)
	if ids := gs["target_ids"].([]any); len(ids) != 2 || ids[0] != fbA.ID {
		t.Fatalf("granular %v", gs)
	}
	// discovery: both accounts of the Facebook user
	st, m = e.send("GET", "/v25.0/me/accounts", url.Values{"fields": {"id,instagram_business_account{id,username}"},
		"appsecret_proof": {hmacHex("appsecret", long)}}, long)
	if data, _ := m["data"].([]any); st != 200 || len(data) != 2 {
		t.Fatalf("me/accounts: %d %v", st, m)
	}
	// with an app token too; an unknown input token is reported, not refused
	st, m = e.send("GET", "/debug_token", url.Values{"input_token": {"EAAnope"}}, "42|appsecret")
	if d := m["data"].(map[string]any); st != 200 || d["is_valid"] != false {
		t.Fatalf("%d %v", st, m)
	}
	if st, _ = e.send("GET", "/debug_token", url.Values{"input_token": {long}}, "42|wrong"); st != 400 {
		t.Fatal("a wrong app token must be refused")
	}
	for _, c := range e.s.Calls() {
		for _, k := range secretParams {
			if v := c.Params.Get(k); v != "" && v != "[redacted]" {
				t.Fatalf("%s recorded in clear: %v", k, c.Params)
			}
		}
	}
}

func TestOAuth_InstagramDialogExchangeRefresh(t *testing.T) {
	e := newOAuthEnv(t)
	scope := "instagram_business_basic,instagram_business_content_publish"
	q, loc := e.authorize("/oauth/authorize", url.Values{"client_id": {"77"}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scope}, "state": {"x"}})
	if loc.Fragment != "_" || q.Get("state") != "x" {
		t.Fatalf("redirect %s", loc)
	}
	form := url.Values{"client_id": {"77"}, "client_secret": {"appsecret"}, "grant_type": {"authorization_code"}, "redirect_uri": {redirect}, "code": {q.Get("code")}}
	// a redirect_uri other than the dialog's: flat error
	bad := cloneValues(form)
	bad.Set("redirect_uri", redirect+"x")
	if st, m := e.send("POST", "/oauth/access_token", bad, ""); st != 400 || m["error_type"] != "OAuthException" || !strings.Contains(m["error_message"].(string), "redirect_uri") {
		t.Fatalf("%d %v", st, m)
	}
	q, _ = e.authorize("/oauth/authorize", url.Values{"client_id": {"77"}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scope}})
	form.Set("code", q.Get("code"))
	st, m := e.send("POST", "/oauth/access_token", form, "")
	row := m["data"].([]any)[0].(map[string]any)
	short := row["access_token"].(string)
	if st != 200 || row["user_id"] != igA.ID || row["permissions"] != scope || !strings.HasPrefix(short, "IGAA") {
		t.Fatalf("%d %v", st, m)
	}
	// access_token is a required query parameter of both Instagram Login
	// token endpoints: a token in the header only is refused as missing
	exchange := url.Values{"grant_type": {"ig_exchange_token"}, "client_secret": {"appsecret"}}
	if st, m = e.send("GET", "/access_token", exchange, short); st != 400 || !isMissingToken(m) {
		t.Fatalf("exchange with the token in a header: %d %v", st, m)
	}
	exchange.Set("access_token", short)
	st, m = e.send("GET", "/access_token", exchange, "")
	long, _ := m["access_token"].(string)
	if st != 200 || long == "" {
		t.Fatalf("long-lived %d %v", st, m)
	}
	st, m = e.send("GET", "/v25.0/me", url.Values{"fields": {"user_id,username"}, "appsecret_proof": {hmacHex("appsecret", long)}}, long)
	if st != 200 || m["user_id"] != igA.ID || m["username"] != igA.Username {
		t.Fatalf("me %d %v", st, m)
	}
	refresh := url.Values{"grant_type": {"ig_refresh_token"}, "access_token": {long}}
	if st, m = e.send("GET", "/refresh_access_token", refresh, ""); st != 400 || !strings.Contains(m["error"].(map[string]any)["message"].(string), "too new") {
		t.Fatalf("a token under 24 h must not refresh: %d %v", st, m)
	}
	e.clk.Add(25 * time.Hour)
	if st, m = e.send("GET", "/refresh_access_token", url.Values{"grant_type": {"ig_refresh_token"}}, long); st != 400 || !isMissingToken(m) {
		t.Fatalf("refresh with the token in a header: %d %v", st, m)
	}
	st, m = e.send("GET", "/refresh_access_token", refresh, "")
	if st != 200 || m["access_token"] == long || m["expires_in"].(float64) != longLivedTTL.Seconds() {
		t.Fatalf("refresh %d %v", st, m)
	}
}

func TestOAuth_DialogErrors(t *testing.T) {
	e := newOAuthEnv(t)
	p := url.Values{"client_id": {"77"}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s"}}
	p.Set("scope", "business_basic")
	if q, _ := e.authorize("/oauth/authorize", p); q.Get("error") != "invalid_scope" || !strings.Contains(q.Get("error_description"), "instagram_business_basic") || q.Get("state") != "s" {
		t.Fatalf("retired scope: %v", q)
	}
	p.Set("scope", "instagram_basic") // a Facebook Login scope on the Instagram dialog
	if q, _ := e.authorize("/oauth/authorize", p); q.Get("error") != "invalid_scope" {
		t.Fatalf("%v", q)
	}
	e.s.SetConsent(Consent{Deny: true})
	p.Set("scope", "instagram_basic")
	if q, _ := e.authorize("/v25.0/dialog/oauth", p); q.Get("error") != "access_denied" || q.Get("error_reason") != "user_denied" {
		t.Fatalf("%v", q)
	}
	// no redirect_uri: the dialog shows an error instead of redirecting
	resp, err := e.hc.Get(e.base + "/oauth/authorize?client_id=77&response_type=code&scope=instagram_business_basic")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	// consent narrowed to one scope, as a specific account
	e.s.SetConsent(Consent{AccountID: fbB.ID, Scopes: []string{"instagram_basic"}})
	p.Set("scope", "instagram_basic,instagram_content_publish")
	q, _ := e.authorize("/v25.0/dialog/oauth", p)
	st, m := e.send("GET", "/v25.0/oauth/access_token", url.Values{"client_id": {"77"}, "client_secret": {"appsecret"}, "redirect_uri": {redirect}, "code": {q.Get("code")}}, "")
	tok, _ := m["access_token"].(string)
	if st != 200 {
		t.Fatalf("%d %v", st, m)
	}
	_, m = e.send("GET", "/debug_token", url.Values{"input_token": {tok}}, tok)
	if sc := m["data"].(map[string]any)["scopes"].([]any); len(sc) != 1 || sc[0] != "instagram_basic" {
		t.Fatalf("scopes %v", sc)
	}
	// a code spent at the wrong endpoint
	e.s.SetConsent(Consent{})
	p.Set("scope", "instagram_business_basic")
	q, _ = e.authorize("/oauth/authorize", p)
	if st, _ := e.send("GET", "/v25.0/oauth/access_token", url.Values{"client_id": {"77"}, "client_secret": {"appsecret"}, "redirect_uri": {redirect}, "code": {q.Get("code")}}, ""); st != 400 {
		t.Fatal("an Instagram code must not work at the Facebook endpoint")
	}
}

// isMissingToken is Graph's answer for a missing required parameter, naming
// access_token.
func isMissingToken(m map[string]any) bool {
	e, _ := m["error"].(map[string]any)
	return e != nil && e["code"] == float64(100) && e["message"] == "(#100) The parameter access_token is required"
}
