// Package doctor is `igmcp doctor [--probe] [--json]` (docs/reference.md
// §1): it checks a real setup — configuration, store, token, login type,
// account, scopes per toolset, publishing quota, rate-limit usage, media
// root, staging bucket, webhook subscription — and says for each check
// what is wrong and the one thing to do about it.
//
// It writes nothing to Instagram unless asked: --probe creates one image
// container, never published, to learn how this app's Graph API answers
// (read-after-write, processing time), and records that in the store for
// the server to use (package learned).
//
// cmd/igmcp parses the configuration and flags and calls Command; the
// checks, their results and their rendering are all here.
package doctor

import (
	"context"
	"flag"
	"io"
	"net/http"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/staging"
	"github.com/igmcp/igmcp/store"
)

// Config is the server's configuration as cmd/igmcp resolved it, plus the
// flags of `igmcp doctor`. Doctor checks these values; it does not read
// the environment itself.
type Config struct {
	// ParseErr is set when the configuration did not parse: the config
	// check fails with it and every other check is skipped.
	ParseErr error

	// Login is INSTAGRAM_LOGIN (the login type of INSTAGRAM_ACCESS_TOKEN).
	Login auth.Login
	// GraphURL is INSTAGRAM_GRAPH_URL (--graph-url) as given; "" means
	// each login type's own host.
	GraphURL   string
	APIVersion string // INSTAGRAM_API_VERSION, resolved (never "")
	// Token is INSTAGRAM_ACCESS_TOKEN; empty: the accounts of the token
	// store are checked instead.
	Token  auth.Secret
	UserID string // INSTAGRAM_USER_ID
	// DefaultAccount is IGMCP_DEFAULT_ACCOUNT (id or username): the
	// account --probe uses among several.
	DefaultAccount string
	AppID          string      // INSTAGRAM_APP_ID
	AppSecret      auth.Secret // INSTAGRAM_APP_SECRET

	// Store is IGMCP_DATA_DIR / IGMCP_DATABASE_URL.
	Store store.Config
	// Key is where the token store's key comes from (IGMCP_SECRET_KEY,
	// IGMCP_SECRET_KEY_FILE, else the data directory).
	Key auth.KeyConfig

	MediaRoot string          // IGMCP_MEDIA_ROOT
	Staging   *staging.Config // IGMCP_STAGING_*; nil: staging off
	// Webhooks is whether INSTAGRAM_WEBHOOK_VERIFY_TOKEN is set.
	Webhooks bool
	// Toolsets are the toolsets the server exposes (IGMCP_TOOLSETS after
	// parsing); nil means the default, tools.DefaultToolsets(Webhooks).
	Toolsets []string
	ReadOnly bool // IGMCP_READ_ONLY

	// Sandbox says the Graph API is the built-in simulation (--sandbox).
	Sandbox bool
	// Version is igmcp's version, for the User-Agent.
	Version string

	Probe Probe

	// HTTPClient calls the Graph API (default: 30 s timeout).
	HTTPClient *http.Client
	// Now is the clock for expiry and measurements (default time.Now).
	Now func() time.Time
}

// Probe configures --probe.
type Probe struct {
	Enabled bool
	// ImageURL is the public https JPEG Instagram fetches for the probe
	// container (default DefaultProbeImageURL).
	ImageURL string
	// Timeout bounds the wait for the container to read FINISHED
	// (default 2 minutes).
	Timeout time.Duration
	// PollInterval is the first pause between status reads; it doubles
	// up to 5 s (default 500 ms). The first read comes at once.
	PollInterval time.Duration
}

// Flags are the command line of `igmcp doctor`.
type Flags struct {
	JSON  bool
	Probe Probe
}

// Register adds --json, --probe, --probe-image-url and --probe-timeout to
// fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.BoolVar(&f.JSON, "json", false, "print the report as JSON (docs/reference.md §1)")
	fs.BoolVar(&f.Probe.Enabled, "probe", false, "also create one image container (never published) to learn how the Graph API answers, and record it")
	fs.StringVar(&f.Probe.ImageURL, "probe-image-url", DefaultProbeImageURL, "public https JPEG for --probe")
	fs.DurationVar(&f.Probe.Timeout, "probe-timeout", defaultProbeTimeout, "how long --probe waits for the container to be ready")
}

// Command runs every check and writes the report to out, as text or as
// JSON; it returns the exit status: 0 when no check failed (warnings and
// skipped checks pass), 1 otherwise.
func Command(ctx context.Context, cfg Config, out io.Writer, asJSON bool) int {
	return Run(ctx, cfg).Write(out, asJSON)
}
