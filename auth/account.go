// Package auth knows which Instagram accounts this server acts as and where
// their tokens come from.
package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
)

// Login is the Meta login flow a token belongs to; it decides the Graph host.
type Login string

const (
	LoginFacebook  Login = "facebook"  // Facebook Login for Business, graph.facebook.com
	LoginInstagram Login = "instagram" // Instagram Login, graph.instagram.com
)

// ParseLogin validates INSTAGRAM_LOGIN.
func ParseLogin(s string) (Login, error) {
	switch Login(strings.ToLower(strings.TrimSpace(s))) {
	case "", LoginFacebook:
		return LoginFacebook, nil
	case LoginInstagram:
		return LoginInstagram, nil
	}
	return "", fmt.Errorf("INSTAGRAM_LOGIN must be %q or %q, got %q", LoginFacebook, LoginInstagram, s)
}

// GraphURL is the default Graph host of the flow.
func (l Login) GraphURL() string {
	if l == LoginInstagram {
		return graph.InstagramGraphURL
	}
	return graph.FacebookGraphURL
}

// Title is the flow's name for messages: "Facebook" or "Instagram".
func (l Login) Title() string {
	if l == LoginInstagram {
		return "Instagram"
	}
	return "Facebook"
}

// LoginCommand is the exact command that logs an account of this flow in
// again.
func (l Login) LoginCommand() string {
	if l == "" {
		l = LoginFacebook
	}
	return "igmcp auth login --login " + string(l)
}

// Account is one Instagram professional account and a client acting as it.
type Account struct {
	ID       string
	Username string
	Login    Login
	Client   *graph.Client
}

// TokenStatus is the state of an account's token, for list_accounts and
// `igmcp auth status`.
type TokenStatus string

const (
	TokenActive         TokenStatus = "active"          // usable
	TokenExpired        TokenStatus = "expired"         // past its expiry: log in again
	TokenRejected       TokenStatus = "rejected"        // Instagram answered 190 and no refresh helped
	TokenRefreshFailing TokenStatus = "refresh_failing" // usable, but the last renewal failed
	TokenUnknown        TokenStatus = "unknown"         // bring-your-own token from the environment
)

// AccountInfo is what list_accounts shows about an account; never the
// token.
type AccountInfo struct {
	Account *Account
	Default bool
	// Source is "store" (igmcp auth login/add) or "env" (INSTAGRAM_ACCESS_TOKEN).
	Source string
	// Expiry is zero when the token never expires or it is unknown.
	Expiry time.Time
	// Scopes are the granted permissions; empty when unknown.
	Scopes []string
	Status TokenStatus
	// Action says what to do when Status is not active.
	Action string
	// NextRefresh is when the server renews the token (zero: never).
	NextRefresh time.Time
	// RefreshError is the last renewal failure, if any.
	RefreshError string
}

// ClientFactory builds a Graph client for a token source; the caller fixes
// host, version, HTTP client and app secret.
type ClientFactory func(ts oauth2.TokenSource) (*graph.Client, error)

// Single is the bring-your-own-token case: one account from
// INSTAGRAM_ACCESS_TOKEN (and optionally INSTAGRAM_USER_ID). The account id
// and username are discovered from the token on first use, never at start-up:
// the server must start without calling Instagram.
type Single struct {
	token  oauth2.TokenSource
	userID string
	login  Login
	client *graph.Client

	mu       sync.Mutex
	resolved *Account
}

// NewSingle prepares the account. token may be nil (no token configured):
// every call then fails with auth_expired, as docs/reference.md §2 requires.
func NewSingle(token oauth2.TokenSource, userID string, login Login, newClient ClientFactory) (*Single, error) {
	s := &Single{token: token, userID: userID, login: login}
	if token != nil {
		c, err := newClient(token)
		if err != nil {
			return nil, err
		}
		s.client = c
	}
	return s, nil
}

// Resolve returns the account named by the tool's `account` argument (id or
// username; empty = the only account).
func (s *Single) Resolve(ctx context.Context, name string) (*Account, error) {
	if s.client == nil {
		e := failure.New(failure.AuthExpired, "No Instagram access token is configured.")
		e.Action = "Set INSTAGRAM_ACCESS_TOKEN (or INSTAGRAM_ACCESS_TOKEN_FILE), or run `igmcp auth login`, then restart the server."
		return nil, e
	}
	a, err := s.discover(ctx)
	if err != nil {
		return nil, err
	}
	name = strings.TrimPrefix(strings.TrimSpace(name), "@")
	if name == "" || name == a.ID {
		return a, nil
	}
	if !usernameRE.MatchString(name) {
		return nil, failure.Invalid("account", "%q is neither an account id nor an Instagram username", name)
	}
	username, err := s.username(ctx)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(name, username) {
		return a, nil
	}
	return nil, failure.Invalid("account", "unknown account %q: this server acts as @%s (id %s)", name, username, a.ID)
}

// ListAccounts describes the account (none without a token). The token's
// expiry and scopes are unknown: it came from the environment.
func (s *Single) ListAccounts(ctx context.Context) ([]AccountInfo, error) {
	accts, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AccountInfo, 0, len(accts))
	for _, a := range accts {
		out = append(out, AccountInfo{Account: a, Default: true, Source: "env", Status: TokenUnknown})
	}
	return out, nil
}

// List returns the configured accounts (one, or none without a token).
func (s *Single) List(ctx context.Context) ([]*Account, error) {
	if s.client == nil {
		return nil, nil
	}
	a, err := s.discover(ctx)
	if err != nil {
		return nil, err
	}
	return []*Account{a}, nil
}

func (s *Single) discover(ctx context.Context) (*Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resolved != nil {
		return s.resolved, nil
	}
	a := &Account{ID: s.userID, Login: s.login, Client: s.client}
	if a.ID == "" {
		id, username, err := discoverID(ctx, s.client, s.login)
		if err != nil {
			return nil, err
		}
		a.ID, a.Username = id, username
	}
	s.resolved = a
	return a, nil
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9._]{1,30}$`)

// username is learnt only when a caller names the account by username and
// INSTAGRAM_USER_ID was given without it: one read, then cached.
func (s *Single) username(ctx context.Context) (string, error) {
	s.mu.Lock()
	a := s.resolved
	s.mu.Unlock()
	if a.Username != "" {
		return a.Username, nil
	}
	var v struct {
		Username string `json:"username"`
	}
	if _, err := s.client.Do(ctx, http.MethodGet, "/"+a.ID, url.Values{"fields": {"username"}}, &v); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := *s.resolved
	cp.Username = v.Username
	s.resolved = &cp
	return v.Username, nil
}

func discoverID(ctx context.Context, c *graph.Client, login Login) (string, string, error) {
	if login == LoginInstagram {
		id, username, _, err := c.Me(ctx)
		return id, username, err
	}
	pages, _, err := c.PageAccounts(ctx)
	if err != nil {
		return "", "", err
	}
	var found []graph.PageAccount
	for _, p := range pages {
		if p.IGUserID != "" {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		e := failure.New(failure.PermissionDenied, "The token's Facebook Pages have no linked Instagram professional account.")
		e.Action = "Link an Instagram professional account to a Facebook Page (or grant pages_show_list), or set INSTAGRAM_USER_ID."
		return "", "", e
	case 1:
		return found[0].IGUserID, found[0].IGUsername, nil
	}
	names := make([]string, len(found))
	for i, p := range found {
		names[i] = p.IGUserID + " (@" + p.IGUsername + ")"
	}
	e := failure.Invalid("account", "the token reaches several Instagram accounts: %s", strings.Join(names, ", "))
	e.Action = "Set INSTAGRAM_USER_ID to the id of the account to act as, then restart the server."
	return "", "", e
}
