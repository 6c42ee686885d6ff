package graph_test

import (
	"reflect"
	"testing"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
)

// Against the simulated Graph API: Instagram Login subscribes the account
// with Instagram fields; Facebook Login subscribes the account's Page with
// a Page field (Instagram fields are refused there).
func TestSubscriptionsAgainstFake(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	c, fake, acct := discoveryClient(t, fakegraph.LoginInstagram)
	apps, _, err := c.SubscribedApps(ctx, "me")
	if err != nil || len(apps) != 0 {
		t.Fatalf("before: %+v %v", apps, err)
	}
	if _, err := c.SubscribeApp(ctx, acct.ID, graph.InstagramLoginWebhookFields); err != nil {
		t.Fatal(err)
	}
	apps, _, err = c.SubscribedApps(ctx, "me")
	if err != nil || len(apps) != 1 || !reflect.DeepEqual(apps[0].Fields, []string{"comments", "live_comments", "mentions"}) || apps[0].ID == "" {
		t.Fatalf("after: %+v %v", apps, err)
	}
	if got := fake.Subscribed(acct.ID); !reflect.DeepEqual(got, graph.InstagramLoginWebhookFields) {
		t.Fatalf("fake recorded %v", got)
	}
	if _, err := c.SubscribeApp(ctx, acct.ID, []string{"story_insights"}); err == nil {
		t.Error("story_insights accepted for Instagram Login")
	} else if code, _ := graphCode(err); code != 100 {
		t.Errorf("error %v", err)
	}

	fb, fbFake, fbAcct := discoveryClient(t, fakegraph.LoginFacebook)
	pages, _, err := fb.PageAccounts(ctx)
	if err != nil || len(pages) != 1 {
		t.Fatalf("pages: %+v %v", pages, err)
	}
	if _, err := fb.SubscribeApp(ctx, pages[0].PageID, []string{"comments"}); err == nil {
		t.Error("an Instagram field accepted on a Page")
	}
	if _, err := fb.SubscribeApp(ctx, pages[0].PageID, []string{graph.PageSubscriptionField}); err != nil {
		t.Fatal(err)
	}
	if got := fbFake.Subscribed(fbAcct.ID); !reflect.DeepEqual(got, []string{"feed"}) {
		t.Fatalf("fake recorded %v", got)
	}
	// The account's own edge is not where Facebook Login subscribes.
	if _, err := fb.SubscribeApp(ctx, fbAcct.ID, []string{"comments"}); err == nil {
		t.Error("Facebook Login subscribed through the IG user edge")
	}
}
