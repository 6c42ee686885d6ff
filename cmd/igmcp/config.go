package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/httpserver"
	"github.com/igmcp/igmcp/localfile"
	"github.com/igmcp/igmcp/staging"
	"github.com/igmcp/igmcp/tools"
)

// config is the resolved configuration of one command (docs/reference.md
// §2). It is filled from the settings table (settings.go): flags override
// environment variables, secrets come only from the environment or files.
type config struct {
	use          command // the command read for
	sandbox      bool
	sandboxImage time.Duration
	sandboxVideo time.Duration
	token        string
	userID       string
	appID        string
	appSecret    string
	login        auth.Login
	graphURL     string // INSTAGRAM_GRAPH_URL as given; "" = per login flow
	apiVersion   string
	selection    tools.Selection
	logLevel     slog.Level
	dataDir      string // "" with sandbox: a temporary directory
	databaseURL  string
	// The token store (igmcp auth and a server without a token).
	secretKey      string
	secretKeyFile  string // a path: auth.LoadKey checks its permissions
	authorizeURL   string
	tokenURL       string
	defaultAccount string
	// igmcp http.
	listen         string
	httpToken      string
	httpTokens     []httpserver.TokenEntry
	allowedOrigins []string
	shutdownGrace  time.Duration
	tasks          string // IGMCP_TASKS: video, always or off; "" (stdio): off
	// The scheduler (schedule_post, wait: false jobs); zero values take
	// scheduler.Config's defaults.
	scheduler            bool
	scheduleGrace        time.Duration
	sendGrace            time.Duration // how long an unanswered publish counts as in flight
	schedulerLease       time.Duration
	schedulerTick        time.Duration
	schedulerConcurrency int
	confirm              bool
	preflight            bool              // IGMCP_PREFLIGHT (default on)
	mediaRoot            string            // IGMCP_MEDIA_ROOT as given
	files                *localfile.Policy // the media-root gate of the servers (finish)
	staging              *staging.Config   // IGMCP_STAGING_*; nil: no image staging
	auth                 authSettings      // what the token store needs (auth.go), derived from the above
	// Webhooks (docs/reference.md §5): on with a verify token.
	verifyToken string
	// igmcp http's sessions; zero values take httpserver's defaults.
	sessions httpserver.SessionLimits
}

// webhooks reports whether webhooks are configured
// (INSTAGRAM_WEBHOOK_VERIFY_TOKEN; the servers also require the app secret).
func (c *config) webhooks() bool { return c.verifyToken != "" }

type env func(string) string

// parseConfig reads the settings of command cmd ("stdio", "http", "doctor",
// "webhooks" or "auth"; auth takes no flags here) from args and the
// environment; extra adds the command's own flags. Every error is one line
// that names the setting and never echoes a secret; a bad command line is a
// usageError (igmcp doctor reports a setting that does not parse as a
// failed check, but exits 2 on a bad command line).
func parseConfig(cmd string, args []string, getenv env, extra ...func(*flag.FlagSet)) (*config, error) {
	use := commandOf(cmd)
	fs := flag.NewFlagSet("igmcp "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller in one line
	fs.Usage = func() {}
	values := map[string]*flagValue{}
	for _, s := range settings {
		if s.flag != "" && s.cmds&use != 0 {
			v := &flagValue{boolean: s.boolean}
			values[s.flag] = v
			fs.Var(v, s.flag, s.usage)
		}
	}
	for _, register := range extra {
		register(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err // --help: the caller prints it and exits 0
		}
		return nil, usageError{fmt.Errorf("%v (igmcp %s --help lists the flags)", err, cmd)}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q (igmcp %s --help lists the flags)", fs.Arg(0), cmd)}
	}
	c := &config{use: use}
	for _, s := range settings {
		if s.cmds&use == 0 || s.apply == nil {
			continue
		}
		v, err := s.value(values[s.flag], getenv)
		if err == nil {
			err = s.apply(c, v)
		}
		if err != nil {
			return nil, s.wrap(err)
		}
	}
	if err := c.finish(use, getenv); err != nil {
		return nil, err
	}
	return c, nil
}

// finish applies the rules that involve more than one setting, and checks
// what the servers would otherwise refuse only once started: every server
// setting is checked before anything starts or logs. igmcp doctor is left
// the rules it reports as checks of its own (media root, webhooks without
// the app secret).
func (c *config) finish(use command, getenv env) error {
	if c.secretKey != "" && c.secretKeyFile != "" {
		return errors.New("set IGMCP_SECRET_KEY or IGMCP_SECRET_KEY_FILE, not both")
	}
	if c.defaultAccount == "" {
		c.defaultAccount = c.userID
	}
	if c.dataDir == "" && !c.sandbox {
		dir, err := os.UserConfigDir()
		switch {
		case err == nil:
			c.dataDir = filepath.Join(dir, "igmcp")
		case use&(cmdAuth|cmdWebhooks) == 0:
			return fmt.Errorf("cannot find a data directory (set IGMCP_DATA_DIR): %v", err)
		}
		// igmcp auth and webhooks: the commands that need the store say so.
	}
	if use&cmdChecked != 0 {
		if c.selection.Toolsets == nil {
			c.selection.Toolsets = tools.DefaultToolsets(c.webhooks())
		}
		var err error
		if c.staging, err = staging.FromEnv(getenv); err != nil {
			return fmt.Errorf("media staging: %w", err)
		}
	}
	if use&cmdServer != 0 {
		if c.webhooks() && c.appSecret == "" {
			return errors.New("INSTAGRAM_WEBHOOK_VERIFY_TOKEN is set without INSTAGRAM_APP_SECRET: deliveries could not be checked; set INSTAGRAM_APP_SECRET (or INSTAGRAM_APP_SECRET_FILE) too, or unset the verify token")
		}
		var err error
		if c.files, err = c.filePolicy(c.dataDir); err != nil {
			return err
		}
	}
	if use == cmdHTTP {
		if err := c.checkHTTPAuth(); err != nil {
			return err
		}
		if err := c.httpConfig(nil).Check(); err != nil {
			return err
		}
	}
	c.auth = c.authSettings()
	return nil
}

// filePolicy is the media-root gate (docs/reference.md §2): IGMCP_MEDIA_ROOT,
// else over stdio the user's home and temporary directories, over HTTP
// nothing; never the data directory.
func (c *config) filePolicy(dataDir string) (*localfile.Policy, error) {
	return localfile.NewPolicy(localfile.Options{Root: c.mediaRoot, Remote: c.use == cmdHTTP, Exclude: []string{dataDir}})
}

// httpConfig is igmcp http's configuration of the HTTP front.
func (c *config) httpConfig(logger *slog.Logger) httpserver.Config {
	return httpserver.Config{Token: c.httpToken, Tokens: c.httpTokens, AllowedOrigins: c.allowedOrigins,
		ShutdownGrace: c.shutdownGrace, Sessions: c.sessions, Logger: logger}
}

// checkHTTPAuth refuses what would leave `igmcp http` open to the network:
// no token, or a guessable one, on an address beyond loopback.
func (c *config) checkHTTPAuth() error {
	if httpserver.IsLoopback(c.listen) {
		return nil
	}
	if c.httpToken == "" && len(c.httpTokens) == 0 {
		return fmt.Errorf("refusing to listen on %s without a token: set IGMCP_HTTP_TOKEN (or IGMCP_HTTP_TOKEN_FILE, IGMCP_HTTP_TOKENS_FILE), or listen on 127.0.0.1", c.listen)
	}
	if c.httpToken != "" && len(c.httpToken) < httpserver.MinTokenLength {
		return fmt.Errorf("refusing to listen on %s: IGMCP_HTTP_TOKEN is shorter than %d characters; use a long random token (e.g. openssl rand -hex 32)", c.listen, httpserver.MinTokenLength)
	}
	return nil
}

// authSettings is what the token store and the auth commands need.
func (c *config) authSettings() authSettings {
	return authSettings{
		dataDir: c.dataDir, databaseURL: c.databaseURL, secretKey: c.secretKey, secretKeyFile: c.secretKeyFile,
		appID: c.appID, appSecret: c.appSecret, login: c.login, apiVersion: c.apiVersion,
		endpoints:      auth.Endpoints{AuthorizeURL: c.authorizeURL, TokenURL: c.tokenURL, GraphURL: c.graphURL},
		defaultAccount: c.defaultAccount, logLevel: c.logLevel, token: c.token,
	}
}

// serverGraphURL is the Graph host the server calls with
// INSTAGRAM_ACCESS_TOKEN: INSTAGRAM_GRAPH_URL, else the login flow's host.
func (c *config) serverGraphURL() string {
	return c.auth.graphURL(c.login)
}

// parseAuthSettings reads the settings `igmcp auth` uses (the rows of the
// table marked for it) from the environment.
func parseAuthSettings(getenv env) (authSettings, error) {
	c, err := parseConfig("auth", nil, getenv)
	if err != nil {
		return authSettings{}, err
	}
	return c.auth, nil
}

// flagValue is a flag's raw text; set tells a given flag from its default
// (the environment variable, then the table's default, apply then).
type flagValue struct {
	text    string
	set     bool
	boolean bool
}

func (v *flagValue) String() string {
	if v == nil {
		return ""
	}
	return v.text
}

func (v *flagValue) Set(s string) error { v.text, v.set = s, true; return nil }

// IsBoolFlag lets --sandbox and --read-only stand without a value.
func (v *flagValue) IsBoolFlag() bool { return v.boolean }
