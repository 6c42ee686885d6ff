package fakegraph

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"
)

const (
	shortLivedTTL = time.Hour
	longLivedTTL  = 60 * 24 * time.Hour
)

// secretParams are parameters whose values are credentials; Calls() shows
// them as "[redacted]" (so a test can still see that they were sent).
var secretParams = []string{"appsecret_proof", "client_secret", "fb_exchange_token", "code"}

// AuthCode issues a single-use OAuth authorization code for the account,
// as the login dialog would after the user consents. Exchanging it at
// /oauth/access_token gives a short-lived token (1 h).
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

// serveTokenEndpoint handles the token endpoints:
//
//	GET  /refresh_access_token?grant_type=ig_refresh_token&access_token=…   (Instagram Login)
//	GET  /access_token?grant_type=ig_exchange_token&client_secret=…&access_token=…
//	GET  /oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token=…
//	GET  /oauth/access_token?client_id&redirect_uri&client_secret&code=…   (Facebook code exchange)
//	POST /oauth/access_token client_id,client_secret,grant_type=authorization_code,redirect_uri,code
//	     (api.instagram.com; errors use the flat error shape)
func (s *Server) serveTokenEndpoint(w http.ResponseWriter, q *request) {
	p := q.params
	ttlSeconds := func(exp time.Time) int { return int(exp.Sub(s.now()) / time.Second) }
	switch {
	case len(q.segs) == 1 && q.segs[0] == "refresh_access_token" && q.method == http.MethodGet:
		if p.Get("grant_type") != "ig_refresh_token" {
			s.writeError(w, errParam("Unsupported grant_type; expected ig_refresh_token"))
			return
		}
		ti, e := s.validToken(q.token)
		if e != nil {
			s.writeError(w, e)
			return
		}
		tok, exp := s.issueToken(ti.accounts, ti.login, longLivedTTL)
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
		ti, e := s.validToken(q.token)
		if e != nil {
			s.writeError(w, e)
			return
		}
		tok, exp := s.issueToken(ti.accounts, ti.login, longLivedTTL)
		writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": ttlSeconds(exp)})
	case len(q.segs) == 2 && q.segs[1] == "access_token" && q.method == http.MethodGet:
		if e := s.checkClientSecret(q); e != nil {
			s.writeError(w, e)
			return
		}
		var accts []*account
		switch {
		case p.Get("grant_type") == "fb_exchange_token":
			ti, e := s.validToken(p.Get("fb_exchange_token"))
			if e != nil {
				s.writeError(w, e)
				return
			}
			accts = ti.accounts
		case p.Get("code") != "":
			a := s.codes[p.Get("code")]
			if a == nil {
				s.writeError(w, &apiError{Code: 100, Subcode: 36007, Message: "This authorization code has expired."})
				return
			}
			delete(s.codes, p.Get("code"))
			accts = s.tokens[a.Token].accounts
		default:
			s.writeError(w, errRequired("code"))
			return
		}
		ttl := longLivedTTL
		if p.Get("code") != "" {
			ttl = shortLivedTTL
		}
		tok, exp := s.issueToken(accts, LoginFacebook, ttl)
		writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": ttlSeconds(exp)})
	case len(q.segs) == 2 && q.segs[1] == "access_token" && q.method == http.MethodPost:
		flat := func(msg string) {
			writeJSON(w, 400, map[string]any{"error_type": "OAuthException", "code": 400, "error_message": msg})
		}
		if s.opts.AppSecret != "" && p.Get("client_secret") != s.opts.AppSecret {
			flat("Invalid client_secret")
			return
		}
		if p.Get("grant_type") != "authorization_code" {
			flat("Invalid grant_type")
			return
		}
		a := s.codes[p.Get("code")]
		if a == nil {
			flat("Matching code was not found or was already used")
			return
		}
		delete(s.codes, p.Get("code"))
		tok, _ := s.issueToken([]*account{a}, LoginInstagram, shortLivedTTL)
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{
			"access_token": tok, "user_id": a.ID,
			"permissions": "instagram_business_basic,instagram_business_content_publish,instagram_business_manage_comments,instagram_business_manage_insights",
		}}})
	default:
		s.writeError(w, errUnknownPath(q.path))
	}
}
