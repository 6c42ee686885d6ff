package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/doctor"
	"github.com/igmcp/igmcp/store"
)

// runDoctor is `igmcp doctor` (docs/reference.md §1, README "Check a
// setup"): the configuration the servers would read, checked by package
// doctor. A setting that does not parse is the failed config check (exit
// 1); a bad command line is one line and exit 2.
func runDoctor(args []string, getenv env, stdout, stderr io.Writer) int {
	var flags doctor.Flags
	cfg, err := parseConfig("doctor", args, getenv, flags.Register)
	var bad usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		commandHelp(stdout, "doctor", new(doctor.Flags).Register)
		return exitOK
	case errors.As(err, &bad):
		fmt.Fprintf(stderr, "igmcp: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dc := doctor.Config{ParseErr: err, Probe: flags.Probe, Version: version}
	if err == nil {
		var cl closers
		defer cl.close()
		if dc, err = doctorConfig(ctx, cfg, flags, &cl); err != nil {
			fmt.Fprintf(stderr, "igmcp: %v\n", err)
			return exitFailure
		}
	}
	return doctor.Command(ctx, dc, stdout, flags.JSON)
}

// doctorConfig is what doctor checks: the servers' settings and the
// flags. With --sandbox it checks the sandbox as a server would run it:
// its simulated Graph API, its account, and a temporary store unless
// IGMCP_DATA_DIR or IGMCP_DATABASE_URL names one.
func doctorConfig(ctx context.Context, cfg *config, flags doctor.Flags, cl *closers) (doctor.Config, error) {
	dc := doctor.Config{
		Login: cfg.login, GraphURL: cfg.graphURL, APIVersion: cfg.apiVersion,
		Token: auth.Secret(cfg.token), UserID: cfg.userID, DefaultAccount: cfg.defaultAccount,
		AppID: cfg.appID, AppSecret: auth.Secret(cfg.appSecret),
		Store: store.Config{DataDir: cfg.dataDir, DatabaseURL: cfg.databaseURL}, Key: cfg.auth.keyConfig(),
		MediaRoot: cfg.mediaRoot, Staging: cfg.staging, Webhooks: cfg.webhooks(),
		Toolsets: cfg.selection.Toolsets, ReadOnly: cfg.selection.ReadOnly,
		Sandbox: cfg.sandbox, Version: version, Probe: flags.Probe,
	}
	if !cfg.sandbox {
		return dc, nil
	}
	sb := startSandbox(cfg)
	cl.add(sb.stop)
	dc.GraphURL, dc.Token, dc.UserID, dc.Login = sb.url, auth.Secret(sb.account.Token), sb.account.ID, sb.login()
	if dc.Store.DataDir == "" && dc.Store.DatabaseURL == "" {
		tmp, err := os.MkdirTemp("", "igmcp-sandbox-")
		if err != nil {
			return dc, err
		}
		cl.add(func() { _ = os.RemoveAll(tmp) })
		dc.Store.DataDir, dc.Key.DataDir = tmp, tmp
	}
	if cfg.webhooks() {
		return dc, sb.subscribe(ctx, cfg)
	}
	return dc, nil
}
