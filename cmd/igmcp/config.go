package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/staging"
	"github.com/igmcp/igmcp/tools"
)

// config is the resolved configuration: flags override environment variables
// (docs/reference.md §2); secrets come only from the environment or files.
type config struct {
	sandbox      bool
	sandboxImage time.Duration
	sandboxVideo time.Duration
	token        string
	userID       string
	appID        string
	appSecret    string
	login        auth.Login
	graphURL     string
	apiVersion   string
	selection    tools.Selection
	logLevel     slog.Level
	listen       string
	httpToken    string
	dataDir      string // "" with sandbox: a temporary directory
	databaseURL  string
	// The scheduler (schedule_post, wait: false jobs); zero values take
	// scheduler.Config's defaults.
	scheduler            bool
	scheduleGrace        time.Duration
	sendGrace            time.Duration // how long an unanswered publish counts as in flight
	schedulerLease       time.Duration
	schedulerTick        time.Duration
	schedulerConcurrency int
	auth                 authSettings // token store, secret key, login hosts (auth.go)
	confirm              bool
	preflight            bool            // IGMCP_PREFLIGHT (default on)
	mediaRoot            string          // IGMCP_MEDIA_ROOT: the only directory file_path may read
	staging              *staging.Config // IGMCP_STAGING_*; nil: no image staging
}

type env func(string) string

// secret reads NAME or NAME_FILE; both set is a configuration error.
func secret(getenv env, name string) (string, error) {
	v, file := getenv(name), getenv(name+"_FILE")
	if v != "" && file != "" {
		return "", fmt.Errorf("set %s or %s_FILE, not both", name, name)
	}
	if file == "" {
		return strings.TrimSpace(v), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func parseConfig(cmd string, args []string, getenv env) (*config, error) {
	fs := flag.NewFlagSet("igmcp "+cmd, flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder)) // errors are reported by the caller in one line
	var (
		sandbox    = fs.Bool("sandbox", false, "run against the built-in simulated Graph API (no account, no network)")
		sbImage    = fs.Duration("sandbox-image-delay", time.Second, "sandbox: how long image containers process")
		sbVideo    = fs.Duration("sandbox-video-delay", 15*time.Second, "sandbox: how long video containers process")
		toolsets   = fs.String("toolsets", getenv("IGMCP_TOOLSETS"), "comma list of toolsets, or all")
		readOnly   = fs.Bool("read-only", isTrue(getenv("IGMCP_READ_ONLY")), "expose only tools that change nothing")
		logLevel   = fs.String("log-level", getenv("IGMCP_LOG_LEVEL"), "debug, info, warn or error")
		graphURL   = fs.String("graph-url", getenv("INSTAGRAM_GRAPH_URL"), "Graph API base URL")
		apiVersion = fs.String("api-version", getenv("INSTAGRAM_API_VERSION"), "Graph API version")
		login      = fs.String("login", getenv("INSTAGRAM_LOGIN"), "facebook or instagram")
		userID     = fs.String("user-id", getenv("INSTAGRAM_USER_ID"), "Instagram professional account id")
		listen     = fs.String("listen", "127.0.0.1:8080", "HTTP listen address (igmcp http)")
		schedOn    = fs.String("scheduler", getenv("IGMCP_SCHEDULER"), "on (default) or off: publish scheduled posts and background jobs from this process")
		schedGrace = fs.String("schedule-grace", getenv("IGMCP_SCHEDULE_GRACE"), "how late a post whose time passed while no server ran is still published, else missed (default 1h)")
		schedLease = fs.String("scheduler-lease", getenv("IGMCP_SCHEDULER_LEASE"), "how long a dead process holds a post before another takes it over (default 1m)")
		schedTick  = fs.String("scheduler-tick", getenv("IGMCP_SCHEDULER_TICK"), "how often due posts are looked for (default 1s)")
		schedConc  = fs.String("scheduler-concurrency", getenv("IGMCP_SCHEDULER_CONCURRENCY"), "publishes this process runs at once (default 8)")
		confirm    = fs.Bool("confirm", isTrue(getenv("IGMCP_CONFIRM")), "ask the user to confirm every write (MCP elicitation)")
	)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c := &config{sandbox: *sandbox, sandboxImage: *sbImage, sandboxVideo: *sbVideo, userID: strings.TrimSpace(*userID),
		appID: getenv("INSTAGRAM_APP_ID"), graphURL: strings.TrimSpace(*graphURL), apiVersion: strings.TrimSpace(*apiVersion), listen: *listen, confirm: *confirm}
	var err error
	if c.login, err = auth.ParseLogin(*login); err != nil {
		return nil, err
	}
	if c.apiVersion == "" {
		c.apiVersion = graph.DefaultAPIVersion
	} else if !validVersion(c.apiVersion) {
		return nil, fmt.Errorf("API version (INSTAGRAM_API_VERSION, --api-version) must look like v25.0, got %q", c.apiVersion)
	}
	if c.graphURL == "" {
		c.graphURL = c.login.GraphURL()
	}
	var ts []string // unset: every toolset until the default (tools.DefaultToolsets) is applied here
	if strings.TrimSpace(*toolsets) != "" {
		if ts, err = tools.ParseToolsets(*toolsets); err != nil {
			return nil, fmt.Errorf("toolsets (IGMCP_TOOLSETS, --toolsets): %w", err)
		}
	}
	c.selection = tools.Selection{Toolsets: ts, ReadOnly: *readOnly}
	if c.logLevel, err = parseLevel(*logLevel); err != nil {
		return nil, err
	}
	if c.token, err = secret(getenv, "INSTAGRAM_ACCESS_TOKEN"); err != nil {
		return nil, err
	}
	if c.appSecret, err = secret(getenv, "INSTAGRAM_APP_SECRET"); err != nil {
		return nil, err
	}
	if c.httpToken, err = secret(getenv, "IGMCP_HTTP_TOKEN"); err != nil {
		return nil, err
	}
	// The database URL may hold a password: it gets a _FILE variant too.
	if c.databaseURL, err = secret(getenv, "IGMCP_DATABASE_URL"); err != nil {
		return nil, err
	}
	switch strings.ToLower(strings.TrimSpace(*schedOn)) {
	case "", "on", "1", "true", "yes":
		c.scheduler = true
	case "off", "0", "false", "no":
	default:
		return nil, fmt.Errorf("IGMCP_SCHEDULER (--scheduler) must be on or off, got %q", *schedOn)
	}
	for _, d := range []struct {
		name, val string
		into      *time.Duration
	}{
		{"IGMCP_SCHEDULE_GRACE (--schedule-grace)", *schedGrace, &c.scheduleGrace},
		{"IGMCP_SCHEDULER_LEASE (--scheduler-lease)", *schedLease, &c.schedulerLease},
		{"IGMCP_SCHEDULER_TICK (--scheduler-tick)", *schedTick, &c.schedulerTick},
		{"IGMCP_SEND_GRACE", getenv("IGMCP_SEND_GRACE"), &c.sendGrace},
	} {
		if v := strings.TrimSpace(d.val); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur <= 0 {
				return nil, fmt.Errorf("%s must be a positive duration such as 90s or 2h, got %q", d.name, d.val)
			}
			*d.into = dur
		}
	}
	if v := strings.TrimSpace(*schedConc); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			return nil, fmt.Errorf("IGMCP_SCHEDULER_CONCURRENCY (--scheduler-concurrency) must be 1 to 256, got %q", *schedConc)
		}
		c.schedulerConcurrency = n
	}
	c.dataDir = strings.TrimSpace(getenv("IGMCP_DATA_DIR"))
	if c.dataDir == "" && !c.sandbox {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("cannot find a data directory (set IGMCP_DATA_DIR): %v", err)
		}
		c.dataDir = filepath.Join(dir, "igmcp")
	}
	if c.auth, err = parseAuthSettings(getenv); err != nil {
		return nil, err
	}
	// What the flags set wins here too.
	c.auth.dataDir, c.auth.databaseURL, c.auth.apiVersion, c.auth.login = c.dataDir, c.databaseURL, c.apiVersion, c.login
	if *graphURL != "" {
		c.auth.endpoints.GraphURL = strings.TrimSpace(*graphURL)
	}
	if c.preflight, err = preflight.ParseMode(getenv("IGMCP_PREFLIGHT")); err != nil {
		return nil, err
	}
	if c.mediaRoot = strings.TrimSpace(getenv("IGMCP_MEDIA_ROOT")); c.mediaRoot != "" {
		if st, err := os.Stat(c.mediaRoot); err != nil || !st.IsDir() || !filepath.IsAbs(c.mediaRoot) {
			return nil, fmt.Errorf("IGMCP_MEDIA_ROOT must be an absolute path to a directory, got %q", c.mediaRoot)
		}
	}
	if c.staging, err = staging.FromEnv(getenv); err != nil {
		return nil, fmt.Errorf("media staging: %w", err)
	}
	return c, nil
}

func validVersion(v string) bool {
	var major, minor int
	n, err := fmt.Sscanf(v, "v%d.%d", &major, &minor)
	return err == nil && n == 2 && fmt.Sprintf("v%d.%d", major, minor) == v
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level (IGMCP_LOG_LEVEL, --log-level) must be debug, info, warn or error, got %q", s)
}
