// Command igmcp is an MCP server that publishes to Instagram through Meta's
// official Graph API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mattn/go-isatty"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/learned"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/staging"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/webhooks"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…";
// otherwise they come from the build information (version.go).
var (
	version = "0.1.0-dev"
	commit  = ""
)

const usage = `usage: igmcp <command> [flags]

commands:
  stdio     MCP server on standard input/output, started by an MCP client (Claude Desktop,
            Cursor, VS Code); add --sandbox to try it without an account
  http      MCP server over HTTP: Streamable HTTP at /mcp, SSE at /sse (--listen ADDR,
            default 127.0.0.1:8080)
  auth      log accounts in and manage their tokens (igmcp auth help)
  doctor    check a setup against Instagram and say what to fix ([--probe] [--json] [--sandbox])
  webhooks  subscribe|status: the accounts' webhook subscriptions for this app ([--json])
  version   print version, commit and Graph API version

igmcp COMMAND --help lists a command's flags. Configuration is read from the
environment (INSTAGRAM_ACCESS_TOKEN, INSTAGRAM_USER_ID, IGMCP_TOOLSETS, …); flags override
it. See README.md "Configuration".

` + exitStatusHelp

const exitStatusHelp = `exit status: 0 clean shutdown (end of input, SIGINT, SIGTERM) or help; 1 the server
could not start (store, key, listen address) or stopped on an error; 2 bad command line
or configuration (one line on standard error, nothing started).
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses (exitStatusHelp, README "Configuration").
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func run(args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionLine(readBuildInfo()))
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "auth":
		return runAuth(args[1:], getenv, stdin, stdout, stderr)
	case "doctor":
		return runDoctor(args[1:], getenv, stdout, stderr)
	case "webhooks":
		return runWebhooks(args[1:], getenv, stdout, stderr)
	case "stdio", "http":
	default:
		fmt.Fprintf(stderr, "igmcp: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}
	cmd := args[0]
	cfg, code, done := commandConfig(cmd, args[1:], getenv, stdout, stderr)
	if done {
		return code
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The address first: a port in use is one line, before anything starts.
	var ln net.Listener
	if cmd == "http" {
		var err error
		if ln, err = net.Listen("tcp", cfg.listen); err != nil {
			fmt.Fprintf(stderr, "igmcp: listen %s: %v\n", cfg.listen, err)
			return exitFailure
		}
	}
	app, err := build(cfg, logger)
	if err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		fmt.Fprintf(stderr, "igmcp: %v\n", err)
		return exitFailure
	}
	defer app.close()
	if cmd == "http" {
		return runHTTP(ctx, cfg, app, ln, logger)
	}
	// The scheduler publishes due posts while the server serves, and stops
	// (handing back what it holds) before the store closes.
	defer app.start(ctx)()
	return serveStdio(ctx, cfg, app, stdin, stdout, stderr, logger)
}

// commandConfig reads the settings of a command and its own flags
// (extra); done says the command is over: --help printed (exit 0), or a
// bad command line or setting in one line (exit 2).
func commandConfig(cmd string, args []string, getenv env, stdout, stderr io.Writer, extra ...func(*flag.FlagSet)) (cfg *config, code int, done bool) {
	cfg, err := parseConfig(cmd, args, getenv, extra...)
	switch {
	case errors.Is(err, flag.ErrHelp):
		commandHelp(stdout, cmd, extra...)
		return nil, exitOK, true
	case err != nil:
		fmt.Fprintf(stderr, "igmcp: %v\n", err)
		return nil, exitUsage, true
	}
	return cfg, exitOK, false
}

// serveStdio serves MCP on stdin/stdout until the input ends or ctx does.
func serveStdio(ctx context.Context, cfg *config, app *app, stdin io.Reader, stdout, stderr io.Writer, logger *slog.Logger) int {
	stdio := server.NewStdioServer(app.server)
	// The default pool of 5 would let five waiting Reels block every other
	// call, including cheap status reads.
	server.WithWorkerPoolSize(16)(stdio)
	stdio.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
	logger.Info("igmcp serving on stdio", "version", version, "sandbox", cfg.sandbox, "graph_api", cfg.apiVersion)
	if isTerminal(stdin) {
		// Someone typed igmcp stdio in a shell: say why nothing happens.
		fmt.Fprintln(stderr, waitingNotice)
	}
	err := stdio.Listen(ctx, stdin, stdout)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		logger.Error("stdio server stopped", "err", err)
		return exitFailure
	}
	return exitOK
}

const waitingNotice = "igmcp: waiting for an MCP client on standard input. igmcp stdio is meant to be started by an MCP client " +
	"(Claude Desktop, Cursor, VS Code): see README.md \"Connect a client\". Press Ctrl-C to stop."

// isTerminal reports whether r is a terminal (a user, not an MCP client).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

type app struct {
	server *server.MCPServer
	close  func()
	// scheduler publishes schedules and wait: false jobs (unless
	// IGMCP_SCHEDULER=off); it leaves alone the schedules of accounts this
	// process cannot act as.
	scheduler    *scheduler.Scheduler
	runScheduler bool
	// replicas: the bus, the task front (replicas.go).
	replicas *replicaParts
	// events are the webhook events of the store (nil: not wired), pruned
	// while the server runs; receiver is /webhooks/instagram (nil unless
	// webhooks are configured and this is igmcp http or the sandbox).
	events   store.Events
	receiver *webhooks.Receiver
	logger   *slog.Logger
}

// start runs the background work until ctx ends or stop is called: the
// scheduler and the pruning of old webhook events. stop waits for it (the
// scheduler hands back its leases) so the store can close after it.
func (a *app) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if a.runScheduler {
		wg.Go(func() { _ = a.scheduler.Run(ctx) })
	}
	if a.events != nil {
		wg.Go(func() { pruneEvents(ctx, a.events, a.logger) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// observed gives the publisher what `igmcp doctor --probe` measured for
// the app acting as the account (package learned), so that it leaves out a
// try it knows Instagram would answer "not ready". Facts measured on
// another Graph API version are not used.
func observed(st store.Observations, appID, apiVersion string) func(context.Context, string) publish.Observations {
	return func(ctx context.Context, accountID string) publish.Observations {
		f, err := learned.Load(ctx, st, appID, accountID)
		if err != nil || (f.APIVersion != "" && apiVersion != "" && f.APIVersion != apiVersion) {
			return publish.Observations{}
		}
		return publish.Observations{ImageReady: f.ImageReady}
	}
}

// closers are what a command opened, closed in reverse order.
type closers []func()

func (c *closers) add(f func()) { *c = append(*c, f) }

func (c closers) close() {
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

// build wires the server: the Graph API (Meta's or the sandbox's), the
// store, the accounts, the publisher, the scheduler, webhook events and the
// tools.
func build(cfg *config, logger *slog.Logger) (a *app, err error) {
	var cl closers
	defer func() {
		if err != nil {
			cl.close()
		}
	}()
	var sb *sandbox
	if cfg.sandbox {
		sb = startSandbox(cfg)
		cl.add(sb.stop)
	}
	st, dataDir, closeStore, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	cl.add(closeStore)
	parts, st := startReplicaParts(st, logger) // replicas.go
	cl.add(parts.stop)
	// One governor for the process, sharing usage and blocks with every
	// other process on the same store.
	governor := ratelimit.New(ratelimit.Config{Shared: st})
	accounts, err := openAccountSet(cfg, sb, st, governor, logger, &cl)
	if err != nil {
		return nil, err
	}
	files := cfg.files
	if dataDir != cfg.dataDir { // the sandbox's temporary directory
		if files, err = cfg.filePolicy(dataDir); err != nil {
			return nil, err
		}
	}
	deps := &tools.Deps{Files: files, Hashtags: &tools.HashtagBudget{Store: st}}
	if cfg.preflight {
		// The sandbox never fetches media: nothing may leave the machine.
		deps.Preflight = preflight.New(preflight.Options{Offline: cfg.sandbox})
	}
	switch {
	case cfg.sandbox:
		deps.Stager = staging.SandboxStageFunc()
	case cfg.staging != nil:
		bucket, err := staging.New(*cfg.staging)
		if err != nil {
			return nil, fmt.Errorf("media staging: %w", err)
		}
		deps.Stager = bucket.StageFunc()
	}
	pubOpts := []publish.Option{publish.WithLogger(logger), publish.WithSendGrace(cfg.sendGrace), publish.WithLocalMedia(publish.Local{Stager: deps.Stager})}
	if deps.Preflight != nil {
		pubOpts = append(pubOpts, publish.WithPreflight(deps.Preflight.Check))
	}
	if !cfg.sandbox {
		pubOpts = append(pubOpts, publish.WithObservations(observed(st, cfg.appID, cfg.apiVersion)))
	}
	pub := publish.New(st, pubOpts...)
	sched, err := scheduler.New(scheduler.Config{
		Store: st, Accounts: accounts, Publisher: pub, Logger: logger,
		Grace: cfg.scheduleGrace, Lease: cfg.schedulerLease, Tick: cfg.schedulerTick, Concurrency: cfg.schedulerConcurrency,
		BeforeSend: parts.beforeSend,
	})
	if err != nil {
		return nil, err
	}
	ev, err := openEvents(cfg, st, parts.bus, sb, logger, &cl)
	if err != nil {
		return nil, fmt.Errorf("webhook events: %w", err)
	}
	a = &app{close: cl.close, scheduler: sched, runScheduler: cfg.scheduler, logger: logger}
	if ev != nil {
		deps.Events, deps.EventNotices = st, ev.hub
		a.events, a.receiver = st, ev.receiver
	}
	deps.Accounts, deps.Publisher, deps.Scheduler, deps.Journal = accounts, pub, sched, st
	deps.Sandbox, deps.Confirm, deps.Logger = cfg.sandbox, cfg.confirm, logger
	parts.wire(cfg, deps, st)
	a.server = tools.NewServer(deps, version, cfg.selection)
	if err := parts.startFront(cfg, deps, st, a.server, logger); err != nil {
		return nil, err
	}
	a.replicas = parts
	return a, nil
}

// accountSet is who a command acts as: the account of
// INSTAGRAM_ACCESS_TOKEN (or the sandbox's), else those of the token store.
type accountSet interface {
	tools.Accounts
	List(ctx context.Context) ([]*auth.Account, error)
}

// openAccountSet makes the accounts: one from the token (the sandbox's,
// else INSTAGRAM_ACCESS_TOKEN), else the token store's, each renewed in
// the background until cl closes and picked up without a restart when
// logged in while the server runs. governor may be nil (no rate-limit
// sharing: a short command).
func openAccountSet(cfg *config, sb *sandbox, st store.Store, governor *ratelimit.Governor, logger *slog.Logger, cl *closers) (accountSet, error) {
	options := cfg.graphOptions(sb, governor)
	token, userID, login := cfg.token, cfg.userID, cfg.login
	if sb != nil {
		token, userID, login = sb.account.Token, sb.account.ID, sb.login()
	}
	if token == "" {
		if st == nil {
			return nil, errors.New("no INSTAGRAM_ACCESS_TOKEN and no token store")
		}
		reg, stopRenewing, err := openAccounts(context.Background(), st, cfg.auth, logger, options.hc, options.forAccount)
		if err != nil {
			return nil, fmt.Errorf("token store: %w", err)
		}
		cl.add(stopRenewing)
		return reg, nil
	}
	limiterKey := userID
	if limiterKey == "" {
		limiterKey = "default"
	}
	return auth.NewSingle(staticToken(token), userID, login, func(ts oauth2.TokenSource) (*graph.Client, error) {
		return graph.NewClient(append(options.forAccount(limiterKey, login), graph.WithTokenSource(ts))...)
	})
}

func staticToken(token string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})
}

// clientOptions make the Graph clients of a command's accounts.
type clientOptions struct {
	hc         *http.Client
	forAccount func(accountID string, l auth.Login) []graph.Option
}

// graphOptions are the options of every Graph client a command makes for
// an account: the host of its login type (the sandbox's with --sandbox),
// the version, the HTTP client, the User-Agent, the app secret (never with
// the sandbox, which is not the app) and the account's share of the
// rate-limit governor (when there is one).
func (c *config) graphOptions(sb *sandbox, governor *ratelimit.Governor) clientOptions {
	hc := &http.Client{Timeout: 60 * time.Second}
	return clientOptions{hc: hc, forAccount: func(accountID string, l auth.Login) []graph.Option {
		base, secret := c.auth.graphURL(l), c.appSecret
		if sb != nil {
			base, secret = sb.url, ""
		}
		opts := []graph.Option{graph.WithBaseURL(base), graph.WithAPIVersion(c.apiVersion), graph.WithHTTPClient(hc),
			graph.WithUserAgent("igmcp/" + version), graph.WithAppSecret(secret)}
		if governor != nil {
			opts = append(opts, graph.WithLimiter(governor.For(accountID)))
		}
		return opts
	}}
}

// openStore opens the durable state: PostgreSQL when IGMCP_DATABASE_URL is
// set, else SQLite in IGMCP_DATA_DIR. The sandbox without IGMCP_DATA_DIR keeps
// it in a temporary directory removed at exit, so trying igmcp leaves nothing
// behind and never mixes with real accounts' state. dir is the data
// directory in use.
func openStore(cfg *config) (st store.Store, dir string, closeStore func(), err error) {
	dir, cleanup := cfg.dataDir, func() {}
	if dir == "" && cfg.databaseURL == "" {
		tmp, err := os.MkdirTemp("", "igmcp-sandbox-")
		if err != nil {
			return nil, "", nil, err
		}
		dir, cleanup = tmp, func() { _ = os.RemoveAll(tmp) }
	}
	st, err = store.Open(context.Background(), store.Config{DataDir: dir, DatabaseURL: cfg.databaseURL})
	if err != nil {
		cleanup()
		return nil, "", nil, fmt.Errorf("durable store: %w", err)
	}
	return st, dir, func() { _ = st.Close(); cleanup() }, nil
}
