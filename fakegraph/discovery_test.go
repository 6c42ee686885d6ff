package fakegraph

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFieldMods(t *testing.T) {
	t.Parallel()
	got := fieldMods("id,business_discovery.username(blue.bottle){followers_count,media.after(QVFI).limit(5){id,caption}},mentioned_media.media_id(123){id}")
	want := map[string]map[string]string{
		"business_discovery":       {"username": "blue.bottle"},
		"business_discovery/media": {"after": "QVFI", "limit": "5"},
		"mentioned_media":          {"media_id": "123"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}

func TestDiscovery_SeededSandboxAndRules(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := New(Options{Now: clock.Now})
	c := start(t, s)
	uid := DefaultAccount.ID

	// seeded: the default account is tagged and mentioned somewhere
	tags := c.do("GET", "/"+uid+"/tags", vals("fields", "id,caption,username"))
	if len(tags.data()) == 0 {
		t.Fatalf("no seeded tagged media: %s", tags.raw)
	}
	bd := c.do("GET", "/"+uid, vals("fields", "business_discovery.username(sandbox_brand){username,followers_count,media.limit(1){id}}"))
	if !strings.Contains(bd.raw, `"followers_count":52340`) {
		t.Fatalf("business discovery: %s", bd.raw)
	}
	wantErr(t, c.do("GET", "/"+uid, vals("fields", "business_discovery.username(nobody_here){id}")), 400, 110, 2207013)

	// hashtag search: user_id required; 30 unique per 7 days; the window rolls
	wantErr(t, c.do("GET", "/ig_hashtag_search", vals("q", "coffee")), 400, 100, 0)
	for i := range 30 {
		a := c.do("GET", "/ig_hashtag_search", vals("user_id", uid, "q", "tag"+string(rune('a'+i%26))+string(rune('a'+i/26))))
		if a.status != 200 {
			t.Fatalf("search %d: %s", i, a.raw)
		}
	}
	wantErr(t, c.do("GET", "/ig_hashtag_search", vals("user_id", uid, "q", "thirty_first")), 400, 18, 0)
	clock.Add(7*24*time.Hour + time.Second)
	if a := c.do("GET", "/ig_hashtag_search", vals("user_id", uid, "q", "thirty_first")); a.status != 200 {
		t.Fatalf("after the window: %s", a.raw)
	}
	// recent_media only shows the last 24 h; the seed has #coffee posts 2 h, 5 h and 72 h old
	id := s.HashtagID("coffee")
	recent := c.do("GET", "/"+id+"/recent_media", vals("user_id", uid, "fields", "id,timestamp"))
	top := c.do("GET", "/"+id+"/top_media", vals("user_id", uid, "fields", "id,like_count"))
	if len(top.data()) <= len(recent.data()) {
		t.Fatalf("recent %d, top %d", len(recent.data()), len(top.data()))
	}
}

func TestDiscovery_InstagramLogin(t *testing.T) {
	t.Parallel()
	ig := Account{ID: "17841400000000099", Username: "ig_user", Token: "IGAAx", Login: LoginInstagram}
	s := New(Options{Accounts: []Account{ig}})
	c := start(t, s).with(ig.Token)
	wantErr(t, c.do("GET", "/ig_hashtag_search", vals("user_id", ig.ID, "q", "coffee")), 400, 100, 33)
	wantErr(t, c.do("GET", "/"+ig.ID, vals("fields", "business_discovery.username(sandbox_brand){id}")), 400, 100, 0)
	wantErr(t, c.do("GET", "/"+s.HashtagID("coffee")+"/top_media", vals("user_id", ig.ID)), 400, 100, 33)
}
