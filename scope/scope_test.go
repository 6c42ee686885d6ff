package scope

import "testing"

// Owner names who owns what a caller creates: nobody apart for a caller
// without a grant, the grant's name otherwise, and never "" for a grant.
func TestOwner(t *testing.T) {
	for _, tc := range []struct {
		g    *Grant
		want string
	}{
		{nil, ""},
		{&Grant{Name: "team-a"}, "team-a"},
		{&Grant{Name: "team-a", Accounts: []string{"brand_a"}}, "team-a"},
		{&Grant{}, "(unnamed token)"},
	} {
		if got := tc.g.Owner(); got != tc.want {
			t.Errorf("%+v: owner %q, want %q", tc.g, got, tc.want)
		}
	}
}
