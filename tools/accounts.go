package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/scope"
)

// AccountDescriber is implemented by account sources that know each
// account's token expiry and scopes (auth.Registry, auth.Single).
type AccountDescriber interface {
	ListAccounts(ctx context.Context) ([]auth.AccountInfo, error)
}

// ScopeChecker is implemented by account sources that know the permissions
// each account's token was granted (auth.Registry): it refuses a call whose
// account lacks one of need.
type ScopeChecker interface {
	CheckScopes(ctx context.Context, account, tool string, need auth.Scopes) error
}

type listAccountsArgs struct {
	Account string `json:"account,omitempty" jsonschema_description:"Only this account (username or id)."`
}

// AccountsResult is the list_accounts result.
type AccountsResult struct {
	Accounts []AccountSummary `json:"accounts" jsonschema_description:"The accounts this server can act as."`
}

// AccountSummary is one account: who it is, its token and what it may still
// publish. (Output schemas carry no descriptions; the field comments are for
// readers of this file.)
type AccountSummary struct {
	ID       string `json:"id"`
	Username string `json:"username,omitempty"`
	// Login is the token's login flow.
	Login string `json:"login" jsonschema:"enum=facebook,enum=instagram"`
	// Default: tools act as this account when no account argument is given.
	Default bool `json:"default"`
	// TokenExpiresAt is RFC 3339; absent when the token never expires or
	// the expiry is unknown. The server renews tokens well before it.
	TokenExpiresAt string `json:"token_expires_at,omitempty"`
	// TokenStatus: active, expired, rejected (Instagram refused it),
	// refresh_failing (works, renewal failing) or unknown (token from
	// INSTAGRAM_ACCESS_TOKEN).
	TokenStatus string `json:"token_status" jsonschema:"enum=active,enum=expired,enum=rejected,enum=refresh_failing,enum=unknown"`
	// Scopes are the granted permissions; empty when unknown.
	Scopes []string `json:"scopes"`
	// Action says what to do when TokenStatus is not active.
	Action string `json:"action,omitempty"`
	// PublishingLimit is read live from Instagram; a failed read is
	// PublishingLimitError, not a tool error.
	PublishingLimit      *Quota      `json:"publishing_limit,omitempty"`
	PublishingLimitError *QuotaError `json:"publishing_limit_error,omitempty"`
}

// QuotaError is why an account's quota could not be read: the kind and
// message of the docs/reference.md §4 error.
type QuotaError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// ListAccounts shows every account this server can act as, with its token
// state, scopes and remaining publishing quota.
func ListAccounts(d *Deps) Tool {
	return newTool[listAccountsArgs, AccountsResult](d, "list_accounts",
		"Accounts this server acts as, with token state and quota.",
		annotations{readOnly: true, idempotent: true}, auth.NoScopes(),
		func(ctx context.Context, c *call, a *listAccountsArgs) (any, string, error) {
			infos, err := describeAccounts(ctx, d)
			if err != nil {
				return nil, "", err
			}
			// a token scoped to some accounts (igmcp http) sees only those
			if g := scope.From(ctx); g != nil && !g.AllAccounts() {
				infos = slices.DeleteFunc(infos, func(in auth.AccountInfo) bool {
					return in.Account == nil || !grantAllows(ctx, d, g, in.Account)
				})
			}
			if strings.TrimSpace(a.Account) != "" {
				one, err := c.account(ctx)
				if err != nil {
					return nil, "", err
				}
				kept := infos[:0]
				for _, in := range infos {
					if in.Account != nil && in.Account.ID == one.ID {
						kept = append(kept, in)
					}
				}
				infos = kept
			}
			res := AccountsResult{Accounts: make([]AccountSummary, len(infos))}
			var wg sync.WaitGroup
			for i, in := range infos {
				res.Accounts[i] = summarize(in)
				wg.Go(func() { accountQuota(ctx, in.Account, &res.Accounts[i]) })
			}
			wg.Wait()
			return res, accountsText(res), nil
		})
}

// describeAccounts asks the source for every account; a source that only
// resolves gives its default account.
func describeAccounts(ctx context.Context, d *Deps) ([]auth.AccountInfo, error) {
	if ad, ok := d.Accounts.(AccountDescriber); ok {
		return ad.ListAccounts(ctx)
	}
	a, err := d.Accounts.Resolve(ctx, "")
	if err != nil {
		return nil, err
	}
	return []auth.AccountInfo{{Account: a, Default: true, Source: "env", Status: auth.TokenUnknown}}, nil
}

func summarize(in auth.AccountInfo) AccountSummary {
	s := AccountSummary{Default: in.Default, TokenStatus: string(in.Status), Scopes: in.Scopes, Action: in.Action}
	if s.Scopes == nil {
		s.Scopes = []string{}
	}
	if in.Account != nil {
		s.ID, s.Username, s.Login = in.Account.ID, in.Account.Username, string(in.Account.Login)
	}
	if !in.Expiry.IsZero() {
		s.TokenExpiresAt = in.Expiry.UTC().Format(time.RFC3339)
	}
	return s
}

// accountQuota reads the account's publishing quota; a failure is recorded
// on the account, never a tool error.
func accountQuota(ctx context.Context, a *auth.Account, s *AccountSummary) {
	if a == nil || a.Client == nil {
		s.PublishingLimitError = &QuotaError{Kind: string(failure.AuthExpired), Message: "No Graph client for this account."}
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	q, err := readQuota(ctx, a)
	if err != nil {
		fe := failure.Classify(err)
		s.PublishingLimitError = &QuotaError{Kind: string(fe.Kind), Message: fe.Message}
		return
	}
	s.PublishingLimit = q
}

func accountsText(r AccountsResult) string {
	if len(r.Accounts) == 0 {
		return "no accounts"
	}
	parts := make([]string, 0, len(r.Accounts))
	for _, a := range r.Accounts {
		p := a.ID
		if a.Username != "" {
			p = "@" + a.Username + " (" + a.ID + ")"
		}
		p += " " + a.Login + " token " + a.TokenStatus
		if a.TokenExpiresAt != "" {
			p += " until " + a.TokenExpiresAt
		}
		if a.PublishingLimit != nil {
			p += fmt.Sprintf(", %d of %s left", a.PublishingLimit.Remaining, count(a.PublishingLimit.Total, "post", "posts"))
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// checkScopes refuses a call, before anything reaches Instagram, when the
// stored scopes of the account it would act as lack a permission the tool
// declares (Tool.Scopes): permission_denied naming the scope and the login
// command that grants it. It only acts when the account source knows scopes
// (auth.Registry).
func checkScopes(d *Deps, byName map[string]Tool) server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			sc, ok := d.Accounts.(ScopeChecker)
			t, known := byName[req.Params.Name]
			if !ok || !known {
				return next(ctx, req)
			}
			ca := accountOf(ctx, req)
			if ca.bad != nil {
				return next(ctx, req) // the tool reports malformed arguments itself
			}
			if err := sc.CheckScopes(ctx, ca.name, req.Params.Name, t.Scopes); err != nil {
				return errorResult(err), nil
			}
			return next(ctx, req)
		}
	}
}
