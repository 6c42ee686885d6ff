package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/store"
)

// Graph is what the pipeline needs from the Graph API; *graph.Client
// satisfies it.
type Graph interface {
	CreateContainer(ctx context.Context, igUserID string, req *graph.ContainerRequest) (*graph.Container, *graph.Response, error)
	GetContainer(ctx context.Context, containerID string) (*graph.Container, *graph.Response, error)
	Publish(ctx context.Context, igUserID, creationID string) (*graph.Media, *graph.Response, error)
	GetMedia(ctx context.Context, mediaID string, fields ...string) (*graph.Media, *graph.Response, error)
	CreateComment(ctx context.Context, mediaID, message string) (*graph.Comment, *graph.Response, error)
	PublishingLimit(ctx context.Context, igUserID string) (*graph.PublishingLimit, *graph.Response, error)
	RecentMedia(ctx context.Context, igUserID string, limit int) ([]graph.Media, *graph.Response, error)
	RecentStories(ctx context.Context, igUserID string, limit int) ([]graph.Media, *graph.Response, error)
	ListComments(ctx context.Context, mediaID string, opts *graph.ListCommentsOptions) ([]graph.Comment, *graph.Response, error)
}

// Account is the Instagram professional account a publish acts as.
type Account struct {
	ID       string
	Username string
	// Login is how the account's token was obtained; "" is Facebook Login.
	// It decides what the account can do: resumable upload of a local
	// video exists with Facebook Login only.
	Login auth.Login
	Graph Graph
}

// Published is what a successful media_publish produced.
type Published struct {
	MediaID   string
	Permalink string
}

// Store is what publishing keeps durably: the idempotency ledger (so a
// repeated call or a restarted process never publishes twice) and the
// journal of writes. store.Store satisfies it.
type Store interface {
	store.Ledger
	AppendJournal(ctx context.Context, e store.JournalEntry) (store.JournalEntry, error)
	// Publishes counted in the store are shared by every process, so the
	// quota check sees what the others published since the last reading.
	RecordPublish(ctx context.Context, accountID string, at time.Time) error
	CountPublishes(ctx context.Context, accountID string, since time.Time) (int, error)
}

// Backoff is a polling schedule: Initial, then ×Factor each time, at most Max.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Factor  float64
}

func (b Backoff) next(d time.Duration) time.Duration {
	n := time.Duration(float64(d) * b.Factor)
	if n > b.Max {
		n = b.Max
	}
	if n < b.Initial {
		n = b.Initial
	}
	return n
}

// PollPolicy holds one schedule per kind of media: images are usually ready
// within seconds, videos take minutes, and Meta asks apps not to poll hard.
type PollPolicy struct {
	Image Backoff
	Video Backoff
}

// DefaultPollPolicy polls an image at 1, 1.5, 2.25 … up to 5 s, and a video
// at 3, 5, 8 … up to 30 s: a Reel that processes for 2 minutes costs about 8
// status reads instead of 120 with a fixed one-second loop.
func DefaultPollPolicy() PollPolicy {
	return PollPolicy{
		Image: Backoff{Initial: time.Second, Max: 5 * time.Second, Factor: 1.5},
		Video: Backoff{Initial: 3 * time.Second, Max: 30 * time.Second, Factor: 1.6},
	}
}

// Publisher runs publishes. The zero value is not usable; use New.
type Publisher struct {
	store            Store
	inflight         inflight
	poll             PollPolicy
	childConcurrency int
	log              *slog.Logger
	// maxPollErrors is how many consecutive failed status reads end a wait.
	maxPollErrors int
	quota         quota
	sendGrace     time.Duration
	// preflight looks at the media before containers are created.
	preflight PreflightFunc
	// local publishes file_path media (staging, uploads).
	local Local
	// observed is what was measured about how the Graph API answers an
	// account (nil: nothing).
	observed func(ctx context.Context, accountID string) Observations
}

// Observations are what igmcp measured about how the Graph API answers an
// account (`igmcp doctor --probe`): facts that let the publisher leave out
// requests whose answer it knows. Without them it assumes nothing.
type Observations struct {
	// ImageReady is how long a new image container took to read FINISHED
	// (nil: not measured). A publish of an image (or the creation of an
	// album of images) is tried that long after the containers were
	// created, instead of at once and being told "not ready".
	ImageReady *time.Duration
}

// WithObservations sets where the publisher finds an account's
// Observations; it is asked once per image post or album.
func WithObservations(fn func(ctx context.Context, accountID string) Observations) Option {
	return func(p *Publisher) { p.observed = fn }
}

// awaitImages sleeps, before the first try of a container made of images
// whose status is unknown, as long as images were measured to take (never
// past the deadline). Nothing measured: no sleep; images are usually ready
// at once.
func (p *Publisher) awaitImages(ctx context.Context, a *Account, deadline time.Time) error {
	if p.observed == nil {
		return nil
	}
	d := p.observed(ctx, a.ID).ImageReady
	if d == nil || *d <= 0 {
		return nil
	}
	return sleepCtx(ctx, min(*d, time.Until(deadline)))
}

// PreflightFunc looks at a request's media before any container is created
// (IGMCP_PREFLIGHT=on): its warnings go into the result, its error refuses
// the publish. (*preflight.Checker).Check is one.
type PreflightFunc func(ctx context.Context, media []preflight.Media) ([]string, error)

// WithPreflight sets the preflight check of every Run.
func WithPreflight(fn PreflightFunc) Option { return func(p *Publisher) { p.preflight = fn } }

// WithLocalMedia sets how file_path media are published: the stager for
// images and the resumable-upload settings for videos.
func WithLocalMedia(l Local) Option { return func(p *Publisher) { p.local = l } }

func (p *Publisher) localMedia(o Options) Local {
	l := p.local
	l.Upload.Progress = o.UploadProgress
	return l
}

// Option configures a Publisher.
type Option func(*Publisher)

// WithPollPolicy sets the polling schedules (tests use milliseconds).
func WithPollPolicy(pp PollPolicy) Option { return func(p *Publisher) { p.poll = pp } }

// WithChildConcurrency bounds how many carousel children are created at once.
func WithChildConcurrency(n int) Option {
	return func(p *Publisher) {
		if n > 0 {
			p.childConcurrency = n
		}
	}
}

// WithLogger sets the logger (ids and states only; never tokens).
func WithLogger(l *slog.Logger) Option { return func(p *Publisher) { p.log = l } }

// New builds a Publisher that records every publish in st.
func New(st Store, opts ...Option) *Publisher {
	p := &Publisher{
		store:            st,
		poll:             DefaultPollPolicy(),
		childConcurrency: MaxCarouselItems,
		log:              slog.New(slog.DiscardHandler),
		maxPollErrors:    3,
		sendGrace:        defaultSendGrace,
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Progress reports waiting: how long has passed of how long we may wait.
type Progress struct {
	Elapsed time.Duration
	Total   time.Duration
	Message string
}

// Options control one publish.
type Options struct {
	// Wait bounds how long to wait for processing; 0 means do not wait.
	Wait time.Duration
	// Draft stops at a ready container instead of publishing it.
	Draft bool
	// Progress, if set, is called while waiting.
	Progress func(Progress)
	// UploadProgress, if set, is called while a file_path video uploads.
	UploadProgress func(sent, total int64)
	// BeforeSend, if set, is asked right after this call claimed the
	// send in the ledger and before media_publish goes out (and before a
	// lost send is sent again). An error stops the publish there: nothing
	// is sent, a fresh claim is recorded as failed (a later call with the
	// key starts again), and Run returns the error. Asking after the claim
	// is what makes "stopped" certain: whoever reads the ledger before the
	// claim and then sees no send will see none later either.
	BeforeSend func(ctx context.Context) error
}

// Result statuses.
const (
	StatusPublished  = "published"
	StatusDraft      = "draft"
	StatusProcessing = "processing"
)

// Result is the outcome of a publish (docs/reference.md §3 publish result).
type Result struct {
	Status            string   `json:"status" jsonschema:"enum=published,enum=draft,enum=processing" jsonschema_description:"published, draft (ready container, not published) or processing (still processing after wait_seconds)."`
	ContainerID       string   `json:"container_id,omitempty" jsonschema_description:"The media container id."`
	MediaID           string   `json:"media_id,omitempty" jsonschema_description:"Id of the published media."`
	Permalink         string   `json:"permalink,omitempty" jsonschema_description:"Public URL of the published media."`
	FirstCommentID    string   `json:"first_comment_id,omitempty" jsonschema_description:"Id of the first comment, when one was posted."`
	ChildContainerIDs []string `json:"child_container_ids,omitempty" jsonschema_description:"Carousel item containers, in order."`
	Warnings          []string `json:"warnings,omitempty" jsonschema_description:"Things that went wrong without failing the publish."`
	NextAction        string   `json:"next_action,omitempty" jsonschema_description:"What to do next, when anything."`
	Replayed          bool     `json:"replayed,omitempty" jsonschema_description:"true when this idempotency_key was already published: this is the earlier result and nothing was published again."`
}

type mediaKind int

const (
	kindImage mediaKind = iota
	kindVideo
)

// buildCarousel creates the items in parallel (bounded), then the album,
// and returns the album. An image item whose status the creation did not
// answer (no read-after-write) is not read first: images are usually ready
// at once, so the album is created right away; Instagram refuses it while
// an item is not ready (9007/2207027), and only then are the items waited
// on, in parallel, before one more try. Video items and items that
// answered IN_PROGRESS are waited on as soon as they exist.
func (p *Publisher) buildCarousel(ctx context.Context, a *Account, in *CarouselInput, deadline time.Time, progress func(Progress)) (*graph.Container, []string, mediaKind, error) {
	children := make([]string, len(in.Items))
	kinds := make([]mediaKind, len(in.Items))
	unread := make([]bool, len(in.Items)) // created, status unknown, not waited on
	kind := kindImage
	workers := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError().WithMaxGoroutines(p.childConcurrency)
	for i := range in.Items {
		it := &in.Items[i]
		if it.VideoURL != "" {
			kinds[i], kind = kindVideo, kindVideo
		}
		workers.Go(func(ctx context.Context) error {
			c, err := p.create(ctx, a, it.request(), itemField(i))
			if err != nil {
				return err
			}
			children[i] = c.ID
			if kinds[i] == kindImage && c.StatusCode == "" {
				unread[i] = true
				return nil
			}
			return p.waitItem(ctx, a, c, kinds[i], i, deadline, progress)
		})
	}
	if err := workers.Wait(); err != nil {
		return nil, children, kind, notReadyChildren(err, children)
	}
	parentReq := &graph.ContainerRequest{MediaType: graph.MediaTypeCarousel, Children: children}
	in.Common.apply(parentReq)
	if slices.Contains(unread, true) {
		if err := p.awaitImages(ctx, a, deadline); err != nil {
			return nil, children, kind, err
		}
	}
	parent, err := p.create(ctx, a, parentReq, "")
	if err == nil {
		return parent, children, kind, nil
	}
	// Refused: the items say why. "Not ready" waits for every item (also
	// those read FINISHED: Instagram disagrees) and tries once more; a
	// refusal an item can cause (it failed, expired, is gone) waits for
	// the items not read yet, to name the one at fault.
	retry := isNotReady(err)
	if !retry && !(slices.Contains(unread, true) && itemMayExplain(err)) {
		return nil, children, kind, err
	}
	waits := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError().WithMaxGoroutines(p.childConcurrency)
	for i, id := range children {
		if retry || unread[i] {
			waits.Go(func(ctx context.Context) error {
				return p.waitItem(ctx, a, &graph.Container{ID: id, StatusCode: graph.StatusInProgress}, kinds[i], i, deadline, progress)
			})
		}
	}
	if werr := waits.Wait(); werr != nil {
		return nil, children, kind, notReadyChildren(werr, children)
	}
	if !retry {
		return nil, children, kind, err
	}
	parent, err = p.create(ctx, a, parentReq, "")
	return parent, children, kind, err
}

func itemField(i int) string { return fmt.Sprintf("items[%d]", i) }

// waitItem waits for carousel item i until it is FINISHED: any other end
// is the item's error.
func (p *Publisher) waitItem(ctx context.Context, a *Account, c *graph.Container, kind mediaKind, i int, deadline time.Time, progress func(Progress)) error {
	st, err := p.wait(ctx, a, c, kind, deadline, progress)
	if err != nil {
		return withField(err, itemField(i))
	}
	if st.StatusCode != graph.StatusFinished {
		return terminalError(st, itemField(i))
	}
	return nil
}

// isNotReady: Instagram refused a request because a container is still
// processing (9007/2207027) — a refusal that did nothing.
func isNotReady(err error) bool {
	var ge *graph.Error
	return errors.As(err, &ge) && ge.IsNotReady()
}

// itemMayExplain: an album refusal that an item's state can cause.
func itemMayExplain(err error) bool {
	switch failure.Classify(err).Kind {
	case failure.ContainerFailed, failure.ContainerExpired, failure.NotFound, failure.Transient, failure.Upstream:
		return true
	}
	return false
}

// errStillProcessing ends a child's wait at the deadline.
var errStillProcessing = errors.New("still processing")

func notReadyChildren(err error, children []string) error {
	if errors.Is(err, errStillProcessing) {
		e := failure.New(failure.ContainerNotReady,
			fmt.Sprintf("Carousel items were still processing when wait_seconds ran out (containers %s).", strings.Join(nonEmpty(children), ", ")))
		e.Action = "Call create_carousel again with a larger wait_seconds; video items can take minutes."
		e.RetryAfter = 60
		return e
	}
	return err
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Status reads a container's status.
func (p *Publisher) Status(ctx context.Context, a *Account, containerID string) (*graph.Container, error) {
	if !numericRE.MatchString(containerID) {
		return nil, failure.Invalid("container_id", "container_id is the numeric id returned by a publishing tool")
	}
	c, _, err := a.Graph.GetContainer(ctx, containerID)
	return c, err
}

func (p *Publisher) create(ctx context.Context, a *Account, req *graph.ContainerRequest, field string) (*graph.Container, error) {
	c, _, err := a.Graph.CreateContainer(ctx, a.ID, req)
	if err != nil {
		return nil, withField(err, field)
	}
	p.log.Debug("container created", "account", a.ID, "container", c.ID, "status", c.StatusCode)
	return c, nil
}

// wait polls the container until it leaves IN_PROGRESS or the deadline
// passes (then it returns the last status and errStillProcessing).
func (p *Publisher) wait(ctx context.Context, a *Account, c *graph.Container, kind mediaKind, deadline time.Time, progress func(Progress)) (*graph.Container, error) {
	b := p.poll.Image
	if kind == kindVideo {
		b = p.poll.Video
	}
	start := time.Now()
	total := deadline.Sub(start)
	st := c
	delay := b.Initial
	if st.StatusCode == "" && kind == kindImage && time.Now().Before(deadline) {
		// Instagram did not say (no read-after-write): images are usually
		// ready at once, so look right away rather than sleeping first.
		delay = 0
	}
	pollErrors := 0
	for st.StatusCode == "" || st.StatusCode == graph.StatusInProgress {
		now := time.Now()
		if !now.Before(deadline) {
			return st, errStillProcessing
		}
		if progress != nil && total > 0 {
			progress(Progress{Elapsed: now.Sub(start), Total: total, Message: fmt.Sprintf("container %s: %s", c.ID, statusText(st))})
		}
		sleep := min(delay, deadline.Sub(now))
		if err := sleepCtx(ctx, sleep); err != nil {
			return st, err
		}
		next, _, err := a.Graph.GetContainer(ctx, c.ID)
		switch {
		case err == nil:
			pollErrors = 0
			st = next
		case ctx.Err() != nil:
			return st, ctx.Err()
		case isTransient(err) && pollErrors+1 < p.maxPollErrors:
			// Status reads are safe to repeat; a blip must not end a
			// minutes-long wait.
			pollErrors++
			p.log.Debug("status poll failed, will retry", "container", c.ID, "err", err)
		default:
			return st, err
		}
		delay = b.next(delay)
	}
	if progress != nil && total > 0 {
		progress(Progress{Elapsed: time.Since(start), Total: total, Message: fmt.Sprintf("container %s: %s", c.ID, statusText(st))})
	}
	return st, nil
}

func statusText(c *graph.Container) string {
	if c.StatusCode == "" {
		return "created"
	}
	return c.StatusCode
}

func isTransient(err error) bool {
	k := failure.Classify(err).Kind
	return k == failure.Transient
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// terminalError turns ERROR/EXPIRED (or an unknown status) into the
// structured error, with the reason Instagram gave in `status`.
func terminalError(c *graph.Container, field string) error {
	switch c.StatusCode {
	case graph.StatusExpired:
		e := failure.New(failure.ContainerExpired, fmt.Sprintf("Container %s expired before it was published (containers live 24 hours).", c.ID))
		e.Field = field
		return e
	case graph.StatusError:
		msg := fmt.Sprintf("Instagram could not process container %s", c.ID)
		if c.Status != "" {
			msg += ": " + c.Status
		}
		e := failure.New(failure.ContainerFailed, msg+".")
		if sub := StatusSubcode(c.Status); sub != 0 {
			// The subcode says what to fix; reuse the Graph error table's
			// action for it.
			ge := failure.Classify(&graph.Error{Code: -1, Subcode: sub})
			if ge.Kind == failure.MediaRejected || ge.Kind == failure.InvalidInput {
				e.Action = ge.Action
			}
			e.Graph = &failure.GraphInfo{Subcode: sub}
		}
		e.Field = field
		return e
	}
	return failure.New(failure.Upstream, fmt.Sprintf("Container %s is in an unexpected state %q.", c.ID, c.StatusCode))
}

// StatusSubcode extracts the trailing error code from a container `status`
// such as "Error: Media upload has failed with error code 2207026".
func StatusSubcode(status string) int {
	i := len(status)
	for i > 0 && status[i-1] >= '0' && status[i-1] <= '9' {
		i--
	}
	digits := status[i:]
	if len(digits) < 4 || len(digits) > 9 {
		return 0
	}
	n := 0
	for _, d := range digits {
		n = n*10 + int(d-'0')
	}
	return n
}

func withField(err error, field string) error {
	if field == "" {
		return err
	}
	fe := failure.Classify(err)
	if fe.Field == "" {
		cp := *fe
		cp.Field = field
		return &cp
	}
	return err
}
