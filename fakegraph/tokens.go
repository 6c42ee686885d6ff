package fakegraph

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	shortLivedTTL = time.Hour
	longLivedTTL  = 60 * 24 * time.Hour
)

// secretParams are parameters whose values are credentials; Calls() shows
// them as "[redacted]" (so a test can still see that they were sent).
var secretParams = []string{"appsecret_proof", "client_secret", "fb_exchange_token", "code", "input_token", "code_verifier"}

// AuthCode issues a single-use OAuth authorization code for the account,
// as the login dialog would after the user consents. Exchanging it at
// /oauth/access_token gives a short-lived token (1 h). Unlike codes from
// the dialogs (/oauth/authorize, /{v}/dialog/oauth), it is bound to no
// client_id or redirect_uri.
func (s *Server) AuthCode(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acctByID[accountID]
	if a == nil {
		return ""
	}
	code := "AQ" + randHex(24)
	if s.codes == nil {
		s.codes = map[string]*account{}
	}
	s.codes[code] = a
	return code
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// issueToken registers a new token acting as the same accounts as ti.
func (s *Server) issueToken(accts []*account, login string, ttl time.Duration) (string, time.Time) {
	prefix := "EAA"
	if login == LoginInstagram {
		prefix = "IGAA"
	}
	tok := prefix + randHex(24)
	exp := s.now().Add(ttl)
	fbUser := derivedID("10", accts[0].Token, 15)
	s.tokens[tok] = &tokenInfo{accounts: accts, expiry: exp, login: login, fbUserID: fbUser}
	return tok, exp
}

func (s *Server) checkClientSecret(q *request) *apiError {
	if s.opts.AppSecret != "" && q.params.Get("client_secret") != s.opts.AppSecret {
		return &apiError{Code: 101, Message: "Error validating client secret."}
	}
	return nil
}

// validToken returns the token's info when it exists and has not expired.
func (s *Server) validToken(tok string) (*tokenInfo, *apiError) {
	if tok == "" {
		return nil, errNoToken()
	}
	ti := s.tokens[tok]
	if ti == nil {
		return nil, errBadToken()
	}
	if now := s.now(); !ti.expiry.IsZero() && !now.Before(ti.expiry) {
		return nil, errExpiredToken(ti.expiry, now)
	}
	return ti, nil
}

// clientOf is the app a token was issued to ("" when unknown).
func (s *Server) clientOf(tok string) string {
	if m := s.oauth().tokens[tok]; m != nil {
		return m.clientID
	}
	return ""
}

// serveTokenEndpoint handles the token and login endpoints:
//
//	GET  /refresh_access_token?grant_type=ig_refresh_token&access_token=…   (Instagram Login;
//	GET  /access_token?grant_type=ig_exchange_token&client_secret=…&access_token=…  token in the query only)
//	GET|POST /{v}/oauth/access_token grant_type=fb_exchange_token,client_id,client_secret,fb_exchange_token
//	GET|POST /{v}/oauth/access_token client_id,redirect_uri,client_secret,code[,code_verifier]  (Facebook code exchange)
//	POST /oauth/access_token client_id,client_secret,grant_type=authorization_code,redirect_uri,code
//	     (api.instagram.com: unversioned; errors use the flat error shape)
//	GET  /oauth/authorize, /{v}/dialog/oauth, /debug_token   (oauth.go)
//
// A GET to /oauth/access_token is always the Facebook endpoint; a POST is
// Facebook's when versioned (x/oauth2 and most clients POST the code
// exchange) and api.instagram.com's when not.
func (s *Server) serveTokenEndpoint(w http.ResponseWriter, q *request) {
	p := q.params
	ttlSeconds := func(exp time.Time) int { return int(exp.Sub(s.now()) / time.Second) }
	switch {
	case len(q.segs) == 1 && q.segs[0] == "debug_token":
		s.serveDebugToken(w, q)
	case len(q.segs) == 2 && q.segs[0] == "oauth" && q.segs[1] == "authorize":
		s.serveAuthorize(w, q, LoginInstagram)
	case len(q.segs) == 2 && q.segs[0] == "dialog" && q.segs[1] == "oauth":
		s.serveAuthorize(w, q, LoginFacebook)
	case len(q.segs) == 1 && q.segs[0] == "refresh_access_token" && q.method == http.MethodGet:
		if p.Get("grant_type") != "ig_refresh_token" {
			s.writeError(w, errParam("Unsupported grant_type; expected ig_refresh_token"))
			return
		}
		if e := tokenInQuery(q); e != nil {
			s.writeError(w, e)
			return
		}
		ti, e := s.validToken(q.token)
		if e != nil {
			s.writeError(w, e)
			return
		}
		if ti.login != LoginInstagram {
			s.writeError(w, errParam("Only Instagram User access tokens can be refreshed here"))
			return
		}
		if m := s.oauth().tokens[q.token]; m != nil && s.now().Sub(m.issued) < minRefreshAge {
			s.writeError(w, errParam("The access token is too new to be refreshed: long-lived tokens can be refreshed once they are at least 24 hours old"))
			return
		}
		scopes := s.scopesOf(q.token, ti)
		if !slices.Contains(scopes, "instagram_business_basic") {
			s.writeError(w, &apiError{Code: 10, Message: "(#10) Application does not have permission for this action: instagram_business_basic is required to refresh a token"})
			return
		}
		tok, exp := s.issue(ti.accounts, ti.login, longLivedTTL, scopes, s.clientOf(q.token))
		writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": ttlSeconds(exp)})
	case len(q.segs) == 1 && q.segs[0] == "access_token" && q.method == http.MethodGet:
		if p.Get("grant_type") != "ig_exchange_token" {
			s.writeError(w, errParam("Unsupported grant_type; expected ig_exchange_token"))
			return
		}
		if e := s.checkClientSecret(q); e != nil {
			s.writeError(w, e)
			return
		}
		if e := tokenInQuery(q); e != nil {
			s.writeError(w, e)
			return
		}
		ti, e := s.validToken(q.token)
		if e != nil {
			s.writeError(w, e)
			return
		}
		tok, exp := s.issue(ti.accounts, ti.login, longLivedTTL, s.scopesOf(q.token, ti), s.clientOf(q.token))
		writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": ttlSeconds(exp)})
	case len(q.segs) == 2 && q.segs[0] == "oauth" && q.segs[1] == "access_token" &&
		(q.method == http.MethodGet || (q.method == http.MethodPost && q.version != "")):
		s.serveFacebookToken(w, q)
	case len(q.segs) == 2 && q.segs[0] == "oauth" && q.segs[1] == "access_token" && q.method == http.MethodPost:
		s.serveInstagramCode(w, q)
	default:
		s.writeError(w, errUnknownPath(q.path))
	}
}

// tokenInQuery: Instagram Login's access_token (ig_exchange_token) and
// refresh_access_token endpoints list access_token as a required query
// parameter (docs/graph-api.md §12), so a token sent only in a header or a
// body is refused as missing. Meta documents no error for it; we answer
// Graph's generic missing-parameter error (test assumption).
func tokenInQuery(q *request) *apiError {
	if q.tokenSrc != "query" {
		return errRequired("access_token")
	}
	return nil
}

// serveFacebookToken is graph.facebook.com/{v}/oauth/access_token: the
// code exchange (short-lived token) and fb_exchange_token (long-lived).
func (s *Server) serveFacebookToken(w http.ResponseWriter, q *request) {
	p := q.params
	if e := s.checkClientSecret(q); e != nil {
		s.writeError(w, e)
		return
	}
	var (
		accts    []*account
		scopes   []string
		clientID = p.Get("client_id")
		ttl      = longLivedTTL
	)
	switch {
	case p.Get("grant_type") == "fb_exchange_token":
		src := p.Get("fb_exchange_token")
		ti, e := s.validToken(src)
		if e != nil {
			s.writeError(w, e)
			return
		}
		if ti.login != LoginFacebook {
			s.writeError(w, errParam("fb_exchange_token must be a Facebook User access token"))
			return
		}
		accts, scopes = ti.accounts, s.scopesOf(src, ti)
	case p.Get("code") != "":
		ttl = shortLivedTTL
		g, msg := s.redeem(p, LoginFacebook)
		switch {
		case msg != "":
			sub := 36007
			if strings.HasPrefix(msg, "Error validating verification code") {
				sub = 36008
			}
			s.writeError(w, &apiError{Code: 100, Subcode: sub, Message: msg})
			return
		case g != nil:
			accts, scopes = g.accts, g.scopes
		default:
			a := s.codes[p.Get("code")]
			if a == nil {
				s.writeError(w, &apiError{Code: 100, Subcode: 36007, Message: "This authorization code has expired."})
				return
			}
			delete(s.codes, p.Get("code"))
			accts = s.tokens[a.Token].accounts
			scopes = defaultFacebookScopes
		}
	default:
		s.writeError(w, errRequired("code"))
		return
	}
	tok, exp := s.issue(accts, LoginFacebook, ttl, scopes, clientID)
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": int(exp.Sub(s.now()) / time.Second)})
}

// serveInstagramCode is api.instagram.com/oauth/access_token: code →
// short-lived Instagram User token, errors in the flat shape.
func (s *Server) serveInstagramCode(w http.ResponseWriter, q *request) {
	p := q.params
	if s.opts.AppSecret != "" && p.Get("client_secret") != s.opts.AppSecret {
		writeFlat(w, "Invalid client_secret")
		return
	}
	if p.Get("grant_type") != "authorization_code" {
		writeFlat(w, "Invalid grant_type")
		return
	}
	g, msg := s.redeem(p, LoginInstagram)
	if msg != "" {
		writeFlat(w, msg)
		return
	}
	var (
		a      *account
		scopes = defaultInstagramScopes
	)
	if g != nil {
		a, scopes = g.accts[0], g.scopes
	} else {
		a = s.codes[p.Get("code")]
		if a == nil {
			writeFlat(w, "Matching code was not found or was already used")
			return
		}
		delete(s.codes, p.Get("code"))
	}
	tok, _ := s.issue([]*account{a}, LoginInstagram, shortLivedTTL, scopes, p.Get("client_id"))
	writeJSON(w, 200, map[string]any{"data": []any{map[string]any{
		"access_token": tok, "user_id": a.ID, "permissions": strings.Join(scopes, ","),
	}}})
}
