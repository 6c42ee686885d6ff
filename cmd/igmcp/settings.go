package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/httpserver"
	"github.com/igmcp/igmcp/staging"
	"github.com/igmcp/igmcp/tools"
)

// command is a set of igmcp commands a setting applies to.
type command uint8

const (
	cmdStdio command = 1 << iota
	cmdHTTP
	cmdAuth
	cmdDoctor   // igmcp doctor: what the servers read, to check it
	cmdWebhooks // igmcp webhooks subscribe|status

	cmdServer = cmdStdio | cmdHTTP
	// cmdChecked are the server settings igmcp doctor reads too.
	cmdChecked = cmdServer | cmdDoctor
	cmdAll     = cmdServer | cmdAuth | cmdDoctor | cmdWebhooks
)

func commandOf(name string) command {
	switch name {
	case "stdio":
		return cmdStdio
	case "http":
		return cmdHTTP
	case "doctor":
		return cmdDoctor
	case "webhooks":
		return cmdWebhooks
	}
	return cmdAuth
}

// optionalToolsets and defaultToolsets are what README and --help say of
// IGMCP_TOOLSETS: the names and the default (without webhooks) of the
// tools package (docs/reference.md §2).
func optionalToolsets() string {
	var names []string
	for _, ts := range tools.Toolsets() {
		if ts.When != tools.AlwaysOn {
			names = append(names, ts.Name)
		}
	}
	return strings.Join(names, ",")
}

func defaultToolsets() string { return strings.Join(tools.DefaultToolsets(false), ",") }

// A setting is one row of the configuration: the one place that names its
// environment variable and flag, its default, whether it is secret (then it
// has no flag, since flags show in process listings, and its value never
// appears in an error) and has a NAME_FILE variant, and how it is parsed. The parser, --help, the error texts and
// README's configuration table (TestREADMEConfigTable) all come from
// settings.
type setting struct {
	env     string // "" for a flag-only setting
	flag    string // without dashes; "" for an environment-only setting
	def     string // used when neither is set
	doc     string // README's default column, when def alone does not say it
	usage   string // what it means: --help and README
	cmds    command
	secret  bool // never echoed, never a flag
	file    bool // NAME_FILE reads the value from a file (trimmed); NAME and NAME_FILE both set is an error
	boolean bool // a flag that stands without a value
	// apply parses the value (flag, else environment, else def; trimmed)
	// into c. Nil: another package reads the variable itself (staging).
	apply func(c *config, v string) error
}

// settings is the configuration table, in README order.
var settings = []setting{
	{env: "INSTAGRAM_ACCESS_TOKEN", secret: true, file: true, cmds: cmdAll,
		usage: "access token of the account to act as (bring your own token); `igmcp auth add` stores it",
		doc:   "none: the accounts of the token store (`igmcp auth login`)",
		apply: func(c *config, v string) error { c.token = v; return nil }},
	{env: "INSTAGRAM_USER_ID", flag: "user-id", cmds: cmdAll,
		usage: "Instagram professional account id",
		doc:   "discovered from the token on first use (`/me` for Instagram Login, `/me/accounts` for Facebook Login)",
		apply: func(c *config, v string) error { c.userID = v; return nil }},
	{env: "INSTAGRAM_APP_ID", cmds: cmdAll,
		usage: "Meta app id: `igmcp auth login`, renewing Facebook Login tokens",
		apply: func(c *config, v string) error { c.appID = v; return nil }},
	{env: "INSTAGRAM_APP_SECRET", secret: true, file: true, cmds: cmdAll,
		usage: "Meta app secret; enables `appsecret_proof` on every call, token exchange and renewal",
		apply: func(c *config, v string) error { c.appSecret = v; return nil }},
	{env: "INSTAGRAM_LOGIN", flag: "login", def: string(auth.LoginFacebook), cmds: cmdAll,
		usage: "`facebook` (graph.facebook.com) or `instagram` (graph.instagram.com)",
		apply: func(c *config, v string) (err error) { c.login, err = auth.ParseLogin(v); return err }},
	{env: "INSTAGRAM_GRAPH_URL", flag: "graph-url", cmds: cmdAll,
		usage: "Graph API base URL", doc: "per `INSTAGRAM_LOGIN`",
		apply: func(c *config, v string) error { c.graphURL = v; return httpURL(v) }},
	{env: "INSTAGRAM_API_VERSION", flag: "api-version", def: graph.DefaultAPIVersion, cmds: cmdAll,
		usage: "Graph API version segment",
		apply: func(c *config, v string) error { c.apiVersion = v; return apiVersion(v) }},
	{env: "IGMCP_DATA_DIR", cmds: cmdAll,
		usage: "durable state: SQLite database (ledger, journal, schedules, tokens, hashtag searches) and the generated secret key",
		doc:   "the user's config dir + `/igmcp`; with `--sandbox` a temporary directory",
		apply: func(c *config, v string) error { c.dataDir = v; return nil }},
	{env: "IGMCP_DATABASE_URL", secret: true, file: true, cmds: cmdAll, // it may hold a password
		usage: "`postgres://…`: keep durable state in PostgreSQL, shared by several servers",
		doc:   "SQLite in `IGMCP_DATA_DIR`",
		apply: func(c *config, v string) error { c.databaseURL = v; return nil }},
	{env: "IGMCP_SECRET_KEY", secret: true, cmds: cmdAll, // its _FILE is the next row: auth.LoadKey checks the file's permissions
		usage: "AES-256 key (32 bytes, base64 or hex) sealing stored tokens",
		doc:   "`IGMCP_DATA_DIR/secret.key`, generated 0600",
		apply: func(c *config, v string) error { c.secretKey = v; return nil }},
	{env: "IGMCP_SECRET_KEY_FILE", cmds: cmdAll,
		usage: "file holding that key; it must be private (0600)",
		apply: func(c *config, v string) error { c.secretKeyFile = v; return nil }},
	{env: "IGMCP_DEFAULT_ACCOUNT", cmds: cmdAll,
		usage: "account (id or username) tools act as without `account`",
		doc:   "`INSTAGRAM_USER_ID`, else the only account",
		apply: func(c *config, v string) error { c.defaultAccount = v; return nil }},
	{env: "INSTAGRAM_AUTHORIZE_URL", cmds: cmdAll,
		usage: "host of the login dialog (tests, simulators)", doc: "www.facebook.com / www.instagram.com",
		apply: func(c *config, v string) error { c.authorizeURL = v; return httpURL(v) }},
	{env: "INSTAGRAM_TOKEN_URL", cmds: cmdAll,
		usage: "host of the code exchange (tests, simulators)", doc: "graph.facebook.com / api.instagram.com",
		apply: func(c *config, v string) error { c.tokenURL = v; return httpURL(v) }},
	{env: "IGMCP_TOOLSETS", flag: "toolsets", cmds: cmdChecked,
		usage: "comma list of toolsets (`" + optionalToolsets() + "`) or `all`",
		doc:   "`" + defaultToolsets() + "` (plus `events` when webhooks are configured), and the always-on `context`",
		apply: func(c *config, v string) (err error) {
			if v == "" {
				return nil // the default depends on webhooks: config.finish
			}
			c.selection.Toolsets, err = tools.ParseToolsets(v)
			return err
		}},
	{env: "IGMCP_READ_ONLY", flag: "read-only", boolean: true, cmds: cmdChecked,
		usage: "`1`: expose only tools that change nothing", doc: "off",
		apply: func(c *config, v string) (err error) { c.selection.ReadOnly, err = onOff(v, false); return err }},
	{env: "IGMCP_CONFIRM", flag: "confirm", boolean: true, cmds: cmdServer,
		usage: "`1`: the user confirms every write (MCP elicitation); a client without elicitation gets `invalid_input` on field `confirm` until the agent asked the user and repeats the call with `confirm: true`",
		doc:   "off",
		apply: func(c *config, v string) (err error) { c.confirm, err = onOff(v, false); return err }},
	{env: "IGMCP_PREFLIGHT", cmds: cmdServer,
		usage: "`on`: look at media (headers, first 512 KiB) before creating a container; `off`: never fetch media",
		doc:   "`on`",
		apply: func(c *config, v string) (err error) { c.preflight, err = onOff(v, true); return err }},
	{env: "IGMCP_MEDIA_ROOT", cmds: cmdChecked,
		usage: "the only directory `file_path` may read (symbolic links resolved; never `/proc`, `/sys`, `/dev` or `IGMCP_DATA_DIR`)",
		doc:   "stdio: your home and temporary directories, outside hidden directories (`~/.ssh`, `~/.config`, …); http: none, `file_path` is refused",
		// Checked by localfile.NewPolicy (config.finish), or by igmcp doctor.
		apply: func(c *config, v string) error { c.mediaRoot = v; return nil }},
	{env: staging.EnvBucket, cmds: cmdChecked,
		usage: "S3-compatible bucket for staging local images (turns staging on)",
		doc:   "none: an image `file_path` is `invalid_input`"},
	{env: staging.EnvEndpoint, cmds: cmdChecked, usage: "bucket endpoint (https unless loopback)", doc: "AWS"},
	{env: staging.EnvRegion, cmds: cmdChecked, usage: "bucket region", doc: "`us-east-1`"},
	{env: staging.EnvPrefix, cmds: cmdChecked, usage: "key prefix of staged objects", doc: "`igmcp-staging/`"},
	{env: staging.EnvURLTTL, cmds: cmdChecked, usage: "presigned URL lifetime (5m–7d)", doc: "`1h`"},
	{env: staging.EnvPathStyle, cmds: cmdChecked, usage: "path-style bucket addressing", doc: "off"},
	{env: staging.EnvAccessKeyID, cmds: cmdChecked, usage: "bucket access key id", doc: "`AWS_ACCESS_KEY_ID`"},
	{env: staging.EnvSecretAccessKey, secret: true, file: true, cmds: cmdChecked, usage: "bucket secret key", doc: "`AWS_SECRET_ACCESS_KEY`"},
	{env: staging.EnvSessionToken, secret: true, file: true, cmds: cmdChecked, usage: "bucket session token", doc: "`AWS_SESSION_TOKEN`"},
	{env: "IGMCP_SCHEDULER", flag: "scheduler", def: "on", cmds: cmdServer,
		usage: "`off`: this process publishes no schedules or jobs (it still accepts them)",
		apply: func(c *config, v string) (err error) { c.scheduler, err = onOff(v, true); return err }},
	{env: "IGMCP_SCHEDULE_GRACE", flag: "schedule-grace", cmds: cmdServer, doc: "`1h`",
		usage: "how late a post whose time passed while no server ran is still published; older ones become `missed`",
		apply: func(c *config, v string) (err error) { c.scheduleGrace, err = duration(v, false); return err }},
	{env: "IGMCP_SCHEDULER_LEASE", flag: "scheduler-lease", cmds: cmdServer, doc: "`1m`",
		usage: "a dead process's posts are taken over after at most this",
		apply: func(c *config, v string) (err error) { c.schedulerLease, err = duration(v, false); return err }},
	{env: "IGMCP_SCHEDULER_TICK", flag: "scheduler-tick", cmds: cmdServer, doc: "`1s`",
		usage: "how often due posts and expired leases are looked for",
		apply: func(c *config, v string) (err error) { c.schedulerTick, err = duration(v, false); return err }},
	{env: "IGMCP_SCHEDULER_CONCURRENCY", flag: "scheduler-concurrency", cmds: cmdServer, doc: "`8`",
		usage: "publishes one process runs at once (1–256)",
		apply: func(c *config, v string) (err error) { c.schedulerConcurrency, err = intIn(v, 1, 256); return err }},
	{env: "IGMCP_SEND_GRACE", cmds: cmdServer, doc: "`2m`",
		usage: "how long an unanswered `media_publish` counts as in flight before a still-`FINISHED` container proves it never arrived",
		apply: func(c *config, v string) (err error) { c.sendGrace, err = duration(v, false); return err }},
	{env: "INSTAGRAM_WEBHOOK_VERIFY_TOKEN", secret: true, file: true, cmds: cmdChecked | cmdWebhooks,
		usage: "the verify token of the Meta app's webhook settings; with `INSTAGRAM_APP_SECRET` it turns webhooks on: `igmcp http` serves `/webhooks/instagram`, " +
			"and the `events` toolset is on by default (`igmcp stdio` lists the events an `igmcp http` on the same store received; with `--sandbox` the simulated Meta delivers to it directly)",
		doc:   "none: webhooks off",
		apply: func(c *config, v string) error { c.verifyToken = v; return nil }},
	{env: "IGMCP_LOG_LEVEL", flag: "log-level", def: "info", cmds: cmdAll,
		usage: "`debug`, `info`, `warn`, `error` (to standard error)",
		apply: func(c *config, v string) (err error) { c.logLevel, err = parseLevel(v); return err }},
	{flag: "listen", def: "127.0.0.1:8080", cmds: cmdHTTP,
		usage: "address to listen on; beyond loopback it needs a token",
		apply: func(c *config, v string) error { c.listen = v; return nil }},
	{env: "IGMCP_HTTP_TOKEN", secret: true, file: true, cmds: cmdHTTP,
		usage: "bearer token HTTP clients must present; at least 16 characters on a non-loopback `--listen`",
		doc:   "required on a non-loopback `--listen`",
		apply: func(c *config, v string) error { c.httpToken = v; return nil }},
	{env: "IGMCP_HTTP_TOKENS_FILE", cmds: cmdHTTP,
		usage: "scoped tokens (accounts, toolsets per token), JSON as above",
		apply: func(c *config, v string) (err error) {
			if v != "" {
				c.httpTokens, err = httpserver.LoadTokens(v)
			}
			return err
		}},
	{env: "IGMCP_ALLOWED_ORIGINS", cmds: cmdHTTP,
		usage: "comma list of browser Origins allowed to call", doc: "loopback origins",
		apply: func(c *config, v string) (err error) { c.allowedOrigins, err = httpserver.ParseOrigins(v); return err }},
	{env: "IGMCP_HTTP_SHUTDOWN_GRACE", cmds: cmdHTTP, doc: "`30s`",
		usage: "how long in-flight calls may finish at shutdown (at most 15m)",
		apply: func(c *config, v string) (err error) {
			if c.shutdownGrace, err = duration(v, false); err == nil && c.shutdownGrace > 15*time.Minute {
				err = fmt.Errorf("must be at most 15m, got %q", v)
			}
			return err
		}},
	{env: "IGMCP_HTTP_SESSION_IDLE_TTL", cmds: cmdHTTP, doc: "`" + shortDuration(httpserver.DefaultSessionIdleTTL) + "`",
		usage: "an HTTP session with no request and no running tool call for this long is closed (1s–24h)",
		apply: func(c *config, v string) (err error) {
			c.sessions.IdleTTL, err = durationIn(v, time.Second, 24*time.Hour)
			return err
		}},
	{env: "IGMCP_HTTP_MAX_SESSIONS_PER_TOKEN", cmds: cmdHTTP, doc: "`" + strconv.Itoa(httpserver.DefaultMaxSessionsPerToken) + "`",
		usage: "open HTTP sessions one bearer token may hold: at the cap its least recently used session idle for a minute makes room, else 429",
		apply: func(c *config, v string) (err error) { c.sessions.PerToken, err = intIn(v, 1, 1_000_000); return err }},
	{env: "IGMCP_HTTP_MAX_SESSIONS", cmds: cmdHTTP, doc: "`" + strconv.Itoa(httpserver.DefaultMaxSessions) + "`",
		usage: "open HTTP sessions in all (503 beyond)",
		apply: func(c *config, v string) (err error) { c.sessions.Total, err = intIn(v, 1, 1_000_000); return err }},
	{env: "IGMCP_TASKS", def: "video", cmds: cmdHTTP,
		usage: "MCP tasks on the publishing tools, answered by any replica (docs/reference.md §6): `video` (2026-07-28 clients get a task for a Reel, a video Story, a carousel with a video), `always` (for every publish), `off` (none)",
		apply: func(c *config, v string) error {
			switch strings.ToLower(v) {
			case "video", "always", "off":
				c.tasks = strings.ToLower(v)
				return nil
			}
			return fmt.Errorf("must be video, always or off, got %q", v)
		}},
	{flag: "sandbox", boolean: true, cmds: cmdChecked | cmdWebhooks, doc: "off",
		usage: "use the built-in simulated Graph API (no account, no network)",
		apply: func(c *config, v string) (err error) { c.sandbox, err = onOff(v, false); return err }},
	{flag: "sandbox-image-delay", def: "1s", cmds: cmdChecked,
		usage: "how long sandbox image containers stay `IN_PROGRESS`",
		apply: func(c *config, v string) (err error) { c.sandboxImage, err = duration(v, true); return err }},
	{flag: "sandbox-video-delay", def: "15s", cmds: cmdChecked,
		usage: "how long sandbox video containers stay `IN_PROGRESS`",
		apply: func(c *config, v string) (err error) { c.sandboxVideo, err = duration(v, true); return err }},
}

// value resolves the setting's text: the flag when given, else the
// environment (NAME or NAME_FILE for a secret), else the default.
func (s setting) value(f *flagValue, getenv env) (string, error) {
	if f != nil && f.set {
		return strings.TrimSpace(f.text), nil
	}
	if s.env != "" {
		v := getenv(s.env)
		if s.file {
			if file := getenv(s.env + "_FILE"); file != "" {
				if v != "" {
					return "", fmt.Errorf("set %s or %s_FILE, not both", s.env, s.env)
				}
				b, err := os.ReadFile(file)
				if err != nil {
					return "", fmt.Errorf("%s_FILE: %w", s.env, err)
				}
				v = string(b)
			}
		}
		if v = strings.TrimSpace(v); v != "" {
			return v, nil
		}
	}
	return s.def, nil
}

// names is how errors and --help name the setting: "IGMCP_X (--x)".
func (s setting) names() string {
	switch {
	case s.env == "":
		return "--" + s.flag
	case s.flag == "":
		return s.env
	}
	return s.env + " (--" + s.flag + ")"
}

// wrap names the setting in err, unless the parser that made err (another
// package's) already did.
func (s setting) wrap(err error) error {
	if (s.env != "" && strings.Contains(err.Error(), s.env)) || (s.env == "" && strings.Contains(err.Error(), "--"+s.flag)) {
		return err
	}
	return fmt.Errorf("%s: %w", s.names(), err)
}

// The parsers of the table. Their errors say what is wanted and echo the
// value; they are never used for secrets.

func onOff(v string, def bool) (bool, error) {
	switch strings.ToLower(v) {
	case "":
		return def, nil
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("must be on or off (1/0, true/false, yes/no), got %q", v)
}

// duration parses a positive duration (zero too when zeroOK); "" is zero,
// which the consumers take as their default.
func duration(v string, zeroOK bool) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || (d == 0 && !zeroOK) {
		return 0, fmt.Errorf("must be a positive duration such as 90s or 2h, got %q", v)
	}
	return d, nil
}

// durationIn parses a duration from lo to hi; "" is zero (the default).
func durationIn(v string, lo, hi time.Duration) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("must be a duration from %s to %s such as 10m, got %q", shortDuration(lo), shortDuration(hi), v)
	}
	return d, nil
}

// shortDuration writes 24h for 24h0m0s, 10m for 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func intIn(v string, lo, hi int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("must be %d to %d, got %q", lo, hi, v)
	}
	return n, nil
}

func httpURL(v string) error {
	if v != "" && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		return fmt.Errorf("must be an http(s) URL, got %q", v)
	}
	return nil
}

func apiVersion(v string) error {
	var major, minor int
	n, err := fmt.Sscanf(v, "v%d.%d", &major, &minor)
	if err != nil || n != 2 || fmt.Sprintf("v%d.%d", major, minor) != v {
		return fmt.Errorf("must look like %s, got %q", graph.DefaultAPIVersion, v)
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("must be debug, info, warn or error, got %q", s)
}
