package fakegraph

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestMePermissionsAndIssueToken(t *testing.T) {
	clock := newClock()
	ig := Account{ID: "17841400000000002", Username: "ig_login", Token: "IGAAig", Login: LoginInstagram}
	s := New(Options{Accounts: []Account{DefaultAccount, ig}, Now: clock.Now})
	c := start(t, s)

	// A token given in Options has the default Facebook scopes.
	a := c.do("GET", "/me/permissions", nil)
	var got []string
	for _, d := range a.data() {
		m := d.(map[string]any)
		if m["status"] != "granted" {
			t.Errorf("status %v", m["status"])
		}
		got = append(got, m["permission"].(string))
	}
	if !slices.Equal(got, defaultFacebookScopes) {
		t.Fatalf("permissions = %v, want %v", got, defaultFacebookScopes)
	}

	// A token issued with fewer scopes lists only those, and so does debug_token.
	tok := s.IssueToken(LoginFacebook, []string{"instagram_basic", "pages_show_list"}, 0, DefaultAccount.ID)
	if tok == "" {
		t.Fatal("IssueToken refused")
	}
	a = c.with(tok).do("GET", "/me/permissions", nil)
	if n := len(a.data()); n != 2 {
		t.Fatalf("permissions of the narrow token: %s", a.raw)
	}
	dbg := c.with(tok).do("GET", "/debug_token", url.Values{"input_token": {tok}})
	data := dbg.body["data"].(map[string]any)
	if data["is_valid"] != true || data["expires_at"].(float64) != 0 || len(data["scopes"].([]any)) != 2 {
		t.Fatalf("debug_token of the narrow token: %s", dbg.raw)
	}
	// It acts as the account.
	if a := c.with(tok).do("GET", "/"+DefaultAccount.ID, url.Values{"fields": {"username"}}); a.str("username") != DefaultAccount.Username {
		t.Fatalf("acting as the account: %s", a.raw)
	}

	// A ttl makes it expire.
	short := s.IssueToken(LoginFacebook, nil, time.Hour, DefaultAccount.ID)
	c.with(short).do("GET", "/me/permissions", nil)
	clock.Add(time.Hour)
	wantErr(t, c.with(short).do("GET", "/me/permissions", nil), 400, 190, 463)

	// Instagram Login documents no /me/permissions.
	wantErr(t, c.with(ig.Token).do("GET", "/me/permissions", nil), 400, 2500, 0)

	// Unknown accounts and mixed login types are refused.
	for _, bad := range []string{s.IssueToken(LoginFacebook, nil, 0, "404"), s.IssueToken(LoginFacebook, nil, 0, ig.ID),
		s.IssueToken(LoginInstagram, nil, 0), s.IssueToken(LoginInstagram, nil, 0, ig.ID, DefaultAccount.ID)} {
		if bad != "" {
			t.Errorf("IssueToken issued %q", bad)
		}
	}
	if tok := s.IssueToken(LoginInstagram, []string{"instagram_business_basic"}, 0, ig.ID); tok[:4] != "IGAA" {
		t.Errorf("an Instagram Login token %q", tok[:4])
	}
}
