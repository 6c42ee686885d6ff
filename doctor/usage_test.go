package doctor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/doctor"
	"github.com/igmcp/igmcp/fakegraph"
)

func TestQuota(t *testing.T) {
	t.Run("exhausted", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{QuotaTotal: 3})
		s.publish(t, 3)
		o := run(t, s.cfg)
		o.wantStatuses(t, "config=ok store=ok media_root=skip staging=skip token=ok login=ok account=ok scopes=ok quota=fail rate_limit=ok webhooks=skip probe=skip", 1)
		r := o.want(t, doctor.CheckQuota, doctor.Fail, "used up: 3 of 3 posts in the last 24 hours", "schedule posts for later")
		if r.Facts["used"] != 3 || r.Facts["total"] != 3 {
			t.Errorf("facts %v", r.Facts)
		}
	})
	t.Run("nearly used", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{QuotaTotal: 5})
		s.publish(t, 4)
		o := run(t, s.cfg)
		o.want(t, doctor.CheckQuota, doctor.Warn, "4 of 5 posts used", "1 more can be published")
		if o.code != 0 {
			t.Errorf("exit %d", o.code)
		}
	})
	t.Run("not exposed", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{QuotaTotal: 1})
		s.publish(t, 1)
		s.cfg.Toolsets = []string{"comments", "insights"}
		o := run(t, s.cfg)
		o.want(t, doctor.CheckQuota, doctor.Skip, "no publishing toolset", "")
		if n := s.fake.CountCalls("GET", "/content_publishing_limit"); n != 0 {
			t.Errorf("%d quota reads", n)
		}
	})
}

func TestRateLimit(t *testing.T) {
	t.Run("close to the limit", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.fake.SetUsage(s.acct.ID, 80, 0)
		o := run(t, s.cfg)
		r := o.want(t, doctor.CheckRateLimit, doctor.Warn, "account 80%", "fewer calls")
		if r.Facts["business_pct"] != 80 || r.Facts["headers_seen"] != true {
			t.Errorf("facts %v", r.Facts)
		}
		if o.code != 0 {
			t.Errorf("exit %d", o.code)
		}
	})
	t.Run("refused", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.fake.SetUsage(s.acct.ID, 100, 45)
		o := run(t, s.cfg)
		o.want(t, doctor.CheckRateLimit, doctor.Fail, "code 80002", "about 45 minutes")
		o.want(t, doctor.CheckAccount, doctor.Fail, "cannot be looked up now", "rate limit")
	})
	t.Run("a block another server recorded", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		st := s.openStore(t)
		until := time.Now().Add(time.Hour)
		if err := st.BlockUntil(t.Context(), s.acct.ID, until); err != nil {
			t.Fatal(err)
		}
		st.Close()
		o := run(t, s.cfg)
		r := o.want(t, doctor.CheckRateLimit, doctor.Fail, "blocks this account's calls until "+until.UTC().Format("15:04 UTC"), "wait until then")
		if r.Facts["blocked_until"] != until.UTC().Format(time.RFC3339) {
			t.Errorf("facts %v", r.Facts)
		}
	})
	t.Run("far from the limits", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{UsagePerCall: 1})
		o := run(t, s.cfg)
		o.want(t, doctor.CheckRateLimit, doctor.OK, "app 2%, account 2%", "")
	})
}

func TestWebhooks(t *testing.T) {
	subscribe := func(t *testing.T, s *setup, object, fields string) {
		t.Helper()
		if _, err := s.client(t).SubscribeApp(t.Context(), object, strings.Split(fields, ",")); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("not configured", func(t *testing.T) {
		run(t, newSetup(t, fakegraph.Options{}).cfg).want(t, doctor.CheckWebhooks, doctor.Skip, "not configured", "")
	})
	t.Run("Instagram Login, subscribed", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{igAccount}})
		s.cfg.Webhooks, s.cfg.AppID = true, "" // the fake's app id is its own
		subscribe(t, s, igAccount.ID, "comments,live_comments,mentions")
		run(t, s.cfg).want(t, doctor.CheckWebhooks, doctor.OK, "subscribed to comments, live_comments, mentions", "")
	})
	t.Run("Instagram Login, some fields", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{igAccount}})
		s.cfg.Webhooks, s.cfg.AppID = true, ""
		subscribe(t, s, igAccount.ID, "comments")
		run(t, s.cfg).want(t, doctor.CheckWebhooks, doctor.Warn, "not to live_comments, mentions",
			"POST /"+igAccount.ID+"/subscribed_apps with subscribed_fields=comments,live_comments,mentions")
	})
	t.Run("Instagram Login, not subscribed", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{igAccount}})
		s.cfg.Webhooks = true
		o := run(t, s.cfg)
		o.want(t, doctor.CheckWebhooks, doctor.Fail, "no app is subscribed", "subscribed_fields=comments,live_comments,mentions")
		if o.code != 1 {
			t.Errorf("exit %d", o.code)
		}
	})
	t.Run("another app subscribed", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{igAccount}})
		s.cfg.Webhooks = true // INSTAGRAM_APP_ID is not the fake's app
		subscribe(t, s, igAccount.ID, "comments,live_comments,mentions")
		run(t, s.cfg).want(t, doctor.CheckWebhooks, doctor.Fail, "app "+appID+" (INSTAGRAM_APP_ID) is not subscribed", "subscribed_apps")
	})
	t.Run("Facebook Login, Page subscribed", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.Webhooks, s.cfg.AppID = true, ""
		o := run(t, s.cfg)
		o.want(t, doctor.CheckWebhooks, doctor.Fail, "Facebook Page", "subscribed_fields=feed")
		page := o.check(t, doctor.CheckAccount).Facts["page_id"].(string)
		subscribe(t, s, page, "feed")
		run(t, s.cfg).want(t, doctor.CheckWebhooks, doctor.OK, "the Page is subscribed (feed)", "")
	})
}
