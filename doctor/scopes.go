package doctor

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/tools"
)

// need is what the exposed tools need under one login type, from the
// tools' own declarations (tools.Tool.Scopes).
type need struct {
	byToolset map[string][]string // toolset → permissions its exposed tools need
	all       []string            // the union, in declaration order
	// facebookOnly are exposed tools that need permissions under Facebook
	// Login and declare none under Instagram Login: they refuse Instagram
	// Login accounts themselves.
	facebookOnly []string
}

func (d *doctor) need(l auth.Login) need {
	n := need{byToolset: map[string][]string{}}
	for _, t := range tools.Select(tools.All(&tools.Deps{}), tools.Selection{Toolsets: d.toolsets, ReadOnly: d.cfg.ReadOnly}) {
		for _, sc := range t.Scopes[l] {
			if !slices.Contains(n.byToolset[t.Toolset], sc) {
				n.byToolset[t.Toolset] = append(n.byToolset[t.Toolset], sc)
			}
			if !slices.Contains(n.all, sc) {
				n.all = append(n.all, sc)
			}
		}
		if l == auth.LoginInstagram && len(t.Scopes[auth.LoginInstagram]) == 0 && len(t.Scopes[auth.LoginFacebook]) > 0 {
			n.facebookOnly = append(n.facebookOnly, t.Tool.Name)
		}
	}
	return n
}

// checkScopes compares the permissions the token was granted with what
// the exposed toolsets need.
func (d *doctor) checkScopes(ctx context.Context, ar *accountRun) Result {
	if !ar.accountOK {
		return skipped(CheckScopes, d.why(ar))
	}
	l := ar.t.login
	var granted []string
	var from string
	switch {
	case ar.debug != nil:
		granted, from = ar.debug.ScopesFor(ar.id, ar.pageID), "debug_token"
	case l == auth.LoginFacebook:
		ps, _, err := ar.client.Permissions(ctx)
		if ar.note(err) != nil {
			_, why := describe(err)
			return skipped(CheckScopes, "the token's permissions cannot be read: "+why)
		}
		granted, from = graph.Granted(ps), "me/permissions"
	case len(ar.t.scopes) > 0:
		granted, from = ar.t.scopes, "the token store (recorded at login)"
	default:
		return skipped(CheckScopes, "Instagram Login shows a token's permissions only at login, so those of a token from INSTAGRAM_ACCESS_TOKEN cannot be read; "+
			"`igmcp auth login --login instagram` records them")
	}
	n := d.need(l)
	var ts []string
	for t := range n.byToolset {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	missing := map[string][]string{}
	var lines []string
	for _, t := range ts {
		for _, sc := range n.byToolset[t] {
			if !slices.Contains(granted, sc) {
				missing[t] = append(missing[t], sc)
			}
		}
		if m := missing[t]; len(m) > 0 {
			lines = append(lines, t+" needs "+strings.Join(m, ", "))
		}
	}
	facts := map[string]any{"granted": granted, "from": from, "missing": missing}
	if len(missing) > 0 {
		ask := auth.DefaultScopes(l)
		for _, sc := range n.all {
			if !slices.Contains(ask, sc) {
				ask = append(ask, sc)
			}
		}
		cmd := "`igmcp auth login --login " + string(l) + " --scopes " + strings.Join(ask, ",") + "`"
		fix := "log in again granting them: " + cmd
		if ar.t.fromEnv {
			fix = "get a token granting them (e.g. " + cmd + " and unset INSTAGRAM_ACCESS_TOKEN), or leave those toolsets out of IGMCP_TOOLSETS"
		}
		return Result{Name: CheckScopes, Status: Fail, Detail: "missing permissions: " + strings.Join(lines, "; "), Fix: fix, Facts: facts}
	}
	if len(n.facebookOnly) > 0 {
		return Result{Name: CheckScopes, Status: Warn, Facts: facts,
			Detail: "every needed permission is granted, but " + strings.Join(n.facebookOnly, ", ") + " work only with Facebook Login and will refuse this account",
			Fix:    "use a Facebook Login account for them, or leave their toolset out of IGMCP_TOOLSETS"}
	}
	return Result{Name: CheckScopes, Status: OK, Facts: facts,
		Detail: "every permission the exposed toolsets (" + strings.Join(d.toolsets, ",") + ") need is granted (from " + from + ")"}
}
