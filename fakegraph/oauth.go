package fakegraph

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The OAuth side of the fake: the two login dialogs, codes bound to what
// the dialog was asked, debug_token, and what the fake remembers about the
// tokens it issues (when, with which scopes).
//
//	GET /oauth/authorize?client_id&redirect_uri&response_type=code&scope&state
//	     Instagram Login (www.instagram.com): 302 to redirect_uri?code=…&state=…#_
//	GET /{v}/dialog/oauth?client_id&redirect_uri&response_type=code&scope&state[&code_challenge&code_challenge_method]
//	     Facebook Login for Business (www.facebook.com): 302 to redirect_uri?code=…&state=…
//	GET /[{v}/]debug_token?input_token=…   (caller: app token "id|secret" or a valid token)
//
// Test assumptions (the docs are silent; we chose):
//   - The dialog logs in as Consent.AccountID (SetConsent), by default the
//     first account of the dialog's login type, and grants every scope asked
//     unless Consent.Scopes narrows it. A Facebook Login code reaches every
//     account sharing that account's token (the Pages of one Facebook user).
//   - A missing client_id or an unusable redirect_uri answers 400 (the
//     dialog cannot redirect: Graph envelope for Facebook, flat shape for
//     Instagram); other dialog errors redirect with error=… and
//     error_description (invalid_scope for unknown or retired scopes,
//     access_denied/user_denied when Consent.Deny).
//   - PKCE: the Facebook dialog binds code_challenge (S256 or plain) to the
//     code and the exchange then requires the matching code_verifier
//     (100 "Invalid code_verifier" otherwise). The Instagram dialog ignores
//     code_challenge: Meta documents no PKCE for Instagram Login.
//   - Dialog codes live 1 hour, are single use and bound to client_id and
//     redirect_uri (100/36008 "Error validating verification code…" on a
//     different redirect_uri, flat shape on api.instagram.com).
//   - refresh_access_token refuses tokens the fake issued less than 24 hours
//     earlier (100, "The access token is too new to be refreshed") and
//     tokens without instagram_business_basic (10); tokens given in
//     Options.Accounts have no known issue time and may always be refreshed.
//   - debug_token answers for Instagram Login tokens too, in the Facebook
//     shape; granular_scopes target the account ids (instagram_*) and Page
//     ids (pages_*) of the token.

// Consent is what the simulated user does in the login dialog.
type Consent struct {
	// AccountID is the account that logs in ("" = the first account of the
	// dialog's login type). With Facebook Login the code reaches every
	// account that shares this account's token.
	AccountID string
	// Scopes, when not nil, is what the user leaves ticked: the grant is
	// the asked scopes that are in this list.
	Scopes []string
	// Deny makes the dialog redirect with error=access_denied.
	Deny bool
}

// SetConsent sets what the login dialogs do from now on.
func (s *Server) SetConsent(c Consent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Scopes = slices.Clone(c.Scopes)
	s.oauth().consent = c
}

// Current permissions per login flow (docs/graph-api.md §1).
var (
	facebookScopes = []string{
		"instagram_basic", "instagram_content_publish", "instagram_manage_comments",
		"instagram_manage_insights", "instagram_manage_messages", "instagram_manage_contents",
		"pages_show_list", "pages_read_engagement", "business_management", "ads_management", "ads_read",
		"public_profile", "email",
	}
	instagramScopes = []string{
		"instagram_business_basic", "instagram_business_content_publish", "instagram_business_manage_comments",
		"instagram_business_manage_insights", "instagram_business_manage_messages",
	}
	// retiredScopes stopped working on 2025-01-27.
	retiredScopes = map[string]string{
		"business_basic":           "instagram_business_basic",
		"business_content_publish": "instagram_business_content_publish",
		"business_manage_comments": "instagram_business_manage_comments",
		"business_manage_messages": "instagram_business_manage_messages",
	}
	// defaultScopes is what a token given in Options.Accounts may do.
	defaultFacebookScopes = []string{
		"instagram_basic", "instagram_content_publish", "instagram_manage_comments",
		"instagram_manage_insights", "pages_show_list", "pages_read_engagement",
	}
	defaultInstagramScopes = []string{
		"instagram_business_basic", "instagram_business_content_publish",
		"instagram_business_manage_comments", "instagram_business_manage_insights",
	}
)

const (
	codeTTL       = time.Hour
	minRefreshAge = 24 * time.Hour
	dataAccessTTL = 90 * 24 * time.Hour
	// oauthStateKey keeps the OAuth state among the objects: Graph ids are
	// numeric, so no request can address it.
	oauthStateKey = "\x00oauth"
)

type oauthState struct {
	consent Consent
	codes   map[string]*codeGrant // codes issued by the dialogs
	tokens  map[string]*tokenMeta // tokens the fake issued
}

type codeGrant struct {
	accts       []*account
	login       string
	clientID    string
	redirectURI string
	challenge   string
	method      string
	scopes      []string
	expires     time.Time
}

type tokenMeta struct {
	issued   time.Time
	scopes   []string
	clientID string
}

// oauth returns the OAuth state (caller holds s.mu).
func (s *Server) oauth() *oauthState {
	st, _ := s.objs[oauthStateKey].(*oauthState)
	if st == nil {
		st = &oauthState{codes: map[string]*codeGrant{}, tokens: map[string]*tokenMeta{}}
		s.objs[oauthStateKey] = st
	}
	return st
}

// scopesOf is what a token may do: what it was granted, or the defaults of
// its login for configured tokens.
func (s *Server) scopesOf(tok string, ti *tokenInfo) []string {
	if m := s.oauth().tokens[tok]; m != nil {
		return m.scopes
	}
	if ti != nil && ti.login == LoginInstagram {
		return defaultInstagramScopes
	}
	return defaultFacebookScopes
}

// issue registers a new token with its grant.
func (s *Server) issue(accts []*account, login string, ttl time.Duration, scopes []string, clientID string) (string, time.Time) {
	tok, exp := s.issueToken(accts, login, ttl)
	s.oauth().tokens[tok] = &tokenMeta{issued: s.now(), scopes: slices.Clone(scopes), clientID: clientID}
	return tok, exp
}

// consentAccounts is who logs in through a dialog of the login type.
func (s *Server) consentAccounts(login, id string) []*account {
	var a *account
	if id != "" {
		a = s.acctByID[id]
	} else {
		for _, o := range s.opts.Accounts {
			if o.Login == login || (login == LoginFacebook && o.Login == "") {
				a = s.acctByID[o.ID]
				break
			}
		}
	}
	if a == nil || a.Login != login {
		return nil
	}
	if login == LoginInstagram {
		return []*account{a}
	}
	return s.tokens[a.Token].accounts
}

func splitScopes(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// serveAuthorize is a login dialog whose user consents at once (or as
// SetConsent says).
func (s *Server) serveAuthorize(w http.ResponseWriter, q *request, login string) {
	p := q.params
	page := func(msg string) {
		if login == LoginInstagram {
			writeFlat(w, msg)
			return
		}
		s.writeError(w, errParam("%s", msg))
	}
	if q.method != http.MethodGet {
		page("The login dialog is a GET page")
		return
	}
	clientID := p.Get("client_id")
	if clientID == "" {
		page("Missing client_id parameter")
		return
	}
	ru, err := url.Parse(p.Get("redirect_uri"))
	if err != nil || (ru.Scheme != "http" && ru.Scheme != "https") || ru.Host == "" || ru.Fragment != "" {
		page("Invalid redirect_uri: it must be an absolute http(s) URL without a fragment")
		return
	}
	state := p.Get("state")
	back := func(vals url.Values) {
		rq := ru.Query()
		for k, v := range vals {
			rq[k] = v
		}
		if state != "" {
			rq.Set("state", state)
		}
		ru.RawQuery = rq.Encode()
		if login == LoginInstagram {
			ru.Fragment = "_" // Instagram appends #_ to the redirect
		}
		w.Header().Set("Location", ru.String())
		w.WriteHeader(http.StatusFound)
	}
	fail := func(code, desc string) {
		back(url.Values{"error": {code}, "error_description": {desc}})
	}
	if p.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	valid := facebookScopes
	if login == LoginInstagram {
		valid = instagramScopes
	}
	asked := splitScopes(p.Get("scope"))
	if len(asked) == 0 && login == LoginFacebook && p.Get("config_id") != "" {
		asked = defaultFacebookScopes // a login configuration lists the permissions
	}
	if len(asked) == 0 {
		fail("invalid_scope", "No scope was requested")
		return
	}
	for _, sc := range asked {
		if repl, ok := retiredScopes[sc]; ok {
			fail("invalid_scope", "Invalid Scopes: "+sc+" (retired on 2025-01-27; use "+repl+")")
			return
		}
		if !slices.Contains(valid, sc) {
			fail("invalid_scope", "Invalid Scopes: "+sc)
			return
		}
	}
	st := s.oauth()
	if st.consent.Deny {
		back(url.Values{"error": {"access_denied"}, "error_reason": {"user_denied"}, "error_description": {"Permissions error"}})
		return
	}
	accts := s.consentAccounts(login, st.consent.AccountID)
	if len(accts) == 0 {
		page("No account of this login type can log in (check SetConsent)")
		return
	}
	granted := asked
	if st.consent.Scopes != nil {
		granted = nil
		for _, sc := range asked {
			if slices.Contains(st.consent.Scopes, sc) {
				granted = append(granted, sc)
			}
		}
	}
	g := &codeGrant{accts: accts, login: login, clientID: clientID, redirectURI: p.Get("redirect_uri"),
		scopes: granted, expires: s.now().Add(codeTTL)}
	if login == LoginFacebook {
		if ch := p.Get("code_challenge"); ch != "" {
			g.challenge, g.method = ch, p.Get("code_challenge_method")
			if g.method == "" {
				g.method = "plain"
			}
			if g.method != "S256" && g.method != "plain" {
				fail("invalid_request", "code_challenge_method must be S256 or plain")
				return
			}
		}
	}
	code := "AQ" + randHex(24)
	st.codes[code] = g
	back(url.Values{"code": {code}})
}

// redeem checks and consumes a dialog code at a token endpoint; nil grant
// and nil error means the code is not a dialog code.
func (s *Server) redeem(p url.Values, login string) (*codeGrant, string) {
	code := strings.TrimSuffix(p.Get("code"), "#_")
	st := s.oauth()
	g := st.codes[code]
	if g == nil {
		return nil, ""
	}
	delete(st.codes, code) // single use, even when the exchange fails
	switch {
	case g.login != login:
		return nil, "This authorization code was issued by another login dialog"
	case !s.now().Before(g.expires):
		return nil, "This authorization code has expired."
	case p.Get("client_id") != g.clientID:
		return nil, "Error validating application. Invalid application ID."
	case p.Get("redirect_uri") != g.redirectURI:
		return nil, "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"
	}
	if g.challenge != "" {
		v := p.Get("code_verifier")
		want := v
		if g.method == "S256" {
			sum := sha256.Sum256([]byte(v))
			want = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		if v == "" || want != g.challenge {
			return nil, "Invalid code_verifier"
		}
	}
	return g, ""
}

// writeFlat answers in api.instagram.com's flat error shape.
func writeFlat(w http.ResponseWriter, msg string) {
	writeJSON(w, 400, map[string]any{"error_type": "OAuthException", "code": 400, "error_message": msg})
}

func (s *Server) proofOK(tok, proof string) bool {
	return hmacHex(s.opts.AppSecret, tok) == proof
}

// serveDebugToken inspects input_token.
func (s *Server) serveDebugToken(w http.ResponseWriter, q *request) {
	if q.method != http.MethodGet {
		s.writeError(w, errUnsupported(q.method, "debug_token"))
		return
	}
	if q.token == "" {
		s.writeError(w, errNoToken())
		return
	}
	if _, sec, isApp := strings.Cut(q.token, "|"); isApp {
		if s.opts.AppSecret != "" && sec != s.opts.AppSecret {
			s.writeError(w, &apiError{Code: 190, Message: "Invalid OAuth access token signature."})
			return
		}
	} else {
		if _, e := s.validToken(q.token); e != nil {
			s.writeError(w, e)
			return
		}
		if proof := q.params.Get("appsecret_proof"); s.opts.AppSecret != "" && proof != "" && !s.proofOK(q.token, proof) {
			s.writeError(w, errProofInvalid())
			return
		}
	}
	in := q.params.Get("input_token")
	if in == "" {
		s.writeError(w, errRequired("input_token"))
		return
	}
	ti := s.tokens[in]
	if ti == nil {
		writeJSON(w, 200, map[string]any{"data": map[string]any{
			"error":    map[string]any{"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"},
			"is_valid": false, "scopes": []string{},
		}})
		return
	}
	now := s.now()
	scopes := s.scopesOf(in, ti)
	var granular []map[string]any
	for _, sc := range scopes {
		var ids []string
		for _, a := range ti.accounts {
			switch {
			case strings.HasPrefix(sc, "instagram_"):
				ids = append(ids, a.ID)
			case strings.HasPrefix(sc, "pages_"):
				ids = append(ids, a.pageID)
			}
		}
		if ids != nil {
			granular = append(granular, map[string]any{"scope": sc, "target_ids": ids})
		}
	}
	userID := ti.fbUserID
	if ti.login == LoginInstagram && len(ti.accounts) > 0 {
		userID = ti.accounts[0].ID
	}
	data := map[string]any{
		"type": "USER", "application": "fakegraph", "user_id": userID,
		"scopes": scopes, "granular_scopes": granular, "expires_at": 0, "is_valid": true,
	}
	if !ti.expiry.IsZero() {
		data["expires_at"] = ti.expiry.Unix()
	}
	if m := s.oauth().tokens[in]; m != nil {
		data["issued_at"] = m.issued.Unix()
		data["data_access_expires_at"] = m.issued.Add(dataAccessTTL).Unix()
		if m.clientID != "" {
			data["app_id"] = m.clientID
		}
	}
	if !ti.expiry.IsZero() && !now.Before(ti.expiry) {
		e := errExpiredToken(ti.expiry, now)
		data["is_valid"] = false
		data["error"] = map[string]any{"code": e.Code, "subcode": e.Subcode, "message": e.Message}
	}
	writeJSON(w, 200, map[string]any{"data": data})
}
