package graph_test

import (
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
)

func TestPermissionsAgainstFake(t *testing.T) {
	t.Parallel()
	c, fake, acct := discoveryClient(t, fakegraph.LoginFacebook)
	ps, _, err := c.Permissions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"instagram_basic", "instagram_content_publish", "instagram_manage_comments",
		"instagram_manage_insights", "pages_show_list", "pages_read_engagement"}
	if got := graph.Granted(ps); !slices.Equal(got, want) {
		t.Fatalf("granted = %v, want %v", got, want)
	}

	narrow := fake.IssueToken(fakegraph.LoginFacebook, []string{"instagram_basic"}, 0, acct.ID)
	nc, err := graph.NewClient(graph.WithBaseURL(c.BaseURL()),
		graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: narrow})))
	if err != nil {
		t.Fatal(err)
	}
	ps, _, err = nc.Permissions(t.Context())
	if err != nil || !slices.Equal(graph.Granted(ps), []string{"instagram_basic"}) {
		t.Fatalf("narrow token: %v %v", ps, err)
	}

	ig, _, _ := discoveryClient(t, fakegraph.LoginInstagram)
	if _, _, err := ig.Permissions(t.Context()); err == nil {
		t.Fatal("Instagram Login answered /me/permissions")
	} else if code, _ := graphCode(err); code != 2500 {
		t.Fatalf("Instagram Login: %v", err)
	}
}

func TestGranted(t *testing.T) {
	ps := []graph.Permission{{"instagram_basic", "granted"}, {"instagram_content_publish", "declined"},
		{"pages_show_list", "expired"}, {"instagram_manage_comments", "granted"}}
	if got := graph.Granted(ps); !slices.Equal(got, []string{"instagram_basic", "instagram_manage_comments"}) {
		t.Fatalf("Granted = %v", got)
	}
}
