package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/graph"
)

// Default hosts of the login flows (docs/graph-api.md §12).
const (
	FacebookDialogURL = "https://www.facebook.com"  // /{v}/dialog/oauth
	InstagramAuthURL  = "https://www.instagram.com" // /oauth/authorize
	InstagramTokenURL = "https://api.instagram.com" // /oauth/access_token
	FacebookTokenURL  = graph.FacebookGraphURL      // /{v}/oauth/access_token
)

// Endpoints override the hosts (scheme://host[/prefix], no path of the
// endpoint itself) so tests and simulators can point logins elsewhere.
// Empty fields take the flow's default.
type Endpoints struct {
	// AuthorizeURL hosts the login dialog (INSTAGRAM_AUTHORIZE_URL):
	// www.facebook.com/{v}/dialog/oauth or www.instagram.com/oauth/authorize.
	AuthorizeURL string
	// TokenURL hosts the code exchange (INSTAGRAM_TOKEN_URL):
	// graph.facebook.com/{v}/oauth/access_token or api.instagram.com/oauth/access_token.
	TokenURL string
	// GraphURL hosts the Graph API and the long-lived exchange, refresh and
	// debug_token (INSTAGRAM_GRAPH_URL): graph.facebook.com or graph.instagram.com.
	GraphURL string
}

// OAuthConfig is the Meta app and where its endpoints are.
type OAuthConfig struct {
	AppID      string
	AppSecret  string
	Endpoints  Endpoints
	APIVersion string       // default graph.DefaultAPIVersion
	HTTPClient *http.Client // default: 30 s timeout
	Now        func() time.Time
}

// OAuth runs the token endpoints of both login flows. It never logs; its
// errors never carry a token, code, secret or proof.
type OAuth struct {
	cfg OAuthConfig
}

// NewOAuth builds an OAuth client.
func NewOAuth(cfg OAuthConfig) *OAuth {
	if cfg.APIVersion == "" {
		cfg.APIVersion = graph.DefaultAPIVersion
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &OAuth{cfg: cfg}
}

// HasAppSecret reports whether token exchange (and Facebook refresh) is
// possible.
func (o *OAuth) HasAppSecret() bool { return o.cfg.AppID != "" && o.cfg.AppSecret != "" }

func trimBase(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

func (o *OAuth) graphBase(l Login) string {
	if o.cfg.Endpoints.GraphURL != "" {
		return trimBase(o.cfg.Endpoints.GraphURL)
	}
	return l.GraphURL()
}

func (o *OAuth) authorizeURL(l Login) string {
	if l == LoginInstagram {
		return pick(o.cfg.Endpoints.AuthorizeURL, InstagramAuthURL) + "/oauth/authorize"
	}
	return pick(o.cfg.Endpoints.AuthorizeURL, FacebookDialogURL) + "/" + o.cfg.APIVersion + "/dialog/oauth"
}

func (o *OAuth) tokenURL(l Login) string {
	if l == LoginInstagram {
		return pick(o.cfg.Endpoints.TokenURL, InstagramTokenURL) + "/oauth/access_token"
	}
	return pick(o.cfg.Endpoints.TokenURL, FacebookTokenURL) + "/" + o.cfg.APIVersion + "/oauth/access_token"
}

func pick(override, def string) string {
	if override != "" {
		return trimBase(override)
	}
	return def
}

// UsesPKCE reports whether the flow's dialog takes a PKCE challenge.
//
// Facebook Login: yes. Meta documents the code_challenge /
// code_challenge_method (S256) dialog parameters and the code_verifier at
// the token endpoint in "OIDC Code Flow with PKCE for Manually Built
// Facebook Login Flows" (developers.facebook.com/documentation/facebook-login/
// guides/advanced/oidc-token, updated 2023-07-18, marked "still in
// testing"). We still send client_secret: PKCE is added protection for the
// code on its way through the browser, not a replacement.
//
// Instagram Login: no. The oauth-authorize reference lists client_id,
// redirect_uri, response_type, scope, state, enable_fb_login and
// force_reauth only; nothing in Meta's docs or public client code shows a
// code_challenge being honoured (react-native-app-auth#928 asked and got no
// answer). Sending unknown parameters there buys nothing, so the code is
// protected by state, the loopback redirect and the client secret.
func UsesPKCE(l Login) bool { return l == LoginFacebook }

// oauth2Config is the x/oauth2 view of the flow (used for the dialog URL
// and PKCE).
func (o *OAuth) oauth2Config(l Login, redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     o.cfg.AppID,
		ClientSecret: o.cfg.AppSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: o.authorizeURL(l), TokenURL: o.tokenURL(l), AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL:  redirectURI,
	}
}

// AuthCodeURL is the login dialog URL. Scopes are comma-separated, as both
// dialogs document (x/oauth2 would join them with spaces).
func (o *OAuth) AuthCodeURL(l Login, redirectURI, state, verifier string, scopes []string) string {
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("scope", strings.Join(scopes, ","))}
	if verifier != "" && UsesPKCE(l) {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	return o.oauth2Config(l, redirectURI).AuthCodeURL(state, opts...)
}

// Grant is what a token endpoint answered.
type Grant struct {
	Token  Secret
	Expiry time.Time // zero when the answer gave no expires_in
	// UserID and Scopes come with Instagram's code exchange only.
	UserID string
	Scopes []string
}

// ExchangeCode turns the dialog's code into a short-lived token.
func (o *OAuth) ExchangeCode(ctx context.Context, l Login, code, redirectURI, verifier string) (*Grant, error) {
	if !o.HasAppSecret() {
		return nil, errors.New("logging in needs the Meta app: set INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET (or INSTAGRAM_APP_SECRET_FILE)")
	}
	form := url.Values{
		"client_id": {o.cfg.AppID}, "client_secret": {o.cfg.AppSecret},
		"grant_type": {"authorization_code"}, "redirect_uri": {redirectURI},
		"code": {strings.TrimSuffix(code, "#_")},
	}
	if verifier != "" && UsesPKCE(l) {
		form.Set("code_verifier", verifier)
	}
	// Both endpoints take a POSTed form: api.instagram.com documents POST;
	// graph.facebook.com's takes the POST that x/oauth2 (and its facebook
	// Endpoint) sends, which keeps the secret and code out of URLs.
	return o.tokenCall(ctx, http.MethodPost, o.tokenURL(l), form, code)
}

// LongLived exchanges a short-lived token for a long-lived one (60 days).
func (o *OAuth) LongLived(ctx context.Context, l Login, short Secret) (*Grant, error) {
	if !o.HasAppSecret() {
		return nil, errors.New("exchanging for a long-lived token needs INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET")
	}
	if l == LoginInstagram {
		// GET graph.instagram.com/access_token?grant_type=ig_exchange_token
		// &client_secret=…&access_token=…: Meta's reference lists all three
		// as required query parameters (docs/graph-api.md §12), so the token
		// goes in the query, not a header.
		q := url.Values{"grant_type": {"ig_exchange_token"}, "client_secret": {o.cfg.AppSecret}, "access_token": {short.Reveal()}}
		return o.tokenCall(ctx, http.MethodGet, o.graphBase(l)+"/access_token", q)
	}
	return o.fbExchange(ctx, short)
}

// fbExchange is fb_exchange_token: short → long-lived, and the re-exchange
// of a long-lived user token that Facebook Login uses instead of a refresh.
func (o *OAuth) fbExchange(ctx context.Context, tok Secret) (*Grant, error) {
	form := url.Values{
		"grant_type": {"fb_exchange_token"}, "client_id": {o.cfg.AppID},
		"client_secret": {o.cfg.AppSecret}, "fb_exchange_token": {tok.Reveal()},
	}
	return o.tokenCall(ctx, http.MethodPost, o.graphBase(LoginFacebook)+"/"+o.cfg.APIVersion+"/oauth/access_token", form, tok.Reveal())
}

// Refresh renews a long-lived token: Instagram Login refresh_access_token
// (the token must be at least 24 h old; no app secret needed), Facebook
// Login the fb_exchange_token re-exchange (needs the app).
func (o *OAuth) Refresh(ctx context.Context, l Login, tok Secret) (*Grant, error) {
	if l == LoginInstagram {
		// access_token is a required query parameter here too (the
		// reference); a header alone would leave the token unrenewed.
		q := url.Values{"grant_type": {"ig_refresh_token"}, "access_token": {tok.Reveal()}}
		return o.tokenCall(ctx, http.MethodGet, o.graphBase(l)+"/refresh_access_token", q)
	}
	if !o.HasAppSecret() {
		return nil, errors.New("renewing a Facebook Login token needs INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET")
	}
	return o.fbExchange(ctx, tok)
}

// TokenInfo is what debug_token says about a token.
type TokenInfo struct {
	Valid    bool
	Expiry   time.Time // zero: never expires
	IssuedAt time.Time
	Scopes   []string
	// Targets narrows a scope to the object ids it was granted for
	// (granular_scopes); a scope absent here applies to every object.
	Targets map[string][]string
}

// ScopesFor is the scopes that apply to the objects ids (an Instagram
// account and its Page).
func (ti *TokenInfo) ScopesFor(ids ...string) []string {
	var out []string
	for _, sc := range ti.Scopes {
		targets, narrowed := ti.Targets[sc]
		if !narrowed || len(targets) == 0 || slices.ContainsFunc(ids, func(id string) bool { return id != "" && slices.Contains(targets, id) }) {
			out = append(out, sc)
		}
	}
	return out
}

// DebugToken inspects a Facebook Login token with debug_token, the token
// itself authenticating the call (Meta accepts "a valid token of the same
// app"). input_token is a query parameter by Meta's design; it goes only
// to the Graph host over TLS and is never logged.
func (o *OAuth) DebugToken(ctx context.Context, tok Secret) (*TokenInfo, error) {
	c, err := o.graphClient(LoginFacebook, tok)
	if err != nil {
		return nil, err
	}
	var out struct {
		Data struct {
			IsValid   bool        `json:"is_valid"`
			ExpiresAt json.Number `json:"expires_at"`
			IssuedAt  json.Number `json:"issued_at"`
			Scopes    []string    `json:"scopes"`
			Granular  []struct {
				Scope     string   `json:"scope"`
				TargetIDs []string `json:"target_ids"`
			} `json:"granular_scopes"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		} `json:"data"`
	}
	if _, err := c.Do(ctx, http.MethodGet, "debug_token", url.Values{"input_token": {tok.Reveal()}}, &out); err != nil {
		return nil, err
	}
	d := out.Data
	ti := &TokenInfo{Valid: d.IsValid, Scopes: d.Scopes, Targets: map[string][]string{}}
	if n, _ := d.ExpiresAt.Int64(); n > 0 {
		ti.Expiry = time.Unix(n, 0).UTC()
	}
	if n, _ := d.IssuedAt.Int64(); n > 0 {
		ti.IssuedAt = time.Unix(n, 0).UTC()
	}
	for _, g := range d.Granular {
		ti.Targets[g.Scope] = g.TargetIDs
	}
	if !d.IsValid {
		msg := "the token is not valid"
		if d.Error != nil && d.Error.Message != "" {
			msg += ": " + graph.Redact(strings.ReplaceAll(d.Error.Message, tok.Reveal(), graph.Redacted))
		}
		return ti, errors.New(msg)
	}
	return ti, nil
}

// Identity is an Instagram professional account a token can act as.
type Identity struct {
	ID       string
	Username string
	PageID   string // Facebook Login: the Page it is linked to
}

// Discover finds the accounts behind a token: Instagram Login /me (one
// account), Facebook Login the Pages of /me/accounts with a linked
// Instagram professional account.
func (o *OAuth) Discover(ctx context.Context, l Login, tok Secret) ([]Identity, error) {
	c, err := o.graphClient(l, tok)
	if err != nil {
		return nil, err
	}
	if l == LoginInstagram {
		id, username, _, err := c.Me(ctx)
		if err != nil {
			return nil, err
		}
		return []Identity{{ID: id, Username: username}}, nil
	}
	pages, _, err := c.PageAccounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Identity
	for _, p := range pages {
		out = append(out, Identity{ID: p.IGUserID, Username: p.IGUsername, PageID: p.PageID})
	}
	if len(out) == 0 {
		return nil, errors.New("none of the Facebook Pages this login reaches has a linked Instagram professional account: " +
			"link the account to a Page, grant pages_show_list and select that Page in the login dialog")
	}
	return out, nil
}

// graphClient is a one-token client with appsecret_proof when the secret
// is known.
func (o *OAuth) graphClient(l Login, tok Secret) (*graph.Client, error) {
	return graph.NewClient(
		graph.WithBaseURL(o.graphBase(l)), graph.WithAPIVersion(o.cfg.APIVersion),
		graph.WithHTTPClient(o.cfg.HTTPClient), graph.WithAppSecret(o.cfg.AppSecret),
		graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.Reveal(), TokenType: "Bearer"})),
	)
}

// OAuthError is a token endpoint's refusal, in either of Meta's shapes.
type OAuthError struct {
	Endpoint   string // path only
	HTTPStatus int
	Code       int
	Subcode    int
	Type       string
	Message    string
}

func (e *OAuthError) Error() string {
	s := fmt.Sprintf("%s refused: %s", e.Endpoint, e.Message)
	if e.Type != "" || e.Code != 0 {
		s += fmt.Sprintf(" (%s, code %d", e.Type, e.Code)
		if e.Subcode != 0 {
			s += fmt.Sprintf("/%d", e.Subcode)
		}
		s += ")"
	}
	return s
}

// tokenCall sends one request to a token endpoint: form in the body for
// POST and in the query for GET, as Meta documents each endpoint (the
// Instagram Login ones take access_token in the query). The URL, which may
// hold the token, the client secret and the proof, never reaches an error:
// errors name the host and path only, and every secret is scrubbed from
// what the endpoint said.
func (o *OAuth) tokenCall(ctx context.Context, method, endpoint string, form url.Values, secrets ...string) (*Grant, error) {
	if tok := form.Get("access_token"); tok != "" && o.cfg.AppSecret != "" {
		// appsecret_proof on every call made with a token, as the Graph
		// client does (Meta requires it when "Require App Secret" is on).
		form.Set("appsecret_proof", graph.AppSecretProof(o.cfg.AppSecret, tok))
	}
	secrets = append(secrets, o.cfg.AppSecret, form.Get("access_token"), form.Get("client_secret"), form.Get("code"), form.Get("code_verifier"),
		form.Get("fb_exchange_token"), form.Get("appsecret_proof"))
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, errors.New("auth: token endpoint URL does not parse")
	}
	where := u.Host + u.Path
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else {
		u.RawQuery = form.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: cannot build request", where)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold the client secret
		}
		return nil, fmt.Errorf("auth: %s: %s", where, clean(err.Error(), secrets))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("auth: %s: reading the answer: %s", where, clean(err.Error(), secrets))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := parseOAuthError(data)
		e.Endpoint, e.HTTPStatus = where, resp.StatusCode
		e.Message = clean(e.Message, secrets)
		return nil, e
	}
	g, err := parseGrant(data, o.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", where, err)
	}
	return g, nil
}

func clean(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, graph.Redacted)
		}
	}
	return graph.Redact(s)
}

// parseGrant reads {access_token, token_type, expires_in[, user_id,
// permissions]} flat or wrapped in {"data":[…]} (Instagram's code exchange).
func parseGrant(data []byte, now time.Time) (*Grant, error) {
	type row struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.Number     `json:"expires_in"`
		UserID      json.RawMessage `json:"user_id"`
		Permissions json.RawMessage `json:"permissions"`
	}
	var flat struct {
		row
		Data []row `json:"data"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&flat); err != nil {
		return nil, errors.New("the answer is not the JSON a token endpoint sends")
	}
	r := flat.row
	if r.AccessToken == "" && len(flat.Data) > 0 {
		r = flat.Data[0]
	}
	if r.AccessToken == "" {
		return nil, errors.New("the answer has no access_token")
	}
	g := &Grant{Token: Secret(r.AccessToken), UserID: rawID(r.UserID), Scopes: rawScopes(r.Permissions)}
	if n, err := r.ExpiresIn.Int64(); err == nil && n > 0 {
		g.Expiry = now.Add(time.Duration(n) * time.Second).UTC()
	}
	return g, nil
}

// rawID reads an id sent as a string or a number (every digit kept).
func rawID(b json.RawMessage) string {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		return n.String()
	}
	return ""
}

// rawScopes reads permissions as "a,b" or ["a","b"].
func rawScopes(b json.RawMessage) []string {
	var list []string
	if json.Unmarshal(b, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				list = append(list, f)
			}
		}
	}
	return list
}

// parseOAuthError reads the Graph envelope {"error":{message,type,code,
// error_subcode}}, api.instagram.com's flat {error_type,code,error_message}
// or RFC 6749's {error,error_description}.
func parseOAuthError(data []byte) *OAuthError {
	var env struct {
		Error json.RawMessage `json:"error"`
		// flat (api.instagram.com)
		ErrorType    string      `json:"error_type"`
		Code         json.Number `json:"code"`
		ErrorMessage string      `json:"error_message"`
		// RFC 6749
		Description string `json:"error_description"`
	}
	e := &OAuthError{}
	if json.Unmarshal(data, &env) != nil {
		e.Message = "the answer is not JSON"
		return e
	}
	var inner struct {
		Message string      `json:"message"`
		Type    string      `json:"type"`
		Code    json.Number `json:"code"`
		Subcode json.Number `json:"error_subcode"`
	}
	var s string
	switch {
	case len(env.Error) > 0 && json.Unmarshal(env.Error, &inner) == nil && inner.Message != "":
		e.Message, e.Type = inner.Message, inner.Type
		e.Code, e.Subcode = atoi(inner.Code), atoi(inner.Subcode)
	case env.ErrorMessage != "":
		e.Message, e.Type, e.Code = env.ErrorMessage, env.ErrorType, atoi(env.Code)
	case len(env.Error) > 0 && json.Unmarshal(env.Error, &s) == nil:
		e.Message, e.Type = s, "oauth2"
		if env.Description != "" {
			e.Message += ": " + env.Description
		}
	default:
		e.Message = "no error message"
	}
	return e
}

func atoi(n json.Number) int {
	v, _ := strconv.Atoi(n.String())
	return v
}
