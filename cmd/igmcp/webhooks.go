package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/webhooks"
)

// webhookFlags are the command line of `igmcp webhooks subscribe|status`.
type webhookFlags struct {
	json    bool
	account string
}

func (f *webhookFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "print the subscriptions as JSON")
	fs.StringVar(&f.account, "account", "", "only this account (id or username); default every account")
}

// webhookResult is one account's line of the answer.
type webhookResult struct {
	webhooks.Subscription
	Username string `json:"username,omitempty"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
}

// runWebhooks is `igmcp webhooks subscribe|status` (docs/reference.md §1,
// §5): per account, webhooks.Subscribe or webhooks.Status, printed; exit 0
// only when every account's subscription is complete.
func runWebhooks(args []string, getenv env, stdout, stderr io.Writer) int {
	var f webhookFlags
	if len(args) == 0 || (args[0] != "subscribe" && args[0] != "status") {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			commandHelp(stdout, "webhooks", new(webhookFlags).register)
			return exitOK
		}
		what := "a subcommand"
		if len(args) > 0 {
			what = fmt.Sprintf("subscribe or status, not %q", args[0])
		}
		fmt.Fprintf(stderr, "igmcp: webhooks needs %s (igmcp webhooks --help)\n", what)
		return exitUsage
	}
	sub := args[0]
	cfg, code, done := commandConfig("webhooks", args[1:], getenv, stdout, stderr, f.register)
	if done {
		return code
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := webhookSubscriptions(ctx, cfg, sub == "subscribe", f.account, logger)
	if err != nil {
		fmt.Fprintf(stderr, "igmcp: %v\n", err)
		return exitFailure
	}
	allOK := true
	for _, r := range results {
		allOK = allOK && r.OK
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			OK            bool            `json:"ok"`
			Subscriptions []webhookResult `json:"subscriptions"`
		}{allOK, results})
	} else {
		writeSubscriptions(stdout, results, sub)
	}
	if !allOK {
		return exitFailure
	}
	return exitOK
}

// webhookSubscriptions reads (or makes, with subscribe) the subscription
// of each account this configuration acts as, or of the one named.
func webhookSubscriptions(ctx context.Context, cfg *config, subscribe bool, only string, logger *slog.Logger) ([]webhookResult, error) {
	var cl closers
	defer cl.close()
	var sb *sandbox
	if cfg.sandbox {
		sb = startSandbox(cfg)
		cl.add(sb.stop)
	}
	var st store.Store
	if sb == nil && cfg.token == "" { // the token store's accounts
		if cfg.dataDir == "" && cfg.databaseURL == "" {
			return nil, errors.New("cannot find a data directory: set IGMCP_DATA_DIR (or INSTAGRAM_ACCESS_TOKEN)")
		}
		var closeStore func()
		var err error
		if st, _, closeStore, err = openStore(cfg); err != nil {
			return nil, err
		}
		cl.add(closeStore)
	}
	accounts, err := openAccountSet(cfg, sb, st, nil, logger, &cl)
	if err != nil {
		return nil, err
	}
	var list []*auth.Account
	if only != "" {
		a, err := accounts.Resolve(ctx, only)
		if err != nil {
			return nil, err
		}
		list = []*auth.Account{a}
	} else if list, err = accounts.List(ctx); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("no account: set INSTAGRAM_ACCESS_TOKEN or run igmcp auth login")
	}
	appID := cfg.appID
	if sb != nil {
		appID = "" // the sandbox's subscriptions are its own app's
		if cfg.webhooks() {
			if err := sb.subscribe(ctx, cfg); err != nil {
				return nil, err
			}
		}
	}
	options := cfg.graphOptions(sb, nil)
	var out []webhookResult
	for _, a := range list {
		o := webhooks.SubscribeOptions{AppID: appID, PageClient: func(pageToken string) (*graph.Client, error) {
			return graph.NewClient(append(options.forAccount(a.ID, a.Login), graph.WithTokenSource(staticToken(pageToken)))...)
		}}
		do := webhooks.Status
		if subscribe {
			do = webhooks.Subscribe
		}
		s, err := do(ctx, a.Client, a.ID, a.Login, o)
		r := webhookResult{Subscription: s, Username: a.Username, OK: err == nil && s.OK()}
		if err != nil {
			r.Error = err.Error()
		}
		out = append(out, r)
	}
	return out, nil
}

// writeSubscriptions prints one paragraph per account and what to do.
func writeSubscriptions(w io.Writer, results []webhookResult, sub string) {
	missing := 0
	for _, r := range results {
		who := r.AccountID
		if r.Username != "" {
			who += " (@" + r.Username + ")"
		}
		where := "the account"
		if r.Login == auth.LoginFacebook && r.Object != "" {
			where = "its Page " + r.Object
		}
		switch {
		case r.Error != "":
			fmt.Fprintf(w, "%s: cannot tell: %s\n", who, r.Error)
		case !r.Subscribed:
			fmt.Fprintf(w, "%s: not subscribed (%s)\n", who, where)
		case len(r.Missing) > 0:
			fmt.Fprintf(w, "%s: subscribed on %s to %s, but not to %s\n", who, where, strings.Join(r.Fields, ", "), strings.Join(r.Missing, ", "))
		default:
			fmt.Fprintf(w, "%s: subscribed on %s to %s\n", who, where, strings.Join(r.Fields, ", "))
		}
		if r.Note != "" {
			fmt.Fprintf(w, "  %s\n", r.Note)
		}
		if !r.OK {
			missing++
		}
	}
	switch {
	case missing == 0:
		fmt.Fprintln(w, "Every account's webhooks reach this app.")
	case sub == "status":
		fmt.Fprintf(w, "%d of %d accounts are not fully subscribed: run igmcp webhooks subscribe.\n", missing, len(results))
	default:
		fmt.Fprintf(w, "%d of %d accounts could not be subscribed: see above.\n", missing, len(results))
	}
}
