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
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mattn/go-isatty"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/learned"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/staging"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
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
  version   print version, commit and Graph API version

igmcp stdio --help and igmcp http --help list the flags. Configuration is read from the
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
	case "stdio", "http":
	default:
		fmt.Fprintf(stderr, "igmcp: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}
	cmd := args[0]
	cfg, err := parseConfig(cmd, args[1:], getenv)
	if errors.Is(err, flag.ErrHelp) {
		commandHelp(stdout, cmd)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "igmcp: %v\n", err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The address first: a port in use is one line, before anything starts.
	var ln net.Listener
	if cmd == "http" {
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
	// The scheduler publishes due posts while the server serves, and stops
	// (handing back what it holds) before the store closes.
	defer app.startScheduler(ctx)()
	if cmd == "http" {
		return runHTTP(ctx, cfg, app, ln, logger)
	}
	return serveStdio(ctx, cfg, app, stdin, stdout, stderr, logger)
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
}

// startScheduler runs the scheduler until ctx ends or stop is called; stop
// waits for it to hand back its leases.
func (a *app) startScheduler(ctx context.Context) (stop func()) {
	if !a.runScheduler {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.scheduler.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
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

// build wires the server: the Graph client per account (or the sandbox's
// simulated Graph API), the publisher and the tools.
func build(cfg *config, logger *slog.Logger) (a *app, err error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	graphURL, token, userID := cfg.serverGraphURL(), cfg.token, cfg.userID
	if cfg.sandbox {
		fake := fakegraph.New(fakegraph.Options{ImageProcessing: cfg.sandboxImage, VideoProcessing: cfg.sandboxVideo})
		acct := fakegraph.DefaultAccount
		url, stopFake := fake.Start()
		closers = append(closers, stopFake)
		graphURL, token, userID = url, acct.Token, acct.ID
	}
	st, closeStore, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	closers = append(closers, closeStore)

	hc := &http.Client{Timeout: 60 * time.Second}
	// One governor for the process, sharing usage and blocks with every
	// other process on the same store.
	governor := ratelimit.New(ratelimit.Config{Shared: st})
	limiterKey := userID
	if limiterKey == "" {
		limiterKey = "default"
	}
	newClient := func(ts oauth2.TokenSource) (*graph.Client, error) {
		opts := []graph.Option{
			graph.WithBaseURL(graphURL), graph.WithAPIVersion(cfg.apiVersion), graph.WithHTTPClient(hc),
			graph.WithTokenSource(ts), graph.WithUserAgent("igmcp/" + version),
			graph.WithLimiter(governor.For(limiterKey)),
		}
		if cfg.appSecret != "" && !cfg.sandbox {
			opts = append(opts, graph.WithAppSecret(cfg.appSecret))
		}
		return graph.NewClient(opts...)
	}
	var accounts tools.Accounts
	if token == "" && !cfg.sandbox {
		// No INSTAGRAM_ACCESS_TOKEN: act as the accounts of the token store
		// (igmcp auth login/add), each renewed in the background and picked
		// up without a restart when logged in while the server runs.
		graphOptions := func(accountID string, l auth.Login) []graph.Option {
			opts := []graph.Option{
				graph.WithBaseURL(cfg.auth.graphURL(l)), graph.WithAPIVersion(cfg.apiVersion), graph.WithHTTPClient(hc),
				graph.WithUserAgent("igmcp/" + version), graph.WithLimiter(governor.For(accountID)),
			}
			if cfg.appSecret != "" {
				opts = append(opts, graph.WithAppSecret(cfg.appSecret))
			}
			return opts
		}
		reg, stopRenewing, err := openAccounts(context.Background(), st, cfg.auth, logger, hc, graphOptions)
		if err != nil {
			return nil, fmt.Errorf("token store: %w", err)
		}
		closers = append(closers, stopRenewing)
		accounts = reg
	} else {
		var ts oauth2.TokenSource
		if token != "" {
			ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})
		}
		single, err := auth.NewSingle(ts, userID, cfg.login, newClient)
		if err != nil {
			return nil, err
		}
		accounts = single
	}
	deps := &tools.Deps{MediaRoot: cfg.mediaRoot, Hashtags: &tools.HashtagBudget{Store: st}}
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
	})
	if err != nil {
		return nil, err
	}
	deps.Accounts, deps.Publisher, deps.Scheduler, deps.Journal = accounts, pub, sched, st
	deps.Sandbox, deps.Confirm, deps.Logger = cfg.sandbox, cfg.confirm, logger
	return &app{
		server: tools.NewServer(deps, version, cfg.selection), close: closeAll, scheduler: sched,
		runScheduler: cfg.scheduler,
	}, nil
}

// openStore opens the durable state: PostgreSQL when IGMCP_DATABASE_URL is
// set, else SQLite in IGMCP_DATA_DIR. The sandbox without IGMCP_DATA_DIR keeps
// it in a temporary directory removed at exit, so trying igmcp leaves nothing
// behind and never mixes with real accounts' state.
func openStore(cfg *config) (store.Store, func(), error) {
	dir, cleanup := cfg.dataDir, func() {}
	if dir == "" && cfg.databaseURL == "" {
		tmp, err := os.MkdirTemp("", "igmcp-sandbox-")
		if err != nil {
			return nil, nil, err
		}
		dir, cleanup = tmp, func() { _ = os.RemoveAll(tmp) }
	}
	st, err := store.Open(context.Background(), store.Config{DataDir: dir, DatabaseURL: cfg.databaseURL})
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("durable store: %w", err)
	}
	return st, func() { _ = st.Close(); cleanup() }, nil
}
