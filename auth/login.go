package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// PendingLogin is a login dialog opened and not yet answered: the URL to
// visit and what the answer must match.
type PendingLogin struct {
	Login       Login
	URL         string
	RedirectURI string
	Scopes      []string
	state       string
	verifier    string
}

// BeginLogin prepares the dialog URL with a fresh state (and, for Facebook
// Login, a PKCE verifier).
func (o *OAuth) BeginLogin(l Login, redirectURI string, scopes []string) (*PendingLogin, error) {
	if o.cfg.AppID == "" {
		return nil, errors.New("logging in needs the Meta app id: set INSTAGRAM_APP_ID")
	}
	if len(scopes) == 0 {
		scopes = DefaultScopes(l)
	}
	p := &PendingLogin{Login: l, RedirectURI: redirectURI, Scopes: slices.Clone(scopes), state: randomToken()}
	if UsesPKCE(l) {
		p.verifier = oauth2.GenerateVerifier()
	}
	p.URL = o.AuthCodeURL(l, redirectURI, p.state, p.verifier, scopes)
	return p, nil
}

// CheckState reports whether state is the one this login sent (constant
// time).
func (p *PendingLogin) CheckState(state string) bool {
	return state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(p.state)) == 1
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CompleteLogin exchanges the dialog's code: short-lived token, long-lived
// token, then the accounts it reaches with their scopes and expiry. The
// records are not stored yet.
func (o *OAuth) CompleteLogin(ctx context.Context, p *PendingLogin, code string) ([]Record, error) {
	short, err := o.ExchangeCode(ctx, p.Login, code, p.RedirectURI, p.verifier)
	if err != nil {
		return nil, fmt.Errorf("exchanging the authorization code: %w", err)
	}
	long, err := o.LongLived(ctx, p.Login, short.Token)
	if err != nil {
		return nil, fmt.Errorf("exchanging for a long-lived token: %w", err)
	}
	if p.Login == LoginInstagram && len(long.Scopes) == 0 {
		long.Scopes = short.Scopes // Instagram reports permissions at the code exchange only
	}
	return o.describe(ctx, p.Login, long, short.UserID)
}

// describe turns a long-lived grant into records: Instagram Login takes
// scopes from the token response; Facebook Login asks debug_token.
func (o *OAuth) describe(ctx context.Context, l Login, g *Grant, hintID string) ([]Record, error) {
	now := o.cfg.Now().UTC()
	ids, err := o.Discover(ctx, l, g.Token)
	if err != nil {
		return nil, fmt.Errorf("finding the Instagram account: %w", err)
	}
	if l == LoginInstagram && len(ids) == 1 && ids[0].ID == "" {
		ids[0].ID = hintID
	}
	var info *TokenInfo
	if l == LoginFacebook {
		if info, err = o.DebugToken(ctx, g.Token); err != nil {
			return nil, fmt.Errorf("reading the token's scopes (debug_token): %w", err)
		}
	}
	out := make([]Record, 0, len(ids))
	for _, id := range ids {
		r := Record{AccountID: id.ID, Username: id.Username, Login: l, Token: g.Token, IssuedAt: now,
			Expiry: g.Expiry, Scopes: slices.Clone(g.Scopes)}
		if info != nil {
			r.Scopes = info.ScopesFor(id.ID, id.PageID)
			if !info.Expiry.IsZero() {
				r.Expiry = info.Expiry
			}
			if !info.IssuedAt.IsZero() {
				r.IssuedAt = info.IssuedAt
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Import describes a token the user brings (`igmcp auth add`). A Facebook
// Login token is read with debug_token and, when it is short-lived and the
// app is known, exchanged for a long-lived one. An Instagram Login token is
// refreshed once when possible, which tells its expiry (Instagram has no
// documented debug_token); otherwise its expiry and scopes stay unknown and
// the refresher tries again later.
func (o *OAuth) Import(ctx context.Context, l Login, tok Secret) ([]Record, []string, error) {
	var notes []string
	now := o.cfg.Now().UTC()
	if l == LoginInstagram {
		g := &Grant{Token: tok}
		if r, err := o.Refresh(ctx, l, tok); err == nil {
			g = r
			notes = append(notes, "refreshed the token once to learn its expiry")
		} else {
			notes = append(notes, "could not refresh the token now ("+err.Error()+"); its expiry is unknown until the server refreshes it")
		}
		recs, err := o.describe(ctx, l, g, "")
		for i := range recs {
			if g.Token == tok {
				recs[i].IssuedAt = time.Time{} // age unknown
			}
		}
		return recs, notes, err
	}
	info, err := o.DebugToken(ctx, tok)
	if err != nil {
		return nil, nil, fmt.Errorf("checking the token (debug_token): %w", err)
	}
	g := &Grant{Token: tok, Expiry: info.Expiry}
	if !info.Expiry.IsZero() && info.Expiry.Sub(now) < 24*time.Hour {
		if !o.HasAppSecret() {
			notes = append(notes, "the token is short-lived (expires "+info.Expiry.Format(time.RFC3339)+"); set INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET to exchange it for a 60-day token")
		} else if long, err := o.LongLived(ctx, l, tok); err != nil {
			notes = append(notes, "could not exchange the short-lived token for a long-lived one: "+err.Error())
		} else {
			g = long
			notes = append(notes, "exchanged the short-lived token for a long-lived one")
		}
	}
	recs, err := o.describe(ctx, l, g, "")
	if err == nil && g.Token == tok {
		for i := range recs {
			recs[i].IssuedAt = info.IssuedAt // zero when debug_token does not say
		}
	}
	return recs, notes, err
}

// SelectAccounts keeps the records named by id or username (all when
// names is empty).
func SelectAccounts(recs []Record, names []string) ([]Record, error) {
	if len(names) == 0 {
		return recs, nil
	}
	var out []Record
	for _, n := range names {
		n = strings.TrimPrefix(strings.TrimSpace(n), "@")
		i := slices.IndexFunc(recs, func(r Record) bool { return r.AccountID == n || strings.EqualFold(r.Username, n) })
		if i < 0 {
			var have []string
			for _, r := range recs {
				have = append(have, describeAccount(r.Username, r.AccountID))
			}
			return nil, fmt.Errorf("this login does not reach account %q (it reaches %s)", n, strings.Join(have, ", "))
		}
		out = append(out, recs[i])
	}
	return out, nil
}

func describeAccount(username, id string) string {
	if username == "" {
		return id
	}
	return "@" + username + " (" + id + ")"
}
