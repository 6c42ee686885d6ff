package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
)

// expirySoon is when an expiry becomes a warning: long enough to act,
// short enough not to nag (the server renews stored tokens 30 days ahead).
const expirySoon = 7 * 24 * time.Hour

// accountRun is what the checks of one account learned, in order.
type accountRun struct {
	t            target
	client       *graph.Client
	id, username string
	pageID       string // Facebook Login: the Page the account is linked to
	debug        *auth.TokenInfo
	tokenOK      bool // Instagram accepted the token
	tokenRefused bool // Instagram said the token is bad
	loginOK      bool // and it is of the configured login type
	accountOK    bool // and the account resolved
	usage        usageSeen
	limited      error // the first rate-limit refusal, if any
	results      []Result
}

func (ar *accountRun) add(r Result) {
	ar.results = append(ar.results, r)
}

// named puts the account, as far as it resolved, on every result.
func (ar *accountRun) named() {
	for i := range ar.results {
		ar.results[i].Account, ar.results[i].Username = ar.id, ar.username
	}
}

// note keeps what a failed call says about rate limits for the rate-limit
// check, and returns err.
func (ar *accountRun) note(err error) error {
	if err != nil && ar.limited == nil && failure.Classify(err).Kind == failure.RateLimited {
		ar.limited = err
	}
	return err
}

// usageSeen is the highest usage the answers' headers reported.
type usageSeen struct {
	mu             sync.Mutex
	seen           bool
	app, business  int
	regainMinutes  int
	answersWithout int
}

func (u *usageSeen) observe(_, _ string, _ int, us graph.Usage) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if us.App == nil && len(us.BUC) == 0 {
		u.answersWithout++
		return
	}
	u.seen = true
	if us.App != nil {
		u.app = max(u.app, us.App.CallCount, us.App.TotalCPUTime, us.App.TotalTime)
	}
	for _, entries := range us.BUC {
		for _, b := range entries {
			u.business = max(u.business, b.CallCount, b.TotalCPUTime, b.TotalTime)
		}
	}
	u.regainMinutes = max(u.regainMinutes, int(us.RegainAccessIn()/time.Minute))
}

// graphBase is the Graph host of a login type: INSTAGRAM_GRAPH_URL when
// set, else the login type's own host (as the server decides).
func (d *doctor) graphBase(l auth.Login) string {
	if d.cfg.GraphURL != "" {
		return d.cfg.GraphURL
	}
	return l.GraphURL()
}

func (d *doctor) appSecret() string {
	if d.cfg.Sandbox {
		return "" // the simulation is not the app's: no appsecret_proof
	}
	return string(d.cfg.AppSecret)
}

func (d *doctor) newClient(t target, observe func(method, path string, status int, u graph.Usage)) (*graph.Client, error) {
	ua := "igmcp-doctor"
	if d.cfg.Version != "" {
		ua += "/" + d.cfg.Version
	}
	return graph.NewClient(graph.WithBaseURL(d.graphBase(t.login)), graph.WithAPIVersion(d.cfg.APIVersion),
		graph.WithHTTPClient(d.hc), graph.WithAppSecret(d.appSecret()), graph.WithUserAgent(ua), graph.WithObserver(observe),
		graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: t.token.Reveal(), TokenType: "Bearer"})))
}

// checkAccount runs the per-account checks: token, login, account,
// scopes, quota, rate_limit, webhooks.
func (d *doctor) checkAccount(ctx context.Context, st store.Store, t target) *accountRun {
	ar := &accountRun{t: t, id: t.id, username: t.username}
	c, err := d.newClient(t, ar.usage.observe)
	if err != nil {
		ar.add(Result{Name: CheckToken, Status: Fail, Detail: "cannot call the Graph API: " + err.Error(),
			Fix: "fix INSTAGRAM_GRAPH_URL and INSTAGRAM_API_VERSION"})
		ar.named()
		return ar
	}
	ar.client = c
	if t.login == auth.LoginInstagram {
		d.checkInstagram(ctx, ar)
	} else {
		d.checkFacebook(ctx, ar)
	}
	ar.add(d.checkScopes(ctx, ar))
	ar.add(d.checkQuota(ctx, ar))
	ar.add(d.checkRateLimit(ctx, st, ar))
	ar.add(d.checkWebhooks(ctx, ar))
	ar.named()
	return ar
}

// igMe is GET /me?fields=user_id,username,account_type (Instagram Login).
type igMe struct {
	// Ids are numeric strings; json.Number takes them quoted or not.
	UserID      json.Number `json:"user_id"`
	ID          json.Number `json:"id"`
	Username    string      `json:"username"`
	AccountType string      `json:"account_type"`
}

// checkInstagram: Instagram documents no debug_token, so one /me read
// says whether the token works, that it is an Instagram Login token, and
// which account it acts as.
func (d *doctor) checkInstagram(ctx context.Context, ar *accountRun) {
	var me igMe
	_, err := ar.client.Do(ctx, http.MethodGet, "me", url.Values{"fields": {"user_id,username,account_type"}}, &me)
	if _, msg := graphCode(err); strings.Contains(msg, "(account_type)") {
		// account_type is seen in answers, not in Meta's reference
		// (docs/graph-api.md §9): without it the account is still known.
		_, err = ar.client.Do(ctx, http.MethodGet, "me", url.Values{"fields": {"user_id,username"}}, &me)
	}
	ar.note(err)
	otherLogin := notThisLogin(err)
	switch {
	case err == nil, otherLogin:
		ar.tokenOK = true
		ar.add(d.tokenValid(ar, "me", ar.t.expiry))
	default:
		ar.add(d.tokenRefused(ar, err))
	}
	ar.add(d.loginResult(ar, err))
	if !ar.loginOK {
		ar.add(skipped(CheckAccount, d.why(ar)))
		return
	}
	id := string(me.UserID)
	if id == "" {
		id = string(me.ID)
	}
	facts := map[string]any{"id": id, "username": me.Username, "account_type": me.AccountType}
	if want := ar.t.id; want != "" && want != id {
		fix := "set INSTAGRAM_USER_ID=" + id + ", or unset it"
		if !ar.t.fromEnv {
			fix = "log the account in again: `" + ar.t.login.LoginCommand() + "`"
		}
		ar.add(Result{Name: CheckAccount, Status: Fail, Facts: facts,
			Detail: fmt.Sprintf("the token acts as %s, not as account %s", label(id, me.Username), want), Fix: fix})
		return
	}
	ar.id, ar.username = id, me.Username
	switch me.AccountType {
	case "BUSINESS", "MEDIA_CREATOR", "":
		ar.accountOK = true
		kind := map[string]string{"BUSINESS": "a business account", "MEDIA_CREATOR": "a creator account", "": "a professional account (Instagram Login serves no other kind)"}[me.AccountType]
		ar.add(Result{Name: CheckAccount, Status: OK, Detail: "resolves; " + kind, Facts: facts})
	default:
		ar.add(Result{Name: CheckAccount, Status: Fail, Facts: facts,
			Detail: "is a " + strings.ToLower(me.AccountType) + " account, not a professional one: the Graph API publishes only for business and creator accounts",
			Fix:    "switch it to a professional account (business or creator) in the Instagram app's settings"})
	}
}

// checkFacebook: debug_token says whether the token is valid, when it
// expires and what it may do; /me/accounts which Instagram accounts it
// reaches through the user's Pages.
func (d *doctor) checkFacebook(ctx context.Context, ar *accountRun) {
	oa := auth.NewOAuth(auth.OAuthConfig{AppID: d.cfg.AppID, AppSecret: d.appSecret(),
		Endpoints: auth.Endpoints{GraphURL: d.graphBase(auth.LoginFacebook)}, APIVersion: d.cfg.APIVersion, HTTPClient: d.hc, Now: d.now})
	info, err := oa.DebugToken(ctx, ar.t.token)
	ar.note(err)
	switch {
	case err == nil:
		ar.tokenOK, ar.debug = true, info
		ar.add(d.tokenValid(ar, "debug_token", info.Expiry))
	case info != nil && !info.Valid:
		ar.tokenRefused = true
		ar.add(Result{Name: CheckToken, Status: Fail, Detail: "Meta says the token is not valid: " + strings.TrimPrefix(err.Error(), "the token is not valid: "),
			Fix: d.tokenFix(ar), Facts: map[string]any{"source": source(ar.t), "checked_with": "debug_token"}})
	case refused(err):
		ar.add(d.tokenRefused(ar, err))
	default:
		// debug_token itself failed (not the token): ask /me instead.
		_, why := describe(err)
		var me struct {
			ID string `json:"id"`
		}
		_, meErr := ar.client.Do(ctx, http.MethodGet, "me", url.Values{"fields": {"id"}}, &me)
		ar.note(meErr)
		if meErr != nil && !notThisLogin(meErr) {
			ar.add(d.tokenRefused(ar, meErr))
			break
		}
		ar.tokenOK = true
		r := d.tokenValid(ar, "me", ar.t.expiry)
		r.Detail += " (debug_token failed: " + why + ")"
		ar.add(r)
	}
	var pages []graph.PageAccount
	var pagesErr error
	if ar.tokenOK {
		pages, _, pagesErr = ar.client.PageAccounts(ctx)
		ar.note(pagesErr)
	} else {
		pagesErr = errTokenRefused
	}
	ar.add(d.loginResult(ar, pagesErr))
	if !ar.loginOK {
		ar.add(skipped(CheckAccount, d.why(ar)))
		return
	}
	ar.add(d.facebookAccount(ctx, ar, pages, pagesErr))
}

var errTokenRefused = errors.New("the token was refused")

func (d *doctor) facebookAccount(ctx context.Context, ar *accountRun, pages []graph.PageAccount, pagesErr error) Result {
	want := ar.t.id
	var names []string
	for _, p := range pages {
		names = append(names, label(p.IGUserID, p.IGUsername))
	}
	if pagesErr != nil {
		kind, why := describe(pagesErr)
		if kind == failure.RateLimited || kind == failure.Transient {
			return Result{Name: CheckAccount, Status: Fail, Detail: "the account cannot be looked up now: " + why, Fix: fixFor(kind, ar.t)}
		}
		if want == "" {
			return Result{Name: CheckAccount, Status: Fail, Detail: "cannot list the token's Facebook Pages to find the Instagram account: " + why,
				Fix: "grant pages_show_list (and select the Page in the login dialog), or set INSTAGRAM_USER_ID"}
		}
		// The server calls the account by id and needs no Page list.
		var u struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		}
		_, err := ar.client.Do(ctx, http.MethodGet, want, url.Values{"fields": {"id,username"}}, &u)
		if ar.note(err) != nil {
			_, why := describe(err)
			return Result{Name: CheckAccount, Status: Fail, Detail: "account " + want + " does not resolve: " + why,
				Fix: "set INSTAGRAM_USER_ID to the id of an Instagram professional account linked to one of the token's Pages"}
		}
		ar.username, ar.accountOK = u.Username, true
		return Result{Name: CheckAccount, Status: Warn, Detail: "resolves, but the token's Pages cannot be listed (" + why + "), so its Page is unknown",
			Fix: "grant pages_show_list and select the account's Page in the login dialog", Facts: map[string]any{"id": want, "username": u.Username}}
	}
	var found *graph.PageAccount
	switch {
	case len(pages) == 0:
		return Result{Name: CheckAccount, Status: Fail, Detail: "none of the token's Facebook Pages has a linked Instagram professional account",
			Fix: "link the Instagram professional account to a Facebook Page, then log in again selecting that Page (pages_show_list)"}
	case want != "":
		for i := range pages {
			if pages[i].IGUserID == want {
				found = &pages[i]
			}
		}
		if found == nil {
			fix := "set INSTAGRAM_USER_ID to one of them, or link account " + want + " to one of the token's Pages"
			if !ar.t.fromEnv {
				fix = "log the account in again: `" + ar.t.login.LoginCommand() + "`, selecting its Page"
			}
			return Result{Name: CheckAccount, Status: Fail, Detail: "the token does not reach account " + want + "; it reaches " + strings.Join(names, ", "), Fix: fix}
		}
	case len(pages) > 1:
		return Result{Name: CheckAccount, Status: Fail, Detail: "the token reaches several Instagram accounts: " + strings.Join(names, ", "),
			Fix: "set INSTAGRAM_USER_ID to the id of the one to act as"}
	default:
		found = &pages[0]
	}
	ar.id, ar.username, ar.pageID, ar.accountOK = found.IGUserID, found.IGUsername, found.PageID, true
	return Result{Name: CheckAccount, Status: OK,
		Detail: "resolves; a professional account linked to the Facebook Page " + quote(found.PageName),
		Facts:  map[string]any{"id": found.IGUserID, "username": found.IGUsername, "page_id": found.PageID}}
}

// tokenValid is the token check of a token Instagram accepted; expiry is
// what debug_token or the token store says (zero: never, or unknown).
func (d *doctor) tokenValid(ar *accountRun, checkedWith string, expiry time.Time) Result {
	facts := map[string]any{"source": source(ar.t), "checked_with": checkedWith, "expires_at": nil}
	if expiry.IsZero() {
		detail := "valid; it never expires"
		if checkedWith != "debug_token" {
			detail = "valid; expiry unknown"
			if ar.t.login == auth.LoginInstagram {
				detail += " (Instagram Login has no documented debug_token; a long-lived token lasts 60 days from its last refresh)"
			}
		}
		return Result{Name: CheckToken, Status: OK, Detail: detail, Facts: facts}
	}
	facts["expires_at"] = expiry.UTC().Format(time.RFC3339)
	left := expiry.Sub(d.now())
	when := expiry.UTC().Format("2006-01-02 15:04 UTC")
	switch {
	case left <= 0:
		return Result{Name: CheckToken, Status: Warn, Detail: "Instagram accepts the token, but its recorded expiry (" + when + ") has passed",
			Fix: d.renewFix(ar), Facts: facts}
	case left < expirySoon:
		return Result{Name: CheckToken, Status: Warn, Detail: "valid, but it expires " + when + " (in " + humanDays(left) + ")",
			Fix: d.renewFix(ar), Facts: facts}
	}
	return Result{Name: CheckToken, Status: OK, Detail: "valid until " + when + " (in " + humanDays(left) + ")", Facts: facts}
}

func (d *doctor) tokenRefused(ar *accountRun, err error) Result {
	kind, why := describe(err)
	if kind != failure.AuthExpired {
		return Result{Name: CheckToken, Status: Fail, Detail: "the token could not be checked: " + why, Fix: fixFor(kind, ar.t),
			Facts: map[string]any{"source": source(ar.t)}}
	}
	ar.tokenRefused = true
	return Result{Name: CheckToken, Status: Fail, Detail: "Instagram refused the token: " + why, Fix: d.tokenFix(ar),
		Facts: map[string]any{"source": source(ar.t)}}
}

// tokenFix is what to do about a token Instagram refused.
func (d *doctor) tokenFix(ar *accountRun) string {
	l := ar.t.login
	if !ar.t.fromEnv {
		return "log the account in again: `" + l.LoginCommand() + "`"
	}
	fix := "set a new INSTAGRAM_ACCESS_TOKEN, or run `" + l.LoginCommand() + "` and unset INSTAGRAM_ACCESS_TOKEN"
	if hint := tokenHint(ar.t.token); hint != "" && hint != l {
		fix = "if this is " + article(hint) + " Login token, set INSTAGRAM_LOGIN=" + string(hint) + "; otherwise " + fix
	}
	return fix
}

func (d *doctor) renewFix(ar *accountRun) string {
	if ar.t.fromEnv {
		return "get a new token before then, or store it with `igmcp auth add` so the server renews it"
	}
	fix := "run `igmcp auth refresh --account " + ar.t.id + "`"
	if ar.t.login == auth.LoginFacebook {
		fix += " (Facebook Login renewal needs INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET)"
	}
	return fix + "; if that fails, `" + ar.t.login.LoginCommand() + "`"
}

// loginResult is the login check. identityErr is the answer to the call
// only a token of the configured login type can make (/me/accounts for
// Facebook Login, /me?fields=user_id for Instagram Login).
func (d *doctor) loginResult(ar *accountRun, identityErr error) Result {
	l := ar.t.login
	hint := tokenHint(ar.t.token)
	facts := map[string]any{"login": string(l), "token_prefix_suggests": string(hint)}
	fixOther := func(other auth.Login) string {
		if ar.t.fromEnv {
			return "set INSTAGRAM_LOGIN=" + string(other)
		}
		return "log the account in again with the right login type: `" + other.LoginCommand() + "`"
	}
	other := auth.LoginInstagram
	if l == auth.LoginInstagram {
		other = auth.LoginFacebook
	}
	if hostLogin := loginOfHost(d.cfg.GraphURL); hostLogin != "" && hostLogin != l {
		return Result{Name: CheckLogin, Status: Fail, Facts: facts,
			Detail: "INSTAGRAM_GRAPH_URL is " + hostLogin.Title() + " Login's host, but this account uses " + l.Title() + " Login",
			Fix:    "unset INSTAGRAM_GRAPH_URL: each login type has its own host"}
	}
	switch {
	case ar.tokenOK && identityErr == nil:
		ar.loginOK = true
		detail := l.Title() + " Login token, as configured"
		if hint != "" && hint != l {
			detail += " (its prefix suggested " + hint.Title() + " Login; Instagram's answer is what counts)"
		}
		return Result{Name: CheckLogin, Status: OK, Detail: detail, Facts: facts}
	case ar.tokenOK && notThisLogin(identityErr):
		_, why := describe(identityErr)
		return Result{Name: CheckLogin, Status: Fail, Facts: facts,
			Detail: "the token is not " + article(l) + " Login token: " + why, Fix: fixOther(other)}
	case ar.tokenRefused && hint != "" && hint != l:
		return Result{Name: CheckLogin, Status: Fail, Facts: facts,
			Detail: "the token looks like " + article(hint) + " Login token (by its prefix) and " + l.Title() + " Login's host refused it",
			Fix:    fixOther(hint)}
	case !ar.tokenOK:
		return skipped(CheckLogin, d.why(ar))
	}
	// The token works but the identity call failed for another reason
	// (a missing Page permission): that is the account check's to report.
	ar.loginOK = true
	return Result{Name: CheckLogin, Status: OK, Detail: l.Title() + " Login token, as configured", Facts: facts}
}

// why says which earlier check stopped the account's later ones.
func (d *doctor) why(ar *accountRun) string {
	switch {
	case ar.tokenRefused:
		return "the token was refused (see token)"
	case !ar.tokenOK:
		return "the token could not be checked (see token)"
	case !ar.loginOK:
		return "the token is of another login type (see login)"
	}
	return "the account did not resolve (see account)"
}

// tokenHint is the login type a token's prefix suggests: Facebook user
// tokens start EAA, Instagram Login tokens IGAA (docs/graph-api.md §12,
// observed, not documented): a hint for messages, never a decision.
func tokenHint(tok auth.Secret) auth.Login {
	s := tok.Reveal()
	switch {
	case strings.HasPrefix(s, "EAA"):
		return auth.LoginFacebook
	case strings.HasPrefix(s, "IGAA"), strings.HasPrefix(s, "IGQ"):
		return auth.LoginInstagram
	}
	return ""
}

// loginOfHost is the login type whose Meta host u is; "" for any other
// host (a simulator, a proxy) or none.
func loginOfHost(u string) auth.Login {
	h := hostOf(u)
	for _, l := range auth.Logins() {
		if h != "" && h == hostOf(l.GraphURL()) {
			return l
		}
	}
	return ""
}

// refused: the answer says the token itself is bad.
func refused(err error) bool {
	var te *graph.TokenError
	code, _ := graphCode(err)
	return errors.As(err, &te) || code == 190 || code == 102
}

// notThisLogin: the answer is one a token of the other login type gets on
// this host: an edge or field that exists only for the other (/me/accounts
// on an Instagram user, user_id on a Facebook user).
func notThisLogin(err error) bool {
	code, msg := graphCode(err)
	return code == 2500 || code == 100 && strings.Contains(msg, "nonexisting field")
}

// fixFor is what to do after a call failed with an error of kind.
func fixFor(kind failure.Kind, t target) string {
	switch kind {
	case failure.AuthExpired:
		return "log in again: `" + t.login.LoginCommand() + "`"
	case failure.PermissionDenied:
		return "grant the permission Instagram names and log in again: `" + t.login.LoginCommand() + "`"
	case failure.RateLimited:
		return "wait for the rate limit to reset (see rate_limit), then run igmcp doctor again"
	case failure.Transient:
		return "check the network and INSTAGRAM_GRAPH_URL, then run igmcp doctor again"
	}
	return "read Instagram's message above; if the setup looks right, run igmcp doctor again later"
}

// article is "a Facebook" or "an Instagram".
func article(l auth.Login) string {
	if l == auth.LoginInstagram {
		return "an Instagram"
	}
	return "a Facebook"
}

func source(t target) string {
	if t.fromEnv {
		return "env"
	}
	return "store"
}

func quote(s string) string {
	if s == "" {
		return "(unnamed)"
	}
	return "“" + s + "”"
}

func humanDays(d time.Duration) string {
	switch days := int(d.Hours() / 24); {
	case days >= 2:
		return fmt.Sprintf("%d days", days)
	case d >= time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d minutes", max(int(d.Minutes()), 1))
}
