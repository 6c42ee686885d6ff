package doctor_test

import (
	"strings"
	"testing"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/doctor"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/tools"
)

// A token missing permissions: the check names each missing permission
// under the toolset that needs it, and the fix is the exact login command.
func TestMissingScopes(t *testing.T) {
	narrow := []string{"instagram_basic", "instagram_content_publish", "pages_show_list"}
	for _, tc := range []struct {
		name     string
		toolsets []string
		readOnly bool
		status   doctor.Status
		detail   string
	}{
		{"default toolsets", nil, false, doctor.Fail,
			"missing permissions: comments needs instagram_manage_comments, pages_read_engagement; insights needs instagram_manage_insights"},
		{"insights only", []string{"insights"}, false, doctor.Fail, "missing permissions: insights needs instagram_manage_insights"},
		{"publish only", []string{"publish"}, false, doctor.OK, "every permission the exposed toolsets (publish) need is granted"},
		// Read-only exposes no write tool; reading comments still needs
		// their permission.
		{"read-only comments", []string{"comments"}, true, doctor.Fail, "comments needs instagram_manage_comments, pages_read_engagement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{fbAccount}})
			s.cfg.Token = auth.Secret(s.fake.IssueToken(fakegraph.LoginFacebook, narrow, 0, fbAccount.ID))
			s.cfg.Toolsets, s.cfg.ReadOnly = tc.toolsets, tc.readOnly
			o := run(t, s.cfg)
			fix := ""
			if tc.status == doctor.Fail {
				fix = "igmcp auth login --login facebook --scopes instagram_basic,instagram_content_publish,instagram_manage_comments,instagram_manage_insights,pages_show_list,pages_read_engagement"
			}
			r := o.want(t, doctor.CheckScopes, tc.status, tc.detail, fix)
			if r.Facts["from"] != "debug_token" {
				t.Errorf("scopes read from %v", r.Facts["from"])
			}
			if want := map[doctor.Status]int{doctor.OK: 0, doctor.Fail: 1}[tc.status]; o.code != want {
				t.Errorf("exit %d, want %d", o.code, want)
			}
		})
	}
}

// When debug_token fails for a reason of its own, the token is checked
// with /me and its permissions read from /me/permissions.
func TestScopesWithoutDebugToken(t *testing.T) {
	s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{fbAccount}})
	s.cfg.Token = auth.Secret(s.fake.IssueToken(fakegraph.LoginFacebook, []string{"instagram_basic", "pages_show_list"}, 0, fbAccount.ID))
	s.fake.Inject(fakegraph.Fault{PathSuffix: "/debug_token", Action: fakegraph.FaultGraphError,
		GraphError: &fakegraph.ErrorSpec{Code: 100, Message: "(#100) The App_id in the input_token did not match the Viewing App"}})
	o := run(t, s.cfg)
	o.want(t, doctor.CheckToken, doctor.OK, "debug_token failed", "")
	r := o.want(t, doctor.CheckScopes, doctor.Fail, "publish needs instagram_content_publish", "--scopes")
	if r.Facts["from"] != "me/permissions" {
		t.Errorf("scopes read from %v", r.Facts["from"])
	}
	if n := s.fake.CountCalls("GET", "/me/permissions"); n != 1 {
		t.Errorf("%d /me/permissions reads", n)
	}
}

// Instagram Login scopes are known only from the login (the token store);
// the tools that exist only for Facebook Login are named.
func TestInstagramLoginScopesFromStore(t *testing.T) {
	s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{igAccount}})
	storeAccount(t, s, auth.Record{AccountID: igAccount.ID, Username: igAccount.Username, Login: auth.LoginInstagram,
		Token: auth.Secret(igAccount.Token), Scopes: []string{"instagram_business_basic", "instagram_business_content_publish",
			"instagram_business_manage_comments", "instagram_business_manage_insights"}})
	s.cfg.Token = ""
	s.cfg.Toolsets = tools.ToolsetNames()
	o := run(t, s.cfg)
	r := o.want(t, doctor.CheckScopes, doctor.Warn, "search_hashtag, get_hashtag_media, list_mentions, get_business_profile work only with Facebook Login", "Facebook Login")
	if r.Facts["from"] != "the token store (recorded at login)" {
		t.Errorf("from %v", r.Facts["from"])
	}
	if o.code != 0 {
		t.Errorf("exit %d", o.code)
	}

	// A permission missing from the login.
	storeAccount(t, s, auth.Record{AccountID: igAccount.ID, Username: igAccount.Username, Login: auth.LoginInstagram,
		Token: auth.Secret(igAccount.Token), Scopes: []string{"instagram_business_basic"}})
	s.cfg.Toolsets = nil
	o = run(t, s.cfg)
	r = o.want(t, doctor.CheckScopes, doctor.Fail, "publish needs instagram_business_content_publish",
		"log in again granting them: `igmcp auth login --login instagram --scopes instagram_business_basic,instagram_business_content_publish,instagram_business_manage_comments,instagram_business_manage_insights`")
	if !strings.Contains(r.Detail, "insights needs instagram_business_manage_insights") {
		t.Errorf("detail %q", r.Detail)
	}
}
