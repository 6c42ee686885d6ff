package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
)

// RegistryConfig wires a Registry.
type RegistryConfig struct {
	Tokens *TokenStore
	// OAuth renews tokens; without the app secret only Instagram Login
	// tokens can be renewed.
	OAuth *OAuth
	// GraphOptions are an account's Graph client options (host for its
	// login flow, version, HTTP client, app secret, rate limiter). The
	// registry adds the token source and the 190 hook.
	GraphOptions func(accountID string, login Login) []graph.Option
	// Default names the account a call without `account` acts as (id or
	// username); empty: the only account.
	Default string
	Policy  RefreshPolicy
	Now     func() time.Time
	Logger  *slog.Logger
}

// RefreshPolicy says when tokens are renewed. Zero fields take defaults.
type RefreshPolicy struct {
	// Before: renew once less than this is left (at most half of the
	// token's lifetime). Default 30 days: a 60-day token is renewed about
	// monthly, leaving a month to notice and fix a failing renewal.
	Before time.Duration
	// MinAge: Instagram refreshes only tokens at least 24 h old.
	MinAge time.Duration
	// RetryMin and RetryMax bound the backoff after a failed renewal.
	RetryMin, RetryMax time.Duration
	// Poll is how often the refresher re-reads the store (tokens renewed
	// or added by another process) and the clock. Default 1 minute.
	Poll time.Duration
	// RejectHold is how long a token Instagram refused (190) is not sent
	// again, unless a new one appears in the store. Default 5 minutes.
	RejectHold time.Duration
}

func (p RefreshPolicy) withDefaults() RefreshPolicy {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.Before, 30*24*time.Hour)
	def(&p.MinAge, 24*time.Hour+time.Minute)
	def(&p.RetryMin, 5*time.Minute)
	def(&p.RetryMax, 6*time.Hour)
	def(&p.Poll, time.Minute)
	def(&p.RejectHold, 5*time.Minute)
	return p
}

// Registry is the set of stored accounts the server acts as. It resolves
// the tools' `account` argument, gives each account a Graph client whose
// token source reads the current token on every request, renews tokens in
// the background (Run) and repairs a rejected token when it can (190).
// It is safe for concurrent use.
type Registry struct {
	cfg    RegistryConfig
	policy RefreshPolicy
	log    *slog.Logger
	kick   chan struct{}

	mu      sync.Mutex
	entries map[string]*entry
}

// NewRegistry loads the stored accounts; it calls nothing at Instagram.
func NewRegistry(ctx context.Context, cfg RegistryConfig) (*Registry, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("auth: registry without a token store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OAuth == nil {
		cfg.OAuth = NewOAuth(OAuthConfig{Now: cfg.Now})
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{cfg: cfg, policy: cfg.Policy.withDefaults(), log: log, kick: make(chan struct{}, 1), entries: map[string]*entry{}}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Len is the number of accounts.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

func (r *Registry) now() time.Time { return r.cfg.Now() }

// entry is one account: its record, its client and its renewal state.
type entry struct {
	r  *Registry
	id string

	refreshMu sync.Mutex // one renewal at a time

	mu        sync.Mutex
	rec       Record
	acct      *Account
	changedAt time.Time // when rec.Token last changed in memory
	// a token Instagram refused and no renewal repaired
	rejected    Secret
	rejectedAt  time.Time
	rejectedSub int
	// renewal state
	retryAt    time.Time
	failures   int
	lastErr    string
	lastReauth time.Time
}

// Token implements oauth2.TokenSource; the Graph client asks it on every
// request, so a renewed token is used from the next request on. A token
// past its expiry, or refused by Instagram a moment ago, is not sent: the
// call fails at once with auth_expired naming the command to run.
func (e *entry) Token() (*oauth2.Token, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.r.now()
	if !e.rec.Expiry.IsZero() && !now.Before(e.rec.Expiry) {
		return nil, e.expiredErr()
	}
	if e.rejected != "" && e.rejected == e.rec.Token && now.Sub(e.rejectedAt) < e.r.policy.RejectHold {
		return nil, e.rejectedErr()
	}
	return &oauth2.Token{AccessToken: e.rec.Token.Reveal(), TokenType: "Bearer", Expiry: e.rec.Expiry}, nil
}

func (e *entry) who() string { return describeAccount(e.rec.Username, e.rec.AccountID) }

func (e *entry) loginAction() string {
	cmd := e.rec.Login.LoginCommand()
	return fmt.Sprintf("Run `%s` to log %s in again (or `igmcp auth add --login %s` with a new token); the running server uses the new token on the next call, no restart needed.",
		cmd, e.who(), e.rec.Login)
}

func (e *entry) expiredErr() error {
	fe := failure.New(failure.AuthExpired, fmt.Sprintf("The %s Login token of %s expired on %s and can no longer be renewed.",
		e.rec.Login.Title(), e.who(), e.rec.Expiry.UTC().Format(time.RFC3339)))
	fe.Action = e.loginAction()
	return fe
}

func (e *entry) rejectedErr() error {
	fe := failure.New(failure.AuthExpired, fmt.Sprintf("Instagram rejected the %s Login token of %s (error 190, subcode %d) and renewing it did not help.",
		e.rec.Login.Title(), e.who(), e.rejectedSub))
	fe.Action = e.loginAction()
	if e.rejectedSub == 459 || e.rejectedSub == 464 {
		fe.Action = "The user must log in to Instagram/Facebook in a browser and clear the security checkpoint, then run `" +
			e.rec.Login.LoginCommand() + "`; the running server uses the new token on the next call."
	}
	return fe
}

// account is the current view of the account for the tools.
func (e *entry) account() *Account {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.acct
}

func (e *entry) record() Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.rec
	r.Scopes = slices.Clone(r.Scopes)
	return r
}

// set adopts a record (from the store or a renewal); a new token clears
// the rejection and the renewal failures.
func (e *entry) set(rec Record, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rec.Token != e.rec.Token {
		if e.rec.Token != "" {
			e.changedAt = now
		}
		e.rejected, e.failures, e.lastErr, e.retryAt = "", 0, "", time.Time{}
	}
	e.rec = rec
	if e.acct == nil || e.acct.Username != rec.Username || e.acct.Login != rec.Login {
		var c *graph.Client
		if e.acct != nil && e.acct.Login == rec.Login {
			c = e.acct.Client
		}
		if c == nil {
			var err error
			if c, err = e.r.newClient(e, rec.Login); err != nil {
				e.r.log.Error("cannot build the Graph client", "account", rec.AccountID, "err", err)
			}
		}
		e.acct = &Account{ID: rec.AccountID, Username: rec.Username, Login: rec.Login, Client: c}
	}
}

func (r *Registry) newClient(e *entry, l Login) (*graph.Client, error) {
	var opts []graph.Option
	if r.cfg.GraphOptions != nil {
		opts = r.cfg.GraphOptions(e.id, l)
	} else {
		opts = []graph.Option{graph.WithBaseURL(l.GraphURL())}
	}
	opts = append(opts, graph.WithTokenSource(e), graph.WithReauth(e.reauth))
	return graph.NewClient(opts...)
}

// Reload reads the store: accounts added, renewed or removed by another
// process (igmcp auth login/refresh/remove) take effect here.
func (r *Registry) Reload(ctx context.Context) error {
	recs, err := r.cfg.Tokens.List(ctx)
	if err != nil {
		return err
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, rec := range recs {
		seen[rec.AccountID] = true
		e := r.entries[rec.AccountID]
		if e == nil {
			e = &entry{r: r, id: rec.AccountID}
			r.entries[rec.AccountID] = e
			e.set(rec, now)
			continue
		}
		cur := e.record()
		if cur.Token != rec.Token || !cur.UpdatedAt.Equal(rec.UpdatedAt) {
			e.set(rec, now)
		}
	}
	for id := range r.entries {
		if !seen[id] {
			delete(r.entries, id)
		}
	}
	return nil
}

// reloadEntry re-reads one account; it reports whether the token changed.
func (r *Registry) reloadEntry(ctx context.Context, e *entry) bool {
	rec, err := r.cfg.Tokens.Get(ctx, e.id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			r.log.Warn("cannot read the stored token", "account", e.id, "err", err)
		}
		return false
	}
	cur := e.record()
	if rec.Token == cur.Token && rec.UpdatedAt.Equal(cur.UpdatedAt) {
		return false
	}
	e.set(rec, r.now())
	return rec.Token != cur.Token
}

func (r *Registry) sorted() []*entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*entry, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// lookup finds the account a name selects; retry says a reload may help.
func (r *Registry) lookup(name string) (e *entry, err error, retry bool) {
	name = strings.TrimPrefix(strings.TrimSpace(name), "@")
	all := r.sorted()
	if len(all) == 0 {
		fe := failure.New(failure.AuthExpired, "No Instagram account is set up on this server.")
		fe.Action = "Run `igmcp auth login --login facebook` (or `--login instagram`) on this machine, or set INSTAGRAM_ACCESS_TOKEN; accounts logged in while the server runs are used at once."
		return nil, fe, true
	}
	names := func() string {
		var s []string
		for _, e := range all {
			s = append(s, e.who())
		}
		return strings.Join(s, ", ")
	}
	byDefault := false
	if name == "" {
		if r.cfg.Default != "" {
			name, byDefault = strings.TrimPrefix(strings.TrimSpace(r.cfg.Default), "@"), true
		} else if len(all) == 1 {
			return all[0], nil, false
		} else {
			fe := failure.Invalid("account", "this server acts as several accounts (%s): say which one", names())
			fe.Action = "Call the tool again with `account` set to one of the usernames or ids listed (list_accounts shows them), or set IGMCP_DEFAULT_ACCOUNT."
			return nil, fe, false
		}
	}
	for _, e := range all {
		rec := e.record()
		if rec.AccountID == name || (rec.Username != "" && strings.EqualFold(rec.Username, name)) {
			return e, nil, false
		}
	}
	fe := failure.Invalid("account", "unknown account %q: this server acts as %s", name, names())
	fe.Action = "Call the tool again with `account` set to one of the listed usernames or ids, or log the account in with `igmcp auth login`."
	if byDefault {
		fe.Message = fmt.Sprintf("the default account %q (IGMCP_DEFAULT_ACCOUNT or INSTAGRAM_USER_ID) is not one this server acts as: %s", name, names())
		fe.Action = "Call the tool again with `account` set to one of the listed usernames or ids; the server's operator should fix IGMCP_DEFAULT_ACCOUNT."
	}
	return nil, fe, true
}

// Resolve returns the account named by a tool's `account` argument (id or
// username, with or without @; empty = the default or only account).
func (r *Registry) Resolve(ctx context.Context, name string) (*Account, error) {
	e, err, retry := r.lookup(name)
	if err != nil && retry {
		if rerr := r.Reload(ctx); rerr == nil {
			e, err, _ = r.lookup(name)
		}
	}
	if err != nil {
		return nil, err
	}
	if !e.usable(r.now()) {
		// a new login may have replaced the dead token
		r.reloadEntry(ctx, e)
	}
	a := e.account()
	if a.Client == nil {
		return nil, failure.New(failure.Upstream, "The Graph client of "+e.who()+" could not be built; see the server log.")
	}
	return a, nil
}

func (e *entry) usable(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.rec.Expiry.IsZero() && !now.Before(e.rec.Expiry) {
		return false
	}
	return e.rejected == "" || e.rejected != e.rec.Token
}

// CheckScopes refuses a tool call before it reaches Instagram when the
// selected account's stored scopes lack a permission the tool needs (need,
// the tool's declaration): permission_denied naming it. Unknown accounts
// and accounts whose scopes are unknown pass: the tool then reports what
// Instagram says.
func (r *Registry) CheckScopes(_ context.Context, account, tool string, need Scopes) error {
	e, err, _ := r.lookup(account)
	if err != nil {
		return nil
	}
	rec := e.record()
	missing := need.Missing(rec.Login, rec.Scopes)
	if len(missing) == 0 {
		return nil
	}
	list := strings.Join(missing, ", ")
	fe := failure.New(failure.PermissionDenied, fmt.Sprintf("The token of %s lacks the permission %s, which %s needs.", e.who(), list, tool))
	fe.Action = fmt.Sprintf("Run `%s --scopes %s` and grant %s in the dialog (the Meta app must offer it), then call the tool again; the running server uses the new token at once.",
		rec.Login.LoginCommand(), strings.Join(union(rec.Scopes, missing), ","), list)
	return fe
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ListAccounts describes every account (re-reading the store first).
func (r *Registry) ListAccounts(ctx context.Context) ([]AccountInfo, error) {
	if err := r.Reload(ctx); err != nil {
		r.log.Warn("cannot re-read the token store", "err", err)
	}
	var def *entry
	if r.cfg.Default != "" {
		def, _, _ = r.lookup(r.cfg.Default)
	}
	all := r.sorted()
	now := r.now()
	out := make([]AccountInfo, 0, len(all))
	for _, e := range all {
		info := r.info(e, now)
		info.Default = e == def || (def == nil && len(all) == 1)
		out = append(out, info)
	}
	return out, nil
}

func (r *Registry) info(e *entry, now time.Time) AccountInfo {
	rec := e.record()
	next, _ := r.nextRefresh(e, now)
	e.mu.Lock()
	info := AccountInfo{Account: e.acct, Source: "store", Expiry: rec.Expiry, Scopes: rec.Scopes,
		Status: TokenActive, NextRefresh: next, RefreshError: e.lastErr}
	switch {
	case !rec.Expiry.IsZero() && !now.Before(rec.Expiry):
		info.Status = TokenExpired
	case e.rejected != "" && e.rejected == rec.Token:
		info.Status = TokenRejected
	case e.failures > 0:
		info.Status = TokenRefreshFailing
	}
	e.mu.Unlock()
	if info.Status != TokenActive {
		info.Action = e.loginAction()
	}
	return info
}

// reauth is the 190 hook of the account's Graph client: use a newer stored
// token if another process has one, else renew; if neither helps, hold the
// token as rejected. It returns true in that case too, on purpose: the
// client's one retry then fails inside Token() without reaching Instagram,
// and the caller gets auth_expired naming the exact login command instead
// of a bare 190.
func (e *entry) reauth(ctx context.Context, ge *graph.Error) bool {
	r := e.r
	now := r.now()
	e.mu.Lock()
	recent := !e.changedAt.IsZero() && now.Sub(e.changedAt) < time.Minute
	tried := !e.lastReauth.IsZero() && now.Sub(e.lastReauth) < time.Minute
	e.lastReauth = now
	used := e.rec.Token
	e.mu.Unlock()
	if recent {
		return true // renewed a moment ago: the refused request most likely carried the old token
	}
	if r.reloadEntry(ctx, e) {
		r.log.Info("using a newer stored token after Instagram refused one", "account", e.id)
		return true
	}
	if !tried {
		err := r.refresh(ctx, e, false)
		if err == nil {
			return true
		}
		r.log.Warn("could not renew a token Instagram refused", "account", e.id, "err", err)
	}
	e.mu.Lock()
	if e.rec.Token == used {
		e.rejected, e.rejectedAt, e.rejectedSub = used, now, ge.Subcode
	}
	e.mu.Unlock()
	r.log.Warn("Instagram rejected the token; the account must log in again", "account", e.id, "login", string(e.record().Login), "subcode", ge.Subcode)
	return true
}

// List returns every account (the tools' accounts resource lists them).
func (r *Registry) List(ctx context.Context) ([]*Account, error) {
	if err := r.Reload(ctx); err != nil {
		r.log.Warn("cannot re-read the token store", "err", err)
	}
	var out []*Account
	for _, e := range r.sorted() {
		out = append(out, e.account())
	}
	return out, nil
}
