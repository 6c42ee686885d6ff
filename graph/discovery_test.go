package graph_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
)

func discoveryClient(t *testing.T, login string) (*graph.Client, *fakegraph.Server, fakegraph.Account) {
	t.Helper()
	acct := fakegraph.Account{ID: "17841400000000077", Username: "disc_owner", Token: "EAAdisc", Login: login}
	if login == fakegraph.LoginInstagram {
		acct.Token = "IGAAdisc"
	}
	fake := fakegraph.New(fakegraph.Options{Accounts: []fakegraph.Account{acct}})
	base, stop := fake.Start()
	t.Cleanup(stop)
	c, err := graph.NewClient(graph.WithBaseURL(base),
		graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token})),
		graph.WithRetryPolicy(graph.RetryPolicy{MaxTries: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c, fake, acct
}

func graphCode(err error) (int, int) {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Code, ge.Subcode
	}
	return 0, 0
}

func TestHashtagSearch_BudgetAndRecent(t *testing.T) {
	t.Parallel()
	c, fake, acct := discoveryClient(t, fakegraph.LoginFacebook)
	ctx := t.Context()
	id, _, err := c.SearchHashtag(ctx, acct.ID, "Coffee")
	if err != nil || id != fake.HashtagID("coffee") {
		t.Fatalf("search: %q %v", id, err)
	}
	h, _, err := c.GetHashtag(ctx, id)
	if err != nil || h.Name != "coffee" {
		t.Fatalf("hashtag: %+v %v", h, err)
	}
	for i := 1; i < 30; i++ {
		if _, _, err := c.SearchHashtag(ctx, acct.ID, fmt.Sprintf("tag%d", i)); err != nil {
			t.Fatalf("search %d: %v", i, err)
		}
	}
	// Re-searching a counted hashtag is free; a 31st new one is refused.
	if _, _, err := c.SearchHashtag(ctx, acct.ID, "coffee"); err != nil {
		t.Fatalf("repeat search: %v", err)
	}
	_, _, err = c.SearchHashtag(ctx, acct.ID, "one_too_many")
	if code, _ := graphCode(err); code != 18 {
		t.Fatalf("31st hashtag: %v", err)
	}
	recent, _, err := c.RecentlySearchedHashtags(ctx, acct.ID)
	// ids only (the reference shows no name): newest first.
	if err != nil || len(recent) != 30 || recent[0].ID != fake.HashtagID("tag29") || recent[0].Name != "" {
		t.Fatalf("recently searched: %d %+v %v", len(recent), recent[:min(2, len(recent))], err)
	}
	if _, _, err := c.SearchHashtag(ctx, acct.ID, "#bad tag"); err == nil {
		t.Fatal("invalid hashtag name sent")
	}
}

func TestHashtagMedia_TopAndRecent(t *testing.T) {
	t.Parallel()
	c, fake, acct := discoveryClient(t, fakegraph.LoginFacebook)
	old := fake.AddPublicMedia(fakegraph.PublicMedia{Username: "brand_x", Caption: "old #zebra", Age: 48 * time.Hour, Likes: 900})
	fresh := fake.AddPublicMedia(fakegraph.PublicMedia{Username: "brand_x", Caption: "fresh #zebra", Age: time.Hour, Likes: 10})
	mid := fake.AddPublicMedia(fakegraph.PublicMedia{Username: "brand_y", Caption: "mid #Zebra", Age: 3 * time.Hour, Likes: 50})
	ctx := t.Context()
	id, _, err := c.SearchHashtag(ctx, acct.ID, "zebra")
	if err != nil {
		t.Fatal(err)
	}
	top, _, err := c.HashtagMedia(ctx, acct.ID, id, graph.HashtagTopMedia, nil)
	if err != nil || len(top) != 3 || top[0].ID != old || top[1].ID != mid || top[2].ID != fresh {
		t.Fatalf("top: %+v %v", top, err)
	}
	recent, _, err := c.HashtagMedia(ctx, acct.ID, id, graph.HashtagRecentMedia, &graph.ListOptions{Limit: 1})
	if err != nil || len(recent) != 1 || recent[0].ID != fresh {
		t.Fatalf("recent page 1: %+v %v", recent, err)
	}
	// username is not requestable on hashtag media (documented)
	_, _, err = c.HashtagMedia(ctx, acct.ID, id, graph.HashtagTopMedia, &graph.ListOptions{Fields: []string{"id", "username"}})
	if code, _ := graphCode(err); code != 100 {
		t.Fatalf("username on hashtag media: %v", err)
	}
}

func TestDiscovery_FacebookLoginOnly(t *testing.T) {
	t.Parallel()
	c, _, acct := discoveryClient(t, fakegraph.LoginInstagram)
	ctx := t.Context()
	if _, _, err := c.SearchHashtag(ctx, acct.ID, "coffee"); err == nil {
		t.Fatal("hashtag search worked with Instagram Login")
	}
	_, _, err := c.BusinessDiscovery(ctx, acct.ID, "sandbox_brand", graph.BusinessDiscoveryOptions{})
	if code, _ := graphCode(err); code != 100 {
		t.Fatalf("business discovery with Instagram Login: %v", err)
	}
}

func TestBusinessDiscovery(t *testing.T) {
	t.Parallel()
	c, fake, acct := discoveryClient(t, fakegraph.LoginFacebook)
	fake.AddPublicAccount(fakegraph.PublicAccount{Username: "bluebottle", Name: "Blue Bottle", Followers: 267793})
	var ids []string
	for i := range 5 {
		ids = append(ids, fake.AddPublicMedia(fakegraph.PublicMedia{Username: "bluebottle", Caption: fmt.Sprintf("post %d", i), Age: time.Duration(10-i) * time.Hour}))
	}
	ctx := t.Context()
	p, _, err := c.BusinessDiscovery(ctx, acct.ID, "bluebottle", graph.BusinessDiscoveryOptions{MediaLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.Username != "bluebottle" || p.FollowersCount == nil || *p.FollowersCount != 267793 || *p.MediaCount != 5 {
		t.Fatalf("profile %+v", p)
	}
	if len(p.Media) != 2 || p.Media[0].ID != ids[4] || p.MediaAfter == "" {
		t.Fatalf("page 1: %+v after=%q", p.Media, p.MediaAfter)
	}
	var seen []string
	after := ""
	for range 5 {
		p, _, err := c.BusinessDiscovery(ctx, acct.ID, "bluebottle", graph.BusinessDiscoveryOptions{MediaLimit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.Media {
			seen = append(seen, m.ID)
		}
		if after = p.MediaAfter; after == "" {
			break
		}
	}
	if len(seen) != 5 || seen[4] != ids[0] {
		t.Fatalf("paged media %v", seen)
	}
	_, _, err = c.BusinessDiscovery(ctx, acct.ID, "sandbox_personal", graph.BusinessDiscoveryOptions{})
	if code, sub := graphCode(err); code != 110 || sub != 2207013 {
		t.Fatalf("personal account: %v", err)
	}
	if _, _, err := c.BusinessDiscovery(ctx, acct.ID, "x){id}", graph.BusinessDiscoveryOptions{}); err == nil {
		t.Fatal("field-expression injection was sent")
	}
}

func TestTagsAndMentions(t *testing.T) {
	t.Parallel()
	c, fake, acct := discoveryClient(t, fakegraph.LoginFacebook)
	tagged := fake.AddPublicMedia(fakegraph.PublicMedia{Username: "friend", Caption: "with @disc_owner", Tagged: []string{"disc_owner"}})
	cm := fake.AddPublicComment(tagged, "fan", "@disc_owner love it")
	other := fake.AddPublicComment(tagged, "fan", "no mention here")
	ctx := t.Context()
	list, _, err := c.TaggedMedia(ctx, acct.ID, nil)
	if err != nil || len(list) == 0 || list[0].ID != tagged || list[0].Username != "friend" {
		t.Fatalf("tags: %+v %v", list, err)
	}
	m, _, err := c.MentionedMedia(ctx, acct.ID, tagged)
	if err != nil || m.ID != tagged || m.Caption != "with @disc_owner" {
		t.Fatalf("mentioned media: %+v %v", m, err)
	}
	mc, _, err := c.MentionedComment(ctx, acct.ID, cm)
	if err != nil || mc.Text != "@disc_owner love it" || mc.Username != "fan" || mc.Media == nil || mc.Media.ID != tagged {
		t.Fatalf("mentioned comment: %+v %v", mc, err)
	}
	if _, _, err := c.MentionedComment(ctx, acct.ID, other); err == nil {
		t.Fatal("a comment without a mention was returned")
	}
}

func TestListMediaAndInfo(t *testing.T) {
	t.Parallel()
	c, _, acct := discoveryClient(t, fakegraph.LoginFacebook)
	ctx := t.Context()
	var ids []string
	for i := range 3 {
		ct, _, err := c.CreateContainer(ctx, acct.ID, &graph.ContainerRequest{ImageURL: fmt.Sprintf("https://cdn.example.com/%d.jpg", i), AltText: "alt"})
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := c.Publish(ctx, acct.ID, ct.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	page, resp, err := c.ListMedia(ctx, acct.ID, &graph.ListOptions{Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != ids[2] || resp.Paging == nil || resp.Paging.Next == "" {
		t.Fatalf("page 1: %+v %v", page, err)
	}
	page2, resp2, err := c.ListMedia(ctx, acct.ID, &graph.ListOptions{Limit: 2, After: resp.Paging.After})
	if err != nil || len(page2) != 1 || page2[0].ID != ids[0] || resp2.Paging.Next != "" {
		t.Fatalf("page 2: %+v %v", page2, err)
	}
	info, _, err := c.GetMediaInfo(ctx, ids[0])
	if err != nil || info.AltText != "alt" || info.IsCommentEnabled == nil || info.LikeCount == nil {
		t.Fatalf("info %+v %v", info, err)
	}
}
