package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

// doctor is one run of the checks.
type doctor struct {
	cfg      Config
	hc       *http.Client
	now      func() time.Time
	toolsets []string
}

// Run runs every check, in report order: the configuration, the store,
// the media root and the staging bucket, then for each account (the one
// of INSTAGRAM_ACCESS_TOKEN, else every stored one) its token, login type,
// account, scopes, quota, rate-limit usage and webhook subscription, and
// last the probe. A check that cannot run because an earlier one failed
// is skipped, saying which.
func Run(ctx context.Context, cfg Config) *Report {
	r := &Report{Sandbox: cfg.Sandbox}
	if cfg.ParseErr != nil {
		r.Results = append(r.Results, Result{Name: CheckConfig, Status: Fail,
			Detail: "the configuration does not parse: " + cfg.ParseErr.Error(),
			Fix:    "correct the variable or flag it names (docs/reference.md §2), then run igmcp doctor again"})
		for _, name := range []string{CheckStore, CheckMediaRoot, CheckStaging, CheckToken} {
			r.Results = append(r.Results, skipped(name, "the configuration does not parse"))
		}
		return r
	}
	d := &doctor{cfg: cfg, hc: cfg.HTTPClient, now: cfg.Now, toolsets: cfg.Toolsets}
	if d.hc == nil {
		d.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.toolsets == nil {
		d.toolsets = tools.DefaultToolsets(cfg.Webhooks)
	}

	st, storeResult := d.checkStore(ctx)
	if st != nil {
		defer st.Close()
	}
	r.Results = append(r.Results, d.checkConfig(), storeResult, d.checkMediaRoot(), d.checkStaging(ctx))
	targets, noAccounts := d.targets(ctx, st)
	if noAccounts != nil {
		r.Results = append(r.Results, *noAccounts)
	}
	var runs []*accountRun
	for _, t := range targets {
		ar := d.checkAccount(ctx, st, t)
		runs = append(runs, ar)
		r.Results = append(r.Results, ar.results...)
	}
	r.Results = append(r.Results, d.probe(ctx, st, runs))
	return r
}

func skipped(name, why string) Result {
	return Result{Name: name, Status: Skip, Detail: why}
}

// target is one account to check and where its token comes from.
type target struct {
	id, username string
	login        auth.Login
	token        auth.Secret
	fromEnv      bool
	scopes       []string  // as stored at login; nil: unknown
	expiry       time.Time // as stored; zero: unknown or never
}

// targets are the accounts the server would act as: the one of
// INSTAGRAM_ACCESS_TOKEN, else every account of the token store. With
// none, the token check's failure says why.
func (d *doctor) targets(ctx context.Context, st store.Store) ([]target, *Result) {
	if d.cfg.Token != "" {
		return []target{{id: d.cfg.UserID, login: d.cfg.Login, token: d.cfg.Token, fromEnv: true}}, nil
	}
	noToken := func(detail, fix string) *Result {
		return &Result{Name: CheckToken, Status: Fail, Detail: detail, Fix: fix}
	}
	if st == nil {
		return nil, noToken("no INSTAGRAM_ACCESS_TOKEN, and the token store cannot be read (see store)",
			"fix the store, or set INSTAGRAM_ACCESS_TOKEN (or INSTAGRAM_ACCESS_TOKEN_FILE)")
	}
	stored, err := st.ListTokens(ctx)
	if err != nil {
		return nil, noToken("the token store cannot be read: "+err.Error(), "fix the store (see store), or set INSTAGRAM_ACCESS_TOKEN")
	}
	if len(stored) == 0 {
		return nil, noToken("no access token: INSTAGRAM_ACCESS_TOKEN is not set and no account is stored",
			"run `"+d.cfg.Login.LoginCommand()+"`, or set INSTAGRAM_ACCESS_TOKEN (or INSTAGRAM_ACCESS_TOKEN_FILE)")
	}
	// Loading a key from the data directory generates one when the file
	// is missing; with accounts stored under a key, that would only leave
	// a useless key behind.
	if k := d.cfg.Key; k.Key == "" && k.KeyFile == "" {
		if path := filepath.Join(k.DataDir, auth.KeyFileName); !fileExists(path) {
			return nil, noToken(fmt.Sprintf("%d stored %s, but the key that decrypts them (%s) is missing", len(stored), plural(len(stored), "account", "accounts"), path),
				"set IGMCP_SECRET_KEY or IGMCP_SECRET_KEY_FILE to the original key, or run `igmcp auth reset --yes` and log in again")
		}
	}
	key, err := auth.LoadKey(d.cfg.Key)
	if err != nil {
		return nil, noToken("the token store's key cannot be loaded: "+err.Error(), "fix IGMCP_SECRET_KEY or IGMCP_SECRET_KEY_FILE")
	}
	tokens, err := auth.NewTokenStore(ctx, st, key)
	if err != nil {
		fix := "fix the store (see store)"
		if errors.Is(err, auth.ErrWrongKey) {
			fix = "set IGMCP_SECRET_KEY or IGMCP_SECRET_KEY_FILE to the original key, or run `igmcp auth reset --yes` and log in again"
		}
		return nil, noToken("the stored accounts cannot be decrypted: "+err.Error(), fix)
	}
	recs, err := tokens.List(ctx)
	if err != nil {
		return nil, noToken("the stored accounts cannot be read: "+err.Error(), "run `igmcp auth status`, then log the account in again")
	}
	out := make([]target, 0, len(recs))
	for _, rec := range recs {
		out = append(out, target{id: rec.AccountID, username: rec.Username, login: rec.Login, token: rec.Token,
			scopes: rec.Scopes, expiry: rec.Expiry})
	}
	return out, nil
}

// describe is a failed Graph call for a detail line, and its kind.
func describe(err error) (failure.Kind, string) {
	fe := failure.Classify(err)
	msg := strings.TrimSuffix(fe.Message, ".")
	if fe.Graph != nil {
		code := fmt.Sprint(fe.Graph.Code)
		if fe.Graph.Subcode != 0 {
			code += fmt.Sprintf("/%d", fe.Graph.Subcode)
		}
		msg = "Instagram answered “" + strings.TrimPrefix(msg, "Instagram: ") + "” (code " + code + ")"
	}
	return fe.Kind, msg
}

// graphCode is the code and message of a Graph error answer.
func graphCode(err error) (int, string) {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Code, ge.Message
	}
	return 0, ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
