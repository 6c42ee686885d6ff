package doctor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/doctor"
	"github.com/igmcp/igmcp/fakegraph"
)

var (
	igAccount = fakegraph.Account{ID: "17841400000000002", Username: "ig_creator", Token: "IGAAvalid-ig-token", Login: fakegraph.LoginInstagram}
	fbAccount = fakegraph.Account{ID: "17841400000000003", Username: "fb_brand", Token: "EAAvalid-fb-token", Login: fakegraph.LoginFacebook}
)

const afterBadToken = "config=ok store=ok media_root=skip staging=skip token=fail login=skip account=skip scopes=skip quota=skip rate_limit=skip webhooks=skip probe=skip"

func TestBadToken(t *testing.T) {
	t.Run("unknown token", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.Token = "EAAnot-a-token-Instagram-knows"
		o := run(t, s.cfg)
		o.wantStatuses(t, afterBadToken, 1)
		o.want(t, doctor.CheckToken, doctor.Fail, "code 190/467", "INSTAGRAM_ACCESS_TOKEN")
		// A token Meta refused is not sent again.
		if n := len(s.fake.Calls()); n != 1 {
			t.Errorf("%d calls after the token was refused, want 1 (debug_token)", n)
		}
	})
	for _, tc := range []struct {
		acct        fakegraph.Account
		detail, fix string
	}{
		{fbAccount, "code 190/463", "igmcp auth login --login facebook"},
		{igAccount, "Instagram refused the token", "igmcp auth login --login instagram"},
	} {
		t.Run("expired "+tc.acct.Login+" token", func(t *testing.T) {
			tc.acct.TokenExpiry = time.Now().Add(-time.Hour)
			o := run(t, newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{tc.acct}}).cfg)
			o.wantStatuses(t, afterBadToken, 1)
			o.want(t, doctor.CheckToken, doctor.Fail, tc.detail, tc.fix)
		})
	}
	t.Run("Instagram cannot be reached", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.HTTPClient = nil
		s.cfg.GraphURL = "http://127.0.0.1:1"
		o := run(t, s.cfg)
		o.want(t, doctor.CheckToken, doctor.Fail, "could not be checked", "network")
		if o.code != 1 {
			t.Errorf("exit %d", o.code)
		}
	})
}

func TestTokenExpiry(t *testing.T) {
	for _, tc := range []struct {
		ttl    time.Duration
		status doctor.Status
		detail string
	}{
		{50 * 24 * time.Hour, doctor.OK, "valid until"},
		{3 * 24 * time.Hour, doctor.Warn, "expires"},
	} {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{fbAccount}})
		tok := s.fake.IssueToken(fakegraph.LoginFacebook, []string{"instagram_basic", "instagram_content_publish",
			"instagram_manage_comments", "instagram_manage_insights", "pages_show_list", "pages_read_engagement"}, tc.ttl, fbAccount.ID)
		s.cfg.Token = auth.Secret(tok)
		o := run(t, s.cfg)
		r := o.want(t, doctor.CheckToken, tc.status, tc.detail, map[doctor.Status]string{doctor.Warn: "igmcp auth add"}[tc.status])
		exp, err := time.Parse(time.RFC3339, r.Facts["expires_at"].(string))
		if err != nil || exp.Sub(time.Now().Add(tc.ttl)).Abs() > time.Minute {
			t.Errorf("expires_at = %v, want about now + %v", r.Facts["expires_at"], tc.ttl)
		}
		if o.code != 0 {
			t.Errorf("exit %d: an expiry warning passes", o.code)
		}
	}
}

func TestInstagramLogin(t *testing.T) {
	s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{igAccount}})
	o := run(t, s.cfg)
	// A token from the environment: Instagram Login cannot say its scopes.
	o.wantStatuses(t, "config=ok store=ok media_root=skip staging=skip token=ok login=ok account=ok scopes=skip quota=ok rate_limit=ok webhooks=skip probe=skip", 0)
	o.want(t, doctor.CheckToken, doctor.OK, "expiry unknown", "")
	o.want(t, doctor.CheckLogin, doctor.OK, "Instagram Login token", "")
	r := o.want(t, doctor.CheckAccount, doctor.OK, "a creator account", "")
	if r.Account != igAccount.ID || r.Username != igAccount.Username {
		t.Errorf("account %q @%q", r.Account, r.Username)
	}
	o.want(t, doctor.CheckScopes, doctor.Skip, "igmcp auth login --login instagram", "")
	// debug_token is Facebook's: Instagram Login is checked with /me.
	if n := s.fake.CountCalls("", "/debug_token"); n != 0 {
		t.Errorf("%d debug_token calls", n)
	}
	if !strings.Contains(o.text, "account @ig_creator (17841400000000002)") {
		t.Errorf("text names the account otherwise:\n%s", o.text)
	}

	// account_type is observed in answers, not documented: a Graph API
	// that refuses it still identifies the account.
	t.Run("account_type refused", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{igAccount}})
		s.fake.Inject(fakegraph.Fault{Method: "GET", PathSuffix: "/me", Nth: 1, Action: fakegraph.FaultGraphError,
			GraphError: &fakegraph.ErrorSpec{Code: 100, Message: "(#100) Tried accessing nonexisting field (account_type) on node type (User)"}})
		o := run(t, s.cfg)
		o.want(t, doctor.CheckLogin, doctor.OK, "Instagram Login token", "")
		o.want(t, doctor.CheckAccount, doctor.OK, "a professional account", "")
		if o.code != 0 {
			t.Errorf("exit %d", o.code)
		}
	})
	t.Run("INSTAGRAM_USER_ID of another account", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{igAccount}})
		s.cfg.UserID = "17841499999999999"
		o := run(t, s.cfg)
		o.want(t, doctor.CheckAccount, doctor.Fail, "not as account 17841499999999999", "INSTAGRAM_USER_ID="+igAccount.ID)
	})
}

func TestLoginMismatch(t *testing.T) {
	t.Run("Instagram Login token, INSTAGRAM_LOGIN=facebook", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{igAccount}})
		s.cfg.Login = auth.LoginFacebook
		o := run(t, s.cfg)
		o.wantStatuses(t, "config=ok store=ok media_root=skip staging=skip token=ok login=fail account=skip scopes=skip quota=skip rate_limit=ok webhooks=skip probe=skip", 1)
		o.want(t, doctor.CheckLogin, doctor.Fail, "not a Facebook Login token", "INSTAGRAM_LOGIN=instagram")
		o.want(t, doctor.CheckAccount, doctor.Skip, "another login type", "")
	})
	t.Run("Facebook Login token, INSTAGRAM_LOGIN=instagram", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{fbAccount}})
		s.cfg.Login = auth.LoginInstagram
		o := run(t, s.cfg)
		o.want(t, doctor.CheckLogin, doctor.Fail, "not an Instagram Login token", "INSTAGRAM_LOGIN=facebook")
		if o.code != 1 {
			t.Errorf("exit %d", o.code)
		}
	})
	// Meta's Facebook host refuses an Instagram Login token outright; the
	// prefix then says what to change.
	t.Run("refused token that looks like the other login type", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.Token = "IGAAunknown-to-facebook"
		o := run(t, s.cfg)
		o.want(t, doctor.CheckToken, doctor.Fail, "Instagram refused the token", "if this is an Instagram Login token, set INSTAGRAM_LOGIN=instagram")
		o.want(t, doctor.CheckLogin, doctor.Fail, "looks like an Instagram Login token", "INSTAGRAM_LOGIN=instagram")
	})
	t.Run("INSTAGRAM_GRAPH_URL of the other login type", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.GraphURL = "https://graph.instagram.com"
		o := run(t, s.cfg)
		o.want(t, doctor.CheckLogin, doctor.Fail, "Instagram Login's host", "unset INSTAGRAM_GRAPH_URL")
	})
	t.Run("a prefix that misleads does not decide", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{{ID: fbAccount.ID, Username: "odd", Token: "IGAAbut-really-facebook"}}})
		o := run(t, s.cfg)
		o.want(t, doctor.CheckLogin, doctor.OK, "its prefix suggested Instagram Login", "")
		if o.code != 0 {
			t.Errorf("exit %d", o.code)
		}
	})
}

func TestFacebookAccounts(t *testing.T) {
	two := fakegraph.Options{Accounts: []fakegraph.Account{fbAccount, {ID: "17841400000000004", Username: "fb_second", Token: fbAccount.Token}}}
	t.Run("several accounts without INSTAGRAM_USER_ID", func(t *testing.T) {
		o := run(t, newSetup(t, two).cfg)
		o.want(t, doctor.CheckAccount, doctor.Fail, "several Instagram accounts: @fb_brand (17841400000000003), @fb_second (17841400000000004)", "set INSTAGRAM_USER_ID")
	})
	t.Run("INSTAGRAM_USER_ID picks one", func(t *testing.T) {
		s := newSetup(t, two)
		s.cfg.UserID = "17841400000000004"
		o := run(t, s.cfg)
		r := o.want(t, doctor.CheckAccount, doctor.OK, "linked to the Facebook Page", "")
		if r.Account != "17841400000000004" || r.Username != "fb_second" {
			t.Fatalf("account %+v", r)
		}
	})
	t.Run("INSTAGRAM_USER_ID the token does not reach", func(t *testing.T) {
		s := newSetup(t, two)
		s.cfg.UserID = "17841499999999999"
		o := run(t, s.cfg)
		o.want(t, doctor.CheckAccount, doctor.Fail, "does not reach account 17841499999999999", "INSTAGRAM_USER_ID")
	})
}
