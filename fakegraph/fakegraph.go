// Package fakegraph is an in-process simulation of the Instagram Graph API
// (Instagram Platform: graph.facebook.com with Facebook Login for Business and
// graph.instagram.com with Instagram Login).
//
// It powers `igmcp --sandbox` and the integration tests. It follows the
// behaviour documented by Meta (see docs/graph-api.md and the
// package README): container state machine, publishing rules and quotas,
// error envelopes and codes, token errors, usage headers and BUC throttling,
// comments, insights metric validation and cursor paging. Where Meta's
// documentation is silent the package makes a choice; every such choice is
// called a "test assumption" in the doc comments and listed in README.md.
//
// A *Server is an http.Handler. Use Start for a loopback HTTP server, or
// call ServeHTTP directly. All methods are safe for concurrent use.
package fakegraph

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Login types of an Account.
const (
	LoginFacebook  = "facebook"
	LoginInstagram = "instagram"
)

// Account is one Instagram professional account the fake knows, with the
// access token that acts as it.
//
// Several accounts may share one Token (a Facebook user managing several
// Pages): GET /me/accounts then lists them all and the token may act on each.
type Account struct {
	ID       string
	Username string
	Token    string
	// Login is "facebook" (default) or "instagram". It decides what /me
	// answers and which Facebook-Login-only features are available.
	Login string
	// TokenExpiry is when Token stops working (190/463); zero means never.
	TokenExpiry time.Time
}

// Options configure a Server. The zero value is a usable sandbox.
type Options struct {
	// Accounts default to DefaultAccount.
	Accounts []Account
	// AppSecret, when set, makes every Graph call require a correct
	// appsecret_proof (hex HMAC-SHA256(AppSecret, token)).
	AppSecret string
	// ImageProcessing is how long an image container stays IN_PROGRESS.
	ImageProcessing time.Duration
	// VideoProcessing is how long a video (REELS, video STORIES, carousel
	// VIDEO item) container stays IN_PROGRESS; for resumable uploads it
	// counts from the end of the upload.
	VideoProcessing time.Duration
	// ProcessingPolls is how many status reads (GET /{container-id}) must
	// answer IN_PROGRESS before a container may read FINISHED. It applies
	// to every container, carousel parents included.
	ProcessingPolls int
	// QuotaTotal is config.quota_total of content_publishing_limit and the
	// number of publishes allowed per rolling 24 h (default 100).
	QuotaTotal int
	// Optimistic is the variant that assumes the best where Meta is
	// silent: POST calls honour `fields` (read-after-write), a published
	// container reads PUBLISHED at once (no StatusLag) and a second
	// media_publish of a container is refused (RefuseRepublish). The
	// default is pessimistic: none of the three.
	Optimistic bool
	// ReadAfterWrite makes POST calls honour `fields` (Graph
	// read-after-write) without the rest of Optimistic. Meta documents
	// read-after-write Graph-wide (Graph API v2.9 changelog) but nothing
	// says IG container and media_publish answers honour it, so by default
	// POST answers carry only {"id"} (and "uri").
	ReadAfterWrite bool
	// NoReadAfterWrite makes POST calls ignore `fields` even when
	// Optimistic or ReadAfterWrite is set.
	NoReadAfterWrite bool
	// RefuseRepublish makes a media_publish of an already published
	// container answer 24/2207008 and post nothing. It is optimistic: Meta
	// documents no such guard, so by default a second media_publish of a
	// container makes a second post (the worst plausible answer).
	RefuseRepublish bool
	// StatusLag is how long a published container still reads FINISHED
	// (status reads and read-after-write) before it reads PUBLISHED, on
	// the clock Now: Meta does not say how soon the status follows a
	// publish. 0 means DefaultStatusLag (none when Optimistic); negative
	// means none. A media_publish during the lag posts again (unless
	// RefuseRepublish), like any second media_publish.
	StatusLag time.Duration
	// Latency is added to every request (real time, not Now).
	Latency time.Duration
	// UsagePerCall is how many percentage points each authenticated call
	// adds to the calling account's BUC call_count. 0: no usage headers
	// unless SetUsage was called for the account.
	UsagePerCall int
	// Now is the clock (default time.Now). Container processing, expiry
	// (24 h), quotas, usage regain and timestamps all use it.
	Now func() time.Time
	// SeedComments is how many comments from simulated other users each
	// newly published media gets (sandbox realism; default 0).
	SeedComments int
	// PermalinkBase is the scheme and host of permalinks (default
	// https://www.instagram.com, as Meta answers; the sandbox uses
	// SandboxPermalinkBase so nobody mistakes a simulated post for a real
	// one).
	PermalinkBase string
}

// DefaultStatusLag is the pessimistic fake's StatusLag: a few seconds,
// well inside a client's send grace (IGMCP_SEND_GRACE, 2 minutes).
const DefaultStatusLag = 2 * time.Second

// DefaultAccount is the account used when Options.Accounts is empty.
var DefaultAccount = Account{ID: "17841400000000001", Username: "sandbox_creator", Token: "EAAsandbox", Login: LoginFacebook}

// Call is one request the server saw.
type Call struct {
	Method string
	// Path is the URL path without the version prefix, e.g.
	// "/17841400000000001/media".
	Path string
	// Version is the version segment ("v25.0"), empty when unversioned.
	Version string
	// Params are query, form and JSON-body parameters merged; never the
	// access_token. Credential parameters (appsecret_proof, client_secret,
	// fb_exchange_token, code) show as "[redacted]".
	Params url.Values
	// Token is the access token the call carried (for assertions only).
	Token string
	// TokenSource says where the token came from: "bearer", "oauth"
	// (Authorization header schemes), "query", "form", "json" or "".
	TokenSource string
	// Header holds selected request headers (User-Agent, Content-Type,
	// offset, file_size, file_url); never Authorization.
	Header http.Header
	Time   time.Time
	// Status is the HTTP status answered; 0 when the connection was dropped
	// or the request is still in flight.
	Status int
	// Fault is the injected fault that decided the answer (0: none;
	// latency faults are not recorded).
	Fault FaultAction
	// ErrorCode and ErrorSubcode are those of a Graph error answered (0:
	// none, or a string code).
	ErrorCode, ErrorSubcode int
	// Aborted: the client went away before the fake acted on the call
	// (during its latency or a delay fault); the call changed nothing.
	Aborted bool

	start, end int64 // event sequence numbers for MaxConcurrent
}

// Container is a snapshot of an IG container, for assertions.
type Container struct {
	ID        string
	AccountID string
	// Kind is IMAGE, VIDEO (carousel video item), REELS, STORIES or CAROUSEL.
	Kind           string
	IsCarouselItem bool
	ImageURL       string
	VideoURL       string
	Caption        string
	Children       []string
	Params         url.Values
	Resumable      bool
	Uploaded       bool // resumable upload complete
	StatusCode     string
	Status         string
	Created        time.Time
	StatusReads    int    // GET /{container-id} answers that said IN_PROGRESS
	MediaID        string // set once published
}

// Media is a published IG media object.
type Media struct {
	ID          string
	AccountID   string
	ContainerID string
	// MediaType is IMAGE, VIDEO or CAROUSEL_ALBUM.
	MediaType string
	// ProductType is FEED, REELS or STORY.
	ProductType string
	Caption     string
	Permalink   string
	Shortcode   string
	Timestamp   time.Time
	MediaURL    string
	Children    []string // child media ids of a carousel
	Deleted     bool
}

// Server is the fake Graph API.
type Server struct {
	opts Options

	mu       sync.Mutex
	seq      int64 // object id / ordering sequence
	ev       int64 // request start/end event sequence
	acctByID map[string]*account
	tokens   map[string]*tokenInfo
	pages    map[string]*account
	objs     map[string]any // id → *container | *media | *comment
	faults   []*faultState
	outcomes []outcomeRule
	calls    []*Call
	codes    map[string]*account // unused OAuth authorization codes
	late     lateWork            // FaultDropThenApplyLater requests not yet applied
}

// New builds a Server.
func New(opts Options) *Server {
	if len(opts.Accounts) == 0 {
		opts.Accounts = []Account{DefaultAccount}
	}
	if opts.QuotaTotal <= 0 {
		opts.QuotaTotal = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Optimistic {
		opts.ReadAfterWrite, opts.RefuseRepublish = true, true
	}
	switch {
	case opts.StatusLag < 0:
		opts.StatusLag = 0
	case opts.StatusLag == 0 && !opts.Optimistic:
		opts.StatusLag = DefaultStatusLag
	}
	if opts.PermalinkBase == "" {
		opts.PermalinkBase = "https://www.instagram.com"
	}
	s := &Server{
		opts:     opts,
		seq:      idBase(),
		acctByID: map[string]*account{},
		tokens:   map[string]*tokenInfo{},
		pages:    map[string]*account{},
		objs:     map[string]any{},
	}
	for _, a := range opts.Accounts {
		if a.Login == "" {
			a.Login = LoginFacebook
		}
		ac := &account{Account: a, usage: usageState{configured: opts.UsagePerCall > 0}}
		ac.pageID = derivedID("1000", a.ID, 11)
		ac.appScopedID = derivedID("2", a.ID, 16)
		s.acctByID[a.ID] = ac
		s.pages[ac.pageID] = ac
		ti := s.tokens[a.Token]
		if ti == nil {
			ti = &tokenInfo{expiry: a.TokenExpiry, login: a.Login, fbUserID: derivedID("10", a.Token, 15)}
			s.tokens[a.Token] = ti
		}
		ti.accounts = append(ti.accounts, ac)
	}
	return s
}

// Start serves s on a loopback httptest server and returns its base URL
// (no trailing slash, no version) and a function that shuts it down.
func (s *Server) Start() (baseURL string, closeFn func()) {
	ts := httptest.NewServer(s)
	return ts.URL, func() {
		s.late.cancel()
		ts.CloseClientConnections()
		ts.Close()
	}
}

func (s *Server) now() time.Time { return s.opts.Now() }

// Calls returns a copy of every request seen, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = *c
		out[i].Params = cloneValues(c.Params)
		out[i].Header = c.Header.Clone()
	}
	return out
}

// CountCalls counts requests with the method ("" = any) whose path ends
// with pathSuffix.
func (s *Server) CountCalls(method, pathSuffix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if matchCall(method, pathSuffix, c.Method, c.Path) {
			n++
		}
	}
	return n
}

// MaxConcurrent is the largest number of matching requests (method "" =
// any, path ending with pathSuffix) that were in flight at the same time,
// e.g. MaxConcurrent("POST", "/media") proves carousel children were
// created in parallel. Latency makes overlaps observable.
func (s *Server) MaxConcurrent(method, pathSuffix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	type event struct {
		at    int64
		delta int
	}
	var evs []event
	for _, c := range s.calls {
		if !matchCall(method, pathSuffix, c.Method, c.Path) {
			continue
		}
		evs = append(evs, event{c.start, +1})
		if c.end != 0 {
			evs = append(evs, event{c.end, -1})
		}
	}
	// event numbers are unique, so sorting by number orders them exactly
	sort.Slice(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	cur, max := 0, 0
	for _, e := range evs {
		cur += e.delta
		if cur > max {
			max = cur
		}
	}
	return max
}

func matchCall(method, suffix, cm, cp string) bool {
	if method != "" && !strings.EqualFold(method, cm) {
		return false
	}
	return strings.HasSuffix(cp, suffix)
}

// MediaPublishes counts the media_publish requests for containerID
// (creation_id), whatever they were answered: every send, including those
// whose answer was lost or that took effect later.
func (s *Server) MediaPublishes(containerID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if strings.EqualFold(c.Method, http.MethodPost) && strings.HasSuffix(c.Path, "/media_publish") && c.Params.Get("creation_id") == containerID {
			n++
		}
	}
	return n
}

// PublishSends counts the media_publish requests for containerID that may
// have put it live: all of them (MediaPublishes) except those answered
// "not ready" (9007/2207027), which publish nothing. A client that tries
// media_publish before the container is ready, and never sends it twice,
// keeps this at 1 whatever its not-ready attempts.
func (s *Server) PublishSends(containerID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if strings.EqualFold(c.Method, http.MethodPost) && strings.HasSuffix(c.Path, "/media_publish") && c.Params.Get("creation_id") == containerID &&
			c.ErrorCode != 9007 && c.ErrorSubcode != 2207027 {
			n++
		}
	}
	return n
}

// Published returns the media published through media_publish for the
// account, in publishing order (stories included, carousel children not).
func (s *Server) Published(accountID string) []Media {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acctByID[accountID]
	if a == nil {
		return nil
	}
	out := make([]Media, 0, len(a.published))
	for _, id := range a.published {
		m := s.objs[id].(*media)
		out = append(out, m.snapshot())
	}
	return out
}

// Containers returns a snapshot of every container created, in creation
// order, with its current status (reading it here is not a status read).
func (s *Server) Containers() []Container {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []Container
	var all []*container
	for _, o := range s.objs {
		if c, ok := o.(*container); ok {
			all = append(all, c)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	for _, c := range all {
		code, status := s.containerStatus(c, now)
		out = append(out, Container{
			ID: c.id, AccountID: c.acct.ID, Kind: c.kind, IsCarouselItem: c.isItem,
			ImageURL: c.imageURL, VideoURL: c.videoURL, Caption: c.caption,
			Children: append([]string(nil), c.children...), Params: cloneValues(c.params),
			Resumable: c.resumable, Uploaded: c.uploaded, StatusCode: code, Status: status,
			Created: c.created, StatusReads: c.reads, MediaID: c.mediaID,
		})
	}
	return out
}

// SetUsage sets the account's BUC usage: call_count percent and
// estimated_time_to_regain_access minutes. From then on its responses
// carry usage headers. At callCountPercent >= 100 every call of the account
// answers 80002 until regainMinutes (default 60 when <= 0) have passed on
// the clock; then usage drops to 0.
func (s *Server) SetUsage(accountID string, callCountPercent int, regainMinutes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acctByID[accountID]
	if a == nil {
		return
	}
	a.usage.configured = true
	a.usage.callCount = callCountPercent
	a.usage.regainMinutes = regainMinutes
	a.usage.throttledUntil = time.Time{}
	if callCountPercent >= 100 {
		if regainMinutes <= 0 {
			regainMinutes = defaultRegainMinutes
		}
		a.usage.throttledUntil = s.now().Add(time.Duration(regainMinutes) * time.Minute)
	}
}

// AddComment adds a comment by another (simulated) Instagram user on a
// published media and returns its id, "" when the media is unknown or its
// comments are disabled.
func (s *Server) AddComment(mediaID, username, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.objs[mediaID].(*media)
	if !ok || m.deleted || !m.commentEnabled {
		return ""
	}
	return s.newComment(m, nil, username, igsid(username), text).id
}

// AddReply adds a reply by another (simulated) user to a comment (a reply
// to a reply attaches to the top-level comment) and returns its id, "" when
// the comment is unknown.
func (s *Server) AddReply(commentID, username, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.objs[commentID].(*comment)
	if !ok || c.deleted {
		return ""
	}
	if c.parent != nil {
		c = c.parent
	}
	return s.newComment(c.media, c, username, igsid(username), text).id
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
