package auth

import (
	"fmt"
	"slices"
	"strings"
)

// Current permissions (docs/graph-api.md §1). The pre-2025 Instagram
// scopes (business_basic, …) stopped working on 2025-01-27 and are refused.
var (
	instagramScopes = []string{
		"instagram_business_basic", "instagram_business_content_publish", "instagram_business_manage_comments",
		"instagram_business_manage_insights", "instagram_business_manage_messages",
	}
	facebookScopes = []string{
		"instagram_basic", "instagram_content_publish", "instagram_manage_comments", "instagram_manage_insights",
		"instagram_manage_messages", "instagram_manage_contents", "pages_show_list", "pages_read_engagement",
		"business_management", "ads_management", "ads_read",
	}
	retiredScopes = map[string]string{
		"business_basic":           "instagram_business_basic",
		"business_content_publish": "instagram_business_content_publish",
		"business_manage_comments": "instagram_business_manage_comments",
		"business_manage_messages": "instagram_business_manage_messages",
	}
)

// DefaultScopes is what `igmcp auth login` asks for: everything the tools
// use (publish, comments, insights) and, for Facebook Login, what finding
// the Instagram account through the user's Pages needs.
func DefaultScopes(l Login) []string {
	if l == LoginInstagram {
		return []string{"instagram_business_basic", "instagram_business_content_publish",
			"instagram_business_manage_comments", "instagram_business_manage_insights"}
	}
	return []string{"instagram_basic", "instagram_content_publish", "instagram_manage_comments",
		"instagram_manage_insights", "pages_show_list", "pages_read_engagement"}
}

// ParseScopes validates a comma list of scopes for the login flow; empty
// means DefaultScopes.
func ParseScopes(l Login, s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if repl, ok := retiredScopes[f]; ok {
			return nil, fmt.Errorf("scope %s was retired on 2025-01-27; use %s", f, repl)
		}
		valid := facebookScopes
		if l == LoginInstagram {
			valid = instagramScopes
		}
		if !slices.Contains(valid, f) {
			return nil, fmt.Errorf("scope %q is not a %s Login permission (known: %s)", f, l.Title(), strings.Join(valid, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return DefaultScopes(l), nil
	}
	return out, nil
}

// Scopes are the permissions a call needs under each login flow. Every tool
// declares its Scopes where it is defined (package tools); a login flow
// missing from the map is "not declared", an empty list "needs nothing".
// Only permissions Meta documents as required for the endpoints a tool calls
// are listed (docs/graph-api.md §1, §5, §7, §8, §9): a stricter list would
// refuse calls Instagram accepts.
type Scopes map[Login][]string

// Logins are the login flows every Scopes declaration covers.
func Logins() []Login { return []Login{LoginFacebook, LoginInstagram} }

// Declared reports whether s names the needs of every login flow.
func (s Scopes) Declared() bool {
	for _, l := range Logins() {
		if _, ok := s[l]; !ok {
			return false
		}
	}
	return true
}

// Missing is what of s[l] granted lacks. An empty granted list means
// "unknown" (a token whose scopes could not be read): nothing is reported
// missing, and Instagram decides.
func (s Scopes) Missing(l Login, granted []string) []string {
	if len(granted) == 0 {
		return nil
	}
	var out []string
	for _, sc := range s[l] {
		if !slices.Contains(granted, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// The sets the tools declare. Functions, not variables, so no caller can
// change what another one reads.

// NoScopes: the tool reads only igmcp's own state (or treats a failed
// Instagram read as a field of its result), so nothing is checked up front.
func NoScopes() Scopes { return Scopes{LoginFacebook: {}, LoginInstagram: {}} }

// BasicScopes: reading the account's own media, containers and publishing
// quota (docs/graph-api.md §3, §5, §9).
func BasicScopes() Scopes {
	return Scopes{LoginFacebook: {"instagram_basic"}, LoginInstagram: {"instagram_business_basic"}}
}

// PublishScopes: containers and media_publish (docs/graph-api.md §1, §2, §4).
func PublishScopes() Scopes {
	return Scopes{
		LoginFacebook:  {"instagram_basic", "instagram_content_publish"},
		LoginInstagram: {"instagram_business_basic", "instagram_business_content_publish"},
	}
}

// CommentScopes: reading and writing comments, and the @mentions of the
// account (docs/graph-api.md §7, §9).
func CommentScopes() Scopes {
	return Scopes{
		LoginFacebook:  {"instagram_basic", "instagram_manage_comments", "pages_read_engagement"},
		LoginInstagram: {"instagram_business_basic", "instagram_business_manage_comments"},
	}
}

// InsightScopes: media and account insights (docs/graph-api.md §8).
func InsightScopes() Scopes {
	return Scopes{
		LoginFacebook:  {"instagram_basic", "instagram_manage_insights"},
		LoginInstagram: {"instagram_business_basic", "instagram_business_manage_insights"},
	}
}

// FacebookOnlyScopes: hashtag search and business discovery, which exist
// only with Facebook Login (docs/graph-api.md §1, §9). Instagram Login needs
// nothing checked: the tools refuse it themselves, saying why.
func FacebookOnlyScopes(facebook ...string) Scopes {
	return Scopes{LoginFacebook: facebook, LoginInstagram: {}}
}
