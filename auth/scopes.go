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

// toolScopes is the permission each tool needs, per login flow. Only
// permissions Meta documents as required for the endpoints a tool calls are
// listed (docs/graph-api.md §1, §7): a stricter table would refuse calls
// Instagram accepts.
var toolScopes = map[string]map[Login][]string{
	"create_post":          publishScopes,
	"create_carousel":      publishScopes,
	"publish_reel":         publishScopes,
	"publish_story":        publishScopes,
	"publish_container":    publishScopes,
	"get_container_status": basicScopes,
	"get_publishing_limit": basicScopes,
	"reply_comment": {
		LoginFacebook:  {"instagram_basic", "instagram_manage_comments", "pages_read_engagement"},
		LoginInstagram: {"instagram_business_basic", "instagram_business_manage_comments"},
	},
	"get_insights": {
		LoginFacebook:  {"instagram_basic", "instagram_manage_insights"},
		LoginInstagram: {"instagram_business_basic", "instagram_business_manage_insights"},
	},
	// list_accounts reads the token store; its quota read failing is a
	// per-account field, so it needs nothing up front.
	"list_accounts": {},
}

var (
	publishScopes = map[Login][]string{
		LoginFacebook:  {"instagram_basic", "instagram_content_publish"},
		LoginInstagram: {"instagram_business_basic", "instagram_business_content_publish"},
	}
	basicScopes = map[Login][]string{
		LoginFacebook:  {"instagram_basic"},
		LoginInstagram: {"instagram_business_basic"},
	}
)

// RequiredScopes is what the tool needs under the login flow; nil for a
// tool the table does not know (nothing is checked for it).
func RequiredScopes(l Login, tool string) []string {
	return slices.Clone(toolScopes[tool][l])
}

// MissingScopes is what of RequiredScopes granted lacks. An empty granted
// list means "unknown" (a token whose scopes could not be read): nothing is
// reported missing, and Instagram decides.
func MissingScopes(l Login, tool string, granted []string) []string {
	if len(granted) == 0 {
		return nil
	}
	var out []string
	for _, sc := range toolScopes[tool][l] {
		if !slices.Contains(granted, sc) {
			out = append(out, sc)
		}
	}
	return out
}
