package fakegraph

import (
	"context"
	"errors"
	"net/http"
	"slices"
)

// What `igmcp --sandbox` adds to the plain fake, so an agent can try every
// tool without an account and tell at a glance that nothing is real:
// comments from simulated users on each new post, permalinks on a host
// that cannot exist, media URLs that make Instagram refuse the media, and
// (with webhooks configured) Meta's deliveries sent to igmcp's own
// receiver.

// SandboxPermalinkBase is the host of sandbox permalinks: .invalid can
// never resolve (RFC 2606), so a sandbox permalink is never taken for,
// or opened as, a real post.
const SandboxPermalinkBase = "https://sandbox.igmcp.invalid"

// SandboxSeedComments is how many simulated users comment on each new
// sandbox post (a Story gets none).
const SandboxSeedComments = 2

// SandboxReject is the marker that makes the sandbox refuse a media: an
// image_url or video_url containing one of these strings fails as
// Instagram would fail that media (docs/graph-api.md §10.3). The plain
// marker SandboxReject is the aspect-ratio refusal.
const SandboxReject = "sandbox-reject"

// sandboxRejections are the markers the sandbox knows, with the outcome
// each causes, most specific first. Images are refused when the
// container is created (as Instagram checks them at once); a video
// container ends in ERROR after processing.
var sandboxRejections = []struct {
	marker string
	o      Outcome
}{
	{SandboxReject + "-fetch", Outcome{StatusCode: StatusError, Subcode: 2207052, AtCreation: true}},  // 9004: cannot fetch
	{SandboxReject + "-size", Outcome{StatusCode: StatusError, Subcode: 2207004, AtCreation: true}},   // 36000: image over 8 MiB
	{SandboxReject + "-format", Outcome{StatusCode: StatusError, Subcode: 2207026}},                   // 352: video format, after processing
	{SandboxReject + "-aspect", Outcome{StatusCode: StatusError, Subcode: 2207009, AtCreation: true}}, // 36003: aspect ratio
	{SandboxReject, Outcome{StatusCode: StatusError, Subcode: 2207009, AtCreation: true}},
}

// SandboxRejectMarkers lists the markers, most specific first, for
// documentation and tests.
func SandboxRejectMarkers() []string {
	out := make([]string, len(sandboxRejections))
	for i, r := range sandboxRejections {
		out[i] = r.marker
	}
	return out
}

// NewSandbox builds the fake igmcp --sandbox runs: o as given, plus
// SandboxSeedComments comments on every new post (unless o sets
// SeedComments; a negative one means none), SandboxPermalinkBase
// permalinks (unless o sets PermalinkBase) and the SandboxReject markers.
func NewSandbox(o Options) *Server {
	if o.SeedComments == 0 {
		o.SeedComments = SandboxSeedComments
	}
	if o.PermalinkBase == "" {
		o.PermalinkBase = SandboxPermalinkBase
	}
	s := New(o)
	for _, r := range sandboxRejections {
		s.SetMediaOutcome(r.marker, r.o)
	}
	return s
}

// ConnectWebhooks points the fake's webhook sender at receiver (igmcp's
// /webhooks/instagram handler, called in process) as the App Dashboard
// would after "Verify and save", and subscribes every account to every
// field igmcp reads, as `igmcp webhooks subscribe` would: from then on
// comments on the accounts' media (the seeded ones included), mentions
// and Story insights arrive as signed deliveries. verifyToken and
// appSecret are the receiver's (INSTAGRAM_WEBHOOK_VERIFY_TOKEN,
// INSTAGRAM_APP_SECRET); the verification handshake must succeed.
func (s *Server) ConnectWebhooks(ctx context.Context, receiver http.Handler, verifyToken, appSecret string) error {
	if receiver == nil || verifyToken == "" || appSecret == "" {
		return errors.New("fakegraph: ConnectWebhooks needs the receiver, its verify token and the app secret")
	}
	if err := s.SetWebhook(ctx, WebhookConfig{Handler: receiver, VerifyToken: verifyToken, AppSecret: appSecret}); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.hooks()
	for _, a := range s.acctByID {
		if a.Login == LoginInstagram {
			st.subscribed[a.ID] = slices.Clone(instagramWebhookFields)
		} else {
			// Facebook Login: the Page's subscription enables the
			// Instagram fields of the app's dashboard.
			st.subscribed[a.pageID] = []string{"feed"}
		}
	}
	return nil
}
