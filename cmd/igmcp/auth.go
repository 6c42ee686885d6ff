package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
)

const authUsage = `usage: igmcp auth <command> [flags]

commands:
  login     log an account in through Meta's login dialog (loopback redirect on 127.0.0.1)
              --login facebook|instagram   login flow (default INSTAGRAM_LOGIN, else facebook)
              --no-browser                 print the URL instead of opening a browser; on a
                                           headless machine, paste the address the browser
                                           ends on back into the terminal
              --scopes a,b                 permissions to ask for (default: what the tools use)
              --account id|username,...    Facebook Login: store only these of the accounts found
              --port N                     loopback port (default: a random free port)
              --timeout D                  how long to wait for the dialog (default 5m)
  add       store a token you already have (INSTAGRAM_ACCESS_TOKEN or _FILE, else read
            from standard input)   --login facebook|instagram  --account id|username,...
  status    show stored accounts, login flow, token expiry and scopes (never the token)
  refresh   renew long-lived tokens now          [--account id|username]
  remove    forget an account                    --account id|username
  reset     forget every account and make the current key the store's key   --yes

Needs INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET (or _FILE) for login and for renewing
Facebook Login tokens. Tokens are stored encrypted (AES-256-GCM) in IGMCP_DATA_DIR (or
IGMCP_DATABASE_URL) with the key from IGMCP_SECRET_KEY / IGMCP_SECRET_KEY_FILE, else a
key file generated in the data directory. Hosts: INSTAGRAM_AUTHORIZE_URL,
INSTAGRAM_TOKEN_URL, INSTAGRAM_GRAPH_URL.
`

// authSettings is the configuration the auth commands and the token store
// share with the server (see build); parseAuthSettings (config.go) reads it.
type authSettings struct {
	dataDir        string
	databaseURL    string
	secretKey      string // IGMCP_SECRET_KEY
	secretKeyFile  string // IGMCP_SECRET_KEY_FILE (its permissions are checked)
	appID          string
	appSecret      string
	login          auth.Login
	endpoints      auth.Endpoints
	apiVersion     string
	defaultAccount string
	logLevel       slog.Level
	token          string // INSTAGRAM_ACCESS_TOKEN(_FILE): what `auth add` stores
}

func (s authSettings) keyConfig() auth.KeyConfig {
	return auth.KeyConfig{Key: s.secretKey, KeyFile: s.secretKeyFile, DataDir: s.dataDir}
}

func (s authSettings) oauth(hc *http.Client) *auth.OAuth {
	return auth.NewOAuth(auth.OAuthConfig{AppID: s.appID, AppSecret: s.appSecret, Endpoints: s.endpoints,
		APIVersion: s.apiVersion, HTTPClient: hc})
}

// graphURL is the Graph host of a login flow: INSTAGRAM_GRAPH_URL when set,
// else the flow's own host.
func (s authSettings) graphURL(l auth.Login) string {
	if s.endpoints.GraphURL != "" {
		return s.endpoints.GraphURL
	}
	return l.GraphURL()
}

// openTokenStore checks the key against the store.
func openTokenStore(ctx context.Context, st store.Tokens, s authSettings) (*auth.TokenStore, error) {
	key, err := auth.LoadKey(s.keyConfig())
	if err != nil {
		return nil, err
	}
	return auth.NewTokenStore(ctx, st, key)
}

// openAccounts is the token-store side of build(): the registry of stored
// accounts, whose tokens are renewed in the background until stop is
// called (stop waits, so the store is never closed under a renewal).
// graphOptions gives an account's client options (host for its login flow,
// version, HTTP client, app secret, rate limiter); tune adjusts the
// registry (tests: clock, policy).
func openAccounts(ctx context.Context, st store.Tokens, s authSettings, logger *slog.Logger, hc *http.Client,
	graphOptions func(accountID string, login auth.Login) []graph.Option, tune ...func(*auth.RegistryConfig)) (reg *auth.Registry, stop func(), err error) {
	tokens, err := openTokenStore(ctx, st, s)
	if err != nil {
		return nil, nil, err
	}
	cfg := auth.RegistryConfig{Tokens: tokens, OAuth: s.oauth(hc), GraphOptions: graphOptions,
		Default: s.defaultAccount, Logger: logger}
	for _, f := range tune {
		f(&cfg)
	}
	reg, err = auth.NewRegistry(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		reg.Run(ctx)
	}()
	return reg, func() { cancel(); <-done }, nil
}

// authCmd is one run of `igmcp auth …`.
type authCmd struct {
	s      authSettings
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// openBrowser opens a URL; tests never reach it (--no-browser).
	openBrowser func(string) error
}

func runAuth(args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprint(w, authUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	s, err := parseAuthSettings(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "igmcp auth: %v\n", err)
		return 2
	}
	c := &authCmd{s: s, stdin: stdin, stdout: stdout, stderr: stderr, openBrowser: openBrowser,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: s.logLevel}))}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var run func(context.Context, []string) error
	switch args[0] {
	case "login":
		run = c.login
	case "add":
		run = c.add
	case "status":
		run = c.status
	case "refresh":
		run = c.refresh
	case "remove":
		run = c.remove
	case "reset":
		run = c.reset
	default:
		fmt.Fprintf(stderr, "igmcp auth: unknown command %q\n%s", args[0], authUsage)
		return 2
	}
	if err := run(ctx, args[1:]); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "igmcp auth %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "igmcp auth %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError is a bad flag or missing configuration (exit status 2).
type usageError struct{ error }

func (c *authCmd) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("igmcp auth "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// open opens the store and checks the key; close releases the store.
func (c *authCmd) open(ctx context.Context) (store.Store, *auth.TokenStore, error) {
	if c.s.dataDir == "" && c.s.databaseURL == "" {
		return nil, nil, usageError{errors.New("cannot find a data directory: set IGMCP_DATA_DIR")}
	}
	st, err := store.Open(ctx, store.Config{DataDir: c.s.dataDir, DatabaseURL: c.s.databaseURL})
	if err != nil {
		return nil, nil, err
	}
	tokens, err := openTokenStore(ctx, st, c.s)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, tokens, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (c *authCmd) login(ctx context.Context, args []string) error {
	fs := c.flags("login")
	loginF := fs.String("login", string(c.s.login), "facebook or instagram")
	noBrowser := fs.Bool("no-browser", false, "print the URL instead of opening a browser")
	scopesF := fs.String("scopes", "", "comma list of permissions")
	accountsF := fs.String("account", "", "store only these accounts")
	port := fs.Int("port", 0, "loopback port")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	l, err := auth.ParseLogin(*loginF)
	if err != nil {
		return usageError{err}
	}
	scopes, err := auth.ParseScopes(l, *scopesF)
	if err != nil {
		return usageError{err}
	}
	if c.s.appID == "" || c.s.appSecret == "" {
		return usageError{errors.New("logging in needs the Meta app: set INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET (or INSTAGRAM_APP_SECRET_FILE)")}
	}
	// The store and key first: a wrong key must fail before the user logs in.
	st, tokens, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	o := c.s.oauth(nil)
	lb, err := auth.ListenLoopback(*port)
	if err != nil {
		return err
	}
	defer lb.Close()
	p, err := o.BeginLogin(l, lb.RedirectURI(), scopes)
	if err != nil {
		return usageError{err}
	}
	lb.Serve(p)
	c.log.Debug("login dialog ready", "login", string(l), "redirect_uri", lb.RedirectURI(), "scopes", strings.Join(scopes, ","), "pkce", auth.UsesPKCE(l))

	fmt.Fprintf(c.stdout, "Log in with %s Login: open this URL in a browser and allow access:\n\n  %s\n\n", l.Title(), p.URL)
	if !*noBrowser {
		if err := c.openBrowser(p.URL); err != nil {
			fmt.Fprintf(c.stdout, "(Could not open a browser: %v. Open the URL yourself.)\n", err)
		}
	}
	fmt.Fprintf(c.stdout, "Waiting for the redirect to %s …\n"+
		"If the browser runs on another machine, it ends on an address starting with %s that does not load:\n"+
		"paste that whole address here and press Enter.\n", lb.RedirectURI(), lb.RedirectURI())
	go func() {
		sc := bufio.NewScanner(c.stdin)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				if lb.Deliver(line) {
					return
				}
				fmt.Fprintln(c.stdout, "That is not the address of this login's redirect; paste the whole address.")
			}
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	code, err := lb.Wait(wctx)
	if err != nil {
		return err
	}
	recs, err := o.CompleteLogin(ctx, p, code)
	if err != nil {
		return err
	}
	if recs, err = auth.SelectAccounts(recs, splitList(*accountsF)); err != nil {
		return err
	}
	return c.store(ctx, tokens, recs, "Logged in")
}

// store saves the records and reports them.
func (c *authCmd) store(ctx context.Context, tokens *auth.TokenStore, recs []auth.Record, verb string) error {
	for _, r := range recs {
		stored, err := tokens.Put(ctx, r)
		if err != nil {
			return fmt.Errorf("storing the token of %s: %w", r.AccountID, err)
		}
		c.log.Info("account stored", "account", stored.AccountID, "login", string(stored.Login))
		fmt.Fprintf(c.stdout, "%s %s with %s Login; token %s; scopes: %s\n", verb, who(stored.Username, stored.AccountID),
			stored.Login.Title(), expiryText(stored.Expiry, time.Now()), scopesText(stored.Scopes))
	}
	fmt.Fprintf(c.stdout, "Stored in %s. A running igmcp server uses it on its next call.\n", c.where())
	return nil
}

func (c *authCmd) where() string {
	if c.s.databaseURL != "" {
		return "the PostgreSQL database (IGMCP_DATABASE_URL)"
	}
	return c.s.dataDir
}

func who(username, id string) string {
	if username == "" {
		return id
	}
	return "@" + username + " (" + id + ")"
}

func expiryText(exp, now time.Time) string {
	if exp.IsZero() {
		return "does not expire (or its expiry is unknown)"
	}
	d := exp.Sub(now)
	rel := fmt.Sprintf("in %d days", int(d.Hours()/24))
	switch {
	case d <= 0:
		return "expired " + exp.UTC().Format("2006-01-02 15:04 MST")
	case d < 48*time.Hour:
		rel = fmt.Sprintf("in %d hours", int(d.Hours()))
	}
	return "expires " + exp.UTC().Format("2006-01-02 15:04 MST") + " (" + rel + ")"
}

func scopesText(s []string) string {
	if len(s) == 0 {
		return "unknown"
	}
	return strings.Join(s, ", ")
}

func (c *authCmd) add(ctx context.Context, args []string) error {
	fs := c.flags("add")
	loginF := fs.String("login", string(c.s.login), "facebook or instagram")
	accountsF := fs.String("account", "", "store only these accounts")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	l, err := auth.ParseLogin(*loginF)
	if err != nil {
		return usageError{err}
	}
	tok := c.s.token
	if tok == "" {
		fmt.Fprintln(c.stderr, "Paste the access token and press Enter:")
		line, _ := bufio.NewReader(c.stdin).ReadString('\n')
		tok = strings.TrimSpace(line)
	}
	if tok == "" {
		return usageError{errors.New("no token: set INSTAGRAM_ACCESS_TOKEN (or _FILE) or pass it on standard input")}
	}
	st, tokens, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	recs, notes, err := c.s.oauth(nil).Import(ctx, l, auth.Secret(tok))
	for _, n := range notes {
		fmt.Fprintln(c.stdout, "Note: "+n)
	}
	if err != nil {
		return err
	}
	if recs, err = auth.SelectAccounts(recs, splitList(*accountsF)); err != nil {
		return err
	}
	return c.store(ctx, tokens, recs, "Added")
}

// registry loads the stored accounts without starting the refresher.
func (c *authCmd) registry(ctx context.Context) (store.Store, *auth.Registry, error) {
	st, tokens, err := c.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	reg, err := auth.NewRegistry(ctx, auth.RegistryConfig{Tokens: tokens, OAuth: c.s.oauth(nil), Default: c.s.defaultAccount, Logger: c.log,
		GraphOptions: func(_ string, l auth.Login) []graph.Option {
			return []graph.Option{graph.WithBaseURL(c.s.graphURL(l)), graph.WithAPIVersion(c.s.apiVersion), graph.WithAppSecret(c.s.appSecret)}
		}})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, reg, nil
}

func (c *authCmd) status(ctx context.Context, args []string) error {
	if err := parseFlags(c.flags("status"), args); err != nil {
		return err
	}
	st, reg, err := c.registry(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	recs := reg.Records()
	if len(recs) == 0 {
		fmt.Fprintf(c.stdout, "No stored accounts in %s. Run `igmcp auth login`.\n", c.where())
		return nil
	}
	infos, _ := reg.ListAccounts(ctx)
	now := time.Now()
	for _, in := range infos {
		a := in.Account
		def := ""
		if in.Default {
			def = " [default]"
		}
		fmt.Fprintf(c.stdout, "%s%s\n  login:   %s (%s Login)\n  token:   %s, %s\n", who(a.Username, a.ID), def, a.Login, a.Login.Title(), in.Status, expiryText(in.Expiry, now))
		if !in.NextRefresh.IsZero() {
			fmt.Fprintf(c.stdout, "  renewal: %s\n", in.NextRefresh.UTC().Format("2006-01-02 15:04 MST"))
		}
		if in.RefreshError != "" {
			fmt.Fprintf(c.stdout, "  last renewal failed: %s\n", in.RefreshError)
		}
		fmt.Fprintf(c.stdout, "  scopes:  %s\n", scopesText(in.Scopes))
		if in.Action != "" {
			fmt.Fprintf(c.stdout, "  action:  %s\n", in.Action)
		}
	}
	fmt.Fprintf(c.stdout, "Store: %s; key: %s\n", c.where(), c.keySource())
	return nil
}

func (c *authCmd) keySource() string {
	switch {
	case c.s.secretKey != "":
		return "IGMCP_SECRET_KEY"
	case c.s.secretKeyFile != "":
		return c.s.secretKeyFile
	}
	return filepath.Join(c.s.dataDir, auth.KeyFileName)
}

func (c *authCmd) refresh(ctx context.Context, args []string) error {
	fs := c.flags("refresh")
	accountF := fs.String("account", "", "renew only this account")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, reg, err := c.registry(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	names := []string{*accountF}
	if *accountF == "" {
		names = nil
		for _, r := range reg.Records() {
			names = append(names, r.AccountID)
		}
		if len(names) == 0 {
			fmt.Fprintln(c.stdout, "No stored accounts. Run `igmcp auth login`.")
			return nil
		}
	}
	failed := 0
	for _, n := range names {
		rec, err := reg.RefreshNow(ctx, n)
		label := who(rec.Username, rec.AccountID)
		if rec.AccountID == "" {
			label = n
		}
		switch {
		case err == nil:
			fmt.Fprintf(c.stdout, "%s: renewed; token %s\n", label, expiryText(rec.Expiry, time.Now()))
		case errors.Is(err, auth.ErrTokenTooNew), errors.Is(err, auth.ErrNotRenewed), errors.Is(err, auth.ErrNeverExpires):
			fmt.Fprintf(c.stdout, "%s: not renewed now: %v\n", label, err)
		default:
			failed++
			msg := err.Error()
			if errors.Is(err, auth.ErrTokenExpired) {
				msg += "; run `" + rec.Login.LoginCommand() + "`"
			}
			fmt.Fprintf(c.stdout, "%s: renewal failed: %s\n", label, msg)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d account(s) could not be renewed", failed)
	}
	return nil
}

func (c *authCmd) remove(ctx context.Context, args []string) error {
	fs := c.flags("remove")
	accountF := fs.String("account", "", "account to forget")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *accountF == "" {
		return usageError{errors.New("--account is required")}
	}
	st, reg, err := c.registry(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := reg.Resolve(ctx, *accountF)
	if err != nil {
		return err
	}
	if err := st.DeleteToken(ctx, a.ID); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Removed %s.\n", who(a.Username, a.ID))
	return nil
}

func (c *authCmd) reset(ctx context.Context, args []string) error {
	fs := c.flags("reset")
	yes := fs.Bool("yes", false, "really forget every stored account")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*yes {
		return usageError{errors.New("this forgets every stored account; run again with --yes")}
	}
	st, err := store.Open(ctx, store.Config{DataDir: c.s.dataDir, DatabaseURL: c.s.databaseURL})
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := auth.LoadKey(c.s.keyConfig())
	if err != nil {
		return err
	}
	if err := auth.ResetTokenStore(ctx, st, key); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Forgot every stored account; the token store now uses the key from %s.\n", key.Source())
	return nil
}

// openBrowser opens url in the user's browser without waiting for it.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
