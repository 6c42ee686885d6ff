// Package scope carries what the caller of one request may do — the grant of
// the HTTP bearer token it presented — from the transport to the tools.
//
// It is its own small package so that the HTTP layer (which authenticates)
// and the tools (which enforce) share one type without importing each other.
// A context without a grant is unrestricted: stdio and an unscoped
// IGMCP_HTTP_TOKEN act as every configured account with every exposed tool.
package scope

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Grant is what one token may do. The zero value allows everything.
type Grant struct {
	// Name labels the token in logs and messages; it is never the token.
	Name string
	// Accounts are the Instagram account ids or usernames the token may act
	// as; empty means every account this server has.
	Accounts []string
	// Toolsets are the toolsets whose tools the token may list and call;
	// empty means every exposed toolset.
	Toolsets []string
}

// AllAccounts reports whether the grant leaves accounts unrestricted.
func (g *Grant) AllAccounts() bool { return g == nil || len(g.Accounts) == 0 }

// Owner names the caller as the owner of what it creates (schedules,
// background jobs): the grant's name; "" for a caller without a grant
// (stdio, IGMCP_HTTP_TOKEN), who owns nothing apart and sees everything.
// A grant is never anonymous: one without a name still owns apart.
func (g *Grant) Owner() string {
	switch {
	case g == nil:
		return ""
	case g.Name == "":
		return "(unnamed token)"
	}
	return g.Name
}

// AllowsToolset reports whether tools of the toolset may be listed and called.
func (g *Grant) AllowsToolset(toolset string) bool {
	return g == nil || len(g.Toolsets) == 0 || slices.Contains(g.Toolsets, toolset)
}

// AllowsAccount reports whether the grant names the account directly, by id
// or (case-insensitively, with or without "@") by username. A false answer
// with an empty username is not final: the caller may know the username by
// another route (see tools' scope check).
func (g *Grant) AllowsAccount(id, username string) bool {
	if g.AllAccounts() {
		return true
	}
	username = Normalize(username)
	for _, a := range g.Accounts {
		a = Normalize(a)
		if a == "" {
			continue
		}
		if a == id || (username != "" && strings.EqualFold(a, username)) {
			return true
		}
	}
	return false
}

// Normalize trims an account name as the `account` argument is read.
func Normalize(name string) string {
	return strings.TrimPrefix(strings.TrimSpace(name), "@")
}

// Toolsets are the toolset names a grant may name (docs/reference.md §2):
// every IGMCP_TOOLSETS name, and context (list_accounts, list_activity).
func Toolsets() []string {
	return []string{"publish", "comments", "insights", "schedule", "discovery", "events", "context"}
}

// ParseToolset validates one toolset name of a grant: it must be one of
// Toolsets exactly (case and surrounding spaces aside). Anything else,
// "" and "all" included, is an error: a grant that does not name a real
// scope must never widen to everything.
func ParseToolset(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if slices.Contains(Toolsets(), n) {
		return n, nil
	}
	return "", fmt.Errorf("toolset %q is not one of %s (omit toolsets to allow every toolset)", name, strings.Join(Toolsets(), ", "))
}

// ParseAccount validates one account of a grant: an Instagram account id
// (digits) or a username (letters, digits, '.' and '_', at most 30), with
// or without one leading "@". "", "@" and anything else is an error, for
// the same reason as ParseToolset.
func ParseAccount(name string) (string, error) {
	n := Normalize(name)
	ok := n != "" && len(n) <= 30
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_') {
			ok = false
		}
	}
	if !ok {
		return "", fmt.Errorf("account %q is not an Instagram account id or username (omit accounts to allow every account)", name)
	}
	return n, nil
}

type grantKey struct{}

// With returns ctx carrying the grant.
func With(ctx context.Context, g *Grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// From returns the grant in ctx, or nil (unrestricted) when there is none.
func From(ctx context.Context) *Grant {
	g, _ := ctx.Value(grantKey{}).(*Grant)
	return g
}
