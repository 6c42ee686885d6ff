package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	if d.Events != nil {
		s.AddResource(mcp.NewResource(EventsURI, "events",
			mcp.WithResourceTitle("Instagram webhook events"),
			mcp.WithResourceDescription("The newest events Meta's webhooks delivered for your accounts (comments, mentions, story insights, …), newest first; subscribe to hear when new ones arrive. Text by other users is in untrusted_* fields."),
			mcp.WithMIMEType("application/json"),
		), func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return jsonContents(req.Params.URI, readEvents(ctx, d))
		})
	}
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
// mcp-go acknowledges resources/subscribe (and, for 2026-07-28 clients,
// opens the subscriptions/listen stream) but leaves the bookkeeping to the
// server. Subscribers then get notifications/resources/updated: for the
// accounts resources after a publish (the quota moved), for
// instagram://events when events arrive.
//
// Sessions are kept as objects, not ids: a 2026-07-28 listen stream is
// served by a session no registry knows by id, and its notifications go
// through that session's own channel (mcp-go tags them with the
// subscription id on the stream). A URI counts the listen streams that
// name it: a client replacing its stream ends the old one after opening the
// new one on the same session (stdio, in process).
type subscriptions struct {
	mu        sync.Mutex
	bySession map[server.ClientSession]map[string]int
}

func newSubscriptions(h *server.Hooks) *subscriptions {
	s := &subscriptions{bySession: map[server.ClientSession]map[string]int{}}
	// resources/subscribe twice is one subscription; one unsubscribe ends it.
	h.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil && req != nil {
			s.update(sess, req.Params.URI, func(int) int { return 1 })
		}
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil && req != nil {
			s.update(sess, req.Params.URI, func(int) int { return 0 })
		}
	})
	// 2026-07-28: the subscriptions live as long as the listen request;
	// its context ends when the client closes the stream.
	h.AddBeforeSubscriptionsListen(func(ctx context.Context, _ any, req *mcp.SubscriptionsListenRequest) {
		sess := server.ClientSessionFromContext(ctx)
		if sess == nil || req == nil || len(req.Params.Notifications.ResourceSubscriptions) == 0 {
			return
		}
		uris := slices.Clone(req.Params.Notifications.ResourceSubscriptions)
		for _, uri := range uris {
			s.update(sess, uri, func(n int) int { return n + 1 })
		}
		context.AfterFunc(ctx, func() {
			for _, uri := range uris {
				s.update(sess, uri, func(n int) int { return n - 1 })
			}
		})
	})
	h.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.bySession, sess)
	})
	return s
}

// update sets the session's count for uri to f(count); 0 unsubscribes.
func (s *subscriptions) update(sess server.ClientSession, uri string, f func(int) int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uris := s.bySession[sess]
	if uris == nil {
		uris = map[string]int{}
		s.bySession[sess] = uris
	}
	if n := f(uris[uri]); n > 0 {
		uris[uri] = n
	} else {
		delete(uris, uri)
	}
	if len(uris) == 0 {
		delete(s.bySession, sess)
	}
}

// notify sends notifications/resources/updated to every session subscribed
// to a URI that match accepts. A session whose channel is full misses it:
// it has notifications to read already.
func (s *subscriptions) notify(match func(uri string) bool) {
	type target struct {
		sess server.ClientSession
		uri  string
	}
	var targets []target
	s.mu.Lock()
	for sess, uris := range s.bySession {
		for uri := range uris {
			if match(uri) {
				targets = append(targets, target{sess, uri})
			}
		}
	}
	s.mu.Unlock()
	for _, t := range targets {
		if up, ok := t.sess.(server.SessionWithStreamableHTTPConfig); ok {
			up.UpgradeToSSEWhenReceiveNotification()
		}
		n := mcp.JSONRPCNotification{JSONRPC: mcp.JSONRPC_VERSION, Notification: mcp.Notification{
			Method: string(mcp.MethodNotificationResourceUpdated),
			Params: mcp.NotificationParams{AdditionalFields: map[string]any{"uri": t.uri}},
		}}
		select {
		case t.sess.NotificationChannel() <- n:
		default:
		}
	}
}

// isAccountsURI matches the accounts resource and its template.
func isAccountsURI(uri string) bool {
	return uri == AccountsURI || strings.HasPrefix(uri, AccountsURI+"/")
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
