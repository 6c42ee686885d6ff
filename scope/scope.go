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
