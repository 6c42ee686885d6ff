package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/scope"
)

// Resource URIs.
const (
	AccountsURI        = "igmcp://accounts"
	accountURITemplate = "igmcp://accounts/{account}"
)

// AccountLister is implemented by account sources that can name every
// account they hold (auth.Single does; a token store will). Without it the
// accounts resource shows the default account only.
type AccountLister interface {
	List(ctx context.Context) ([]*auth.Account, error)
}

// AccountInfo is one entry of the accounts resource.
type AccountInfo struct {
	ID       string `json:"id"`
	Username string `json:"username,omitempty"`
	Login    string `json:"login,omitempty"`
	// PublishingLimit is the content publishing quota; QuotaError says why
	// it could not be read (the account is still listed).
	PublishingLimit *Quota         `json:"publishing_limit,omitempty"`
	QuotaError      *failure.Error `json:"publishing_limit_error,omitempty"`
}

// accountsDoc is the JSON body of the resources. Error explains an empty
// list (no token configured, token expired) in the docs/reference.md §4 shape, so an
// agent reading the resource knows what to do, as it would from a tool.
type accountsDoc struct {
	Accounts []AccountInfo  `json:"accounts"`
	Error    *failure.Error `json:"error,omitempty"`
	Sandbox  bool           `json:"sandbox,omitempty"`
}

// addResources registers the accounts resource and its per-account template.
// Both read live from Instagram on each read (the quota moves with every
// post), and both show only what the caller's token may act as.
func addResources(s *server.MCPServer, d *Deps) {
	s.AddResource(mcp.NewResource(AccountsURI, "accounts",
		mcp.WithResourceTitle("Instagram accounts"),
		mcp.WithResourceDescription("The Instagram accounts this server can act as for you, with each one's content publishing quota (posts used and allowed in the rolling 24 hours)."),
		mcp.WithMIMEType("application/json"),
	), func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return jsonContents(req.Params.URI, listAccounts(ctx, d))
	})
	s.AddResourceTemplate(mcp.NewResourceTemplate(accountURITemplate, "account",
		mcp.WithTemplateTitle("One Instagram account"),
		mcp.WithTemplateDescription("One account (by id or username) with its content publishing quota."),
		mcp.WithTemplateMIMEType("application/json"),
	), func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		name, _ := req.Params.Arguments["account"].(string)
		if vals, ok := req.Params.Arguments["account"].([]string); ok && len(vals) > 0 {
			name = vals[0]
		}
		return jsonContents(req.Params.URI, oneAccount(ctx, d, name))
	})
}

func listAccounts(ctx context.Context, d *Deps) accountsDoc {
	doc := accountsDoc{Accounts: []AccountInfo{}, Sandbox: d.Sandbox}
	accts, err := visibleAccounts(ctx, d)
	if err != nil {
		doc.Error = failure.Classify(err)
		return doc
	}
	for _, a := range accts {
		doc.Accounts = append(doc.Accounts, accountInfo(ctx, a))
	}
	return doc
}

// visibleAccounts are the accounts the caller's grant allows, from the
// lister when there is one, else the default account. An error explains an
// empty list (e.g. auth_expired without a token).
func visibleAccounts(ctx context.Context, d *Deps) ([]*auth.Account, error) {
	var accts []*auth.Account
	if l, ok := d.Accounts.(AccountLister); ok {
		list, err := l.List(ctx)
		if err != nil {
			return nil, err
		}
		accts = list
	}
	if len(accts) == 0 {
		a, err := d.Accounts.Resolve(ctx, "")
		if err != nil {
			return nil, err
		}
		accts = []*auth.Account{a}
	}
	g := scope.From(ctx)
	if g == nil {
		return accts, nil
	}
	// A new slice: the lister's own may be shared.
	var out []*auth.Account
	for _, a := range accts {
		if grantAllows(ctx, d, g, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// listAccountsNoQuota is visibleAccounts without the error, for completions.
func listAccountsNoQuota(ctx context.Context, d *Deps) []*auth.Account {
	accts, _ := visibleAccounts(ctx, d)
	return accts
}

// subscriptions remembers which sessions subscribed to which resources:
// mcp-go acknowledges resources/subscribe but leaves the bookkeeping to the
// server. After a publish the quota moved, so subscribers of the accounts
// resources get notifications/resources/updated (sessions of the 2025
// protocol era; 2026-07-28 clients re-read instead).
type subscriptions struct {
	mu        sync.Mutex
	bySession map[string]map[string]bool
}

func newSubscriptions(h *server.Hooks) *subscriptions {
	s := &subscriptions{bySession: map[string]map[string]bool{}}
	h.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil && req != nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.bySession[sess.SessionID()] == nil {
				s.bySession[sess.SessionID()] = map[string]bool{}
			}
			s.bySession[sess.SessionID()][req.Params.URI] = true
		}
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil && req != nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.bySession[sess.SessionID()], req.Params.URI)
		}
	})
	h.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.bySession, sess.SessionID())
	})
	return s
}

// accountsChanged notifies every subscriber of an accounts resource.
func (s *subscriptions) accountsChanged(srv *server.MCPServer) {
	if srv == nil {
		return
	}
	type target struct{ session, uri string }
	var targets []target
	s.mu.Lock()
	for sid, uris := range s.bySession {
		for uri := range uris {
			if uri == AccountsURI || strings.HasPrefix(uri, AccountsURI+"/") {
				targets = append(targets, target{sid, uri})
			}
		}
	}
	s.mu.Unlock()
	for _, t := range targets {
		_ = srv.SendNotificationToSpecificClient(t.session, string(mcp.MethodNotificationResourceUpdated), map[string]any{"uri": t.uri})
	}
}

func oneAccount(ctx context.Context, d *Deps, name string) accountsDoc {
	doc := accountsDoc{Accounts: []AccountInfo{}, Sandbox: d.Sandbox}
	a, err := d.Accounts.Resolve(ctx, name)
	if err != nil {
		doc.Error = failure.Classify(err)
		return doc
	}
	if g := scope.From(ctx); g != nil && !grantAllows(ctx, d, g, a) {
		doc.Error = denied(g, fmt.Sprintf("This token may not act as account %s.", scope.Normalize(name)))
		return doc
	}
	doc.Accounts = append(doc.Accounts, accountInfo(ctx, a))
	return doc
}

func accountInfo(ctx context.Context, a *auth.Account) AccountInfo {
	info := AccountInfo{ID: a.ID, Username: a.Username, Login: string(a.Login)}
	if a.Client == nil {
		return info
	}
	q, err := readQuota(ctx, a)
	if err != nil {
		info.QuotaError = failure.Classify(err)
		return info
	}
	info.PublishingLimit = q
	return info
}

func jsonContents(uri string, v any) ([]mcp.ResourceContents, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "application/json", Text: string(b)}}, nil
}
