// Package scheduler publishes posts later: schedules (schedule_post) and
// background jobs (a publishing tool called with wait: false). Both are rows
// of the store's schedules table, so one loop, one lease protocol and one
// recovery path serve them, and both survive the process that accepted them.
//
// Every igmcp process runs a Scheduler. Each loop iteration
//
//  1. gives back the schedules whose lease expired (their process died),
//  2. marks missed what was due longer ago than the grace window and never
//     started (no server ran in time),
//  3. claims due schedules with a lease, up to its free concurrency slots,
//
// and each claimed schedule is published through publish.Runner.Run with the
// schedule's idempotency key while a goroutine renews the lease. The key is
// what makes a second attempt after a crash resume the first one instead of
// publishing twice: the lease only decides who works on a schedule, the
// ledger behind Run decides what has already been done.
//
// Jobs are schedules due at once whose ids start with "job_"; the schedule
// tools never show them. A job is therefore picked up by any process, and a
// job whose process died is finished by another one, exactly like a
// schedule.
package scheduler

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/store"
)

// Id prefixes tell schedules from jobs in the one table they share.
const (
	SchedulePrefix = "sch_"
	JobPrefix      = "job_"
)

// DefaultMaxAhead bounds publish_at (docs/reference.md §3). Instagram has
// no scheduling of its own and containers are created at publish time, so
// their 24-hour life does not bind; the bound is a product choice: 75 days
// covers a season of planned posts, and refuses a far-future schedule a
// mistake or an injected prompt would leave waiting in the store.
const DefaultMaxAhead = 75 * 24 * time.Hour

// Requester is who asks: the account a schedule or job publishes as, and
// the scoped HTTP token asking (its grant's name; "" for a caller without
// one: stdio, IGMCP_HTTP_TOKEN). What a token creates is its own: another
// token on the same account cannot list, read or cancel it, while a caller
// without a token sees everything of the account.
type Requester struct {
	AccountID string
	Token     string
}

// sees reports whether the requester may see sc.
func (rq Requester) sees(sc store.Schedule) bool {
	return sc.AccountID == rq.AccountID && (rq.Token == "" || sc.CreatedBy == rq.Token)
}

// kinds are the post kinds schedules and jobs accept, each with the input a
// publish.Request carries for it. Adding a kind is one line here, once
// publish.DecodeRequest knows it: the schedule_post schema and every check
// read this table.
var kinds = []struct {
	name  string
	input func(*publish.Request) any
}{
	{publish.KindPost, func(r *publish.Request) any { return r.Post }},
	{publish.KindCarousel, func(r *publish.Request) any { return r.Carousel }},
	{publish.KindReel, func(r *publish.Request) any { return r.Reel }},
	{publish.KindStory, func(r *publish.Request) any { return r.Story }},
}

// Kinds lists the kinds that can be scheduled, in display order.
func Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.name
	}
	return out
}

func kindInput(r *publish.Request) (any, bool) {
	for _, k := range kinds {
		if k.name == r.Kind {
			in := k.input(r)
			return in, in != nil
		}
	}
	return nil, false
}

// Accounts resolves the account a schedule was made for. It is the one
// method of the auth package the scheduler relies on, so the multi-account
// rewrite of auth only has to keep it.
type Accounts interface {
	Resolve(ctx context.Context, name string) (*auth.Account, error)
}

// Runner publishes one request exactly once per idempotency key;
// *publish.Publisher is the implementation.
type Runner interface {
	Run(ctx context.Context, a *publish.Account, r publish.Request, o publish.Options) (*publish.Result, error)
}

// Config configures a Scheduler. Zero durations and counts take the
// defaults documented on each field.
type Config struct {
	Store     store.Schedules
	Accounts  Accounts
	Publisher Runner
	Logger    *slog.Logger

	// Tick is how often the loop looks for due schedules and expired
	// leases when nothing wakes it earlier. Default 1 s: schedules are
	// published within about a second of publish_at.
	Tick time.Duration
	// Lease is how long a claim holds a schedule without renewal; it is
	// renewed every Lease/3 while a publish runs. A process that dies
	// leaves its schedules to others after at most Lease. Default 1 min.
	// Clocks of processes sharing a database must agree to well within it.
	Lease time.Duration
	// Grace is how late a schedule may still be published when no server
	// ran at its time; older ones become missed. Default 1 h.
	Grace time.Duration
	// Concurrency bounds the publishes this process runs at once. Default 8.
	Concurrency int
	// PublishWait is how long one publish waits for Instagram to process
	// the media (a Reel can take minutes). Default 15 min, the longest
	// any tool waits (wait_seconds ≤ 900).
	PublishWait time.Duration
	// PastTolerance is how far in the past publish_at may be when a post
	// is scheduled (clock skew, a slow agent). Default 1 min.
	PastTolerance time.Duration
	// MaxAhead is how far in the future publish_at may be. Default
	// DefaultMaxAhead.
	MaxAhead time.Duration
	// DrainTimeout is how long publishes in flight may finish after Run's
	// context ends; then they are cancelled and their schedules released
	// for another process (or the next start) to resume. Default 5 s.
	DrainTimeout time.Duration
	// SkipFor is how long schedules of an account this process cannot act
	// as are left to other processes before it looks again. Default 1 min.
	SkipFor time.Duration
	// RetryFor is how long one claim keeps retrying failures Instagram (or
	// the ledger) calls retryable: transient errors, rate limits, and "a
	// publish with this key is in flight", which the ledger answers for up
	// to two minutes after a process died mid-publish. Default 15 min.
	RetryFor time.Duration
	// RetryBase is the first wait between tries, doubled each time (at
	// most a minute) and never shorter than the error's
	// retry_after_seconds. Default 1 s.
	RetryBase time.Duration
	// MaxRetryDelay is the longest single wait; a failure asking for longer
	// (a used-up publishing quota) fails the schedule at once, with the
	// error saying when to try again. Default 5 min.
	MaxRetryDelay time.Duration
	// Owner names this process in leases. Default host/pid/random.
	Owner string
	// BeforeSend, if set, is asked about a job (by id) right before its
	// publish sends media_publish (publish.Options.BeforeSend). An error
	// wrapping ErrCancelled stops the job there, nothing sent, and it ends
	// cancelled: how an MCP task's cancellation reaches a job that another
	// process may be running (docs/reference.md §6).
	BeforeSend func(ctx context.Context, id string) error
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() error {
	if c.Store == nil || c.Accounts == nil || c.Publisher == nil {
		return errors.New("scheduler: Store, Accounts and Publisher are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Tick, time.Second)
	def(&c.Lease, time.Minute)
	def(&c.Grace, time.Hour)
	def(&c.PublishWait, 15*time.Minute)
	def(&c.PastTolerance, time.Minute)
	def(&c.MaxAhead, DefaultMaxAhead)
	def(&c.DrainTimeout, 5*time.Second)
	def(&c.SkipFor, time.Minute)
	def(&c.RetryFor, 15*time.Minute)
	def(&c.RetryBase, time.Second)
	def(&c.MaxRetryDelay, 5*time.Minute)
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randomID()[:6])
	}
	return nil
}

// Scheduler is one process's share of the scheduling work. Its methods are
// safe for concurrent use.
type Scheduler struct {
	cfg Config
	log *slog.Logger

	slots   chan struct{} // one token per publish in flight
	wake    chan struct{} // a job was started or a slot freed: claim now
	running atomic.Bool

	mu   sync.Mutex
	skip map[string]time.Time // account → until when its schedules are left to others
}

// New checks cfg and builds a Scheduler; call Run to start it.
func New(cfg Config) (*Scheduler, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Scheduler{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "scheduler", "owner", cfg.Owner),
		slots: make(chan struct{}, cfg.Concurrency),
		wake:  make(chan struct{}, 1),
		skip:  map[string]time.Time{},
	}, nil
}

// Owner is the name this process's leases carry.
func (s *Scheduler) Owner() string { return s.cfg.Owner }

// ---------------------------------------------------------------------------
// Scheduling

// Check validates a post to schedule without touching the store or
// Instagram: the kind, file_path (refused before anything opens a file),
// every input rule of that kind, and publish_at (within PastTolerance of
// now, at most MaxAhead ahead). Errors are invalid_input with schedule_post's
// field paths (kind, post.caption, post.file_path, publish_at).
func (s *Scheduler) Check(kind string, post json.RawMessage, at time.Time) (publish.Request, error) {
	if !supported(kind) {
		return publish.Request{}, failure.Invalid("kind", "kind must be one of %s, got %q", strings.Join(Kinds(), ", "), kind)
	}
	if err := noLocalFile(post, "post."); err != nil {
		return publish.Request{}, err
	}
	r, err := publish.DecodeRequest(kind, post, "")
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		return publish.Request{}, UnderPost(err)
	}
	if at.IsZero() {
		return publish.Request{}, failure.Invalid("publish_at", "publish_at is required")
	}
	now := s.cfg.Now()
	if at.Before(now.Add(-s.cfg.PastTolerance)) {
		return publish.Request{}, failure.Invalid("publish_at", "publish_at %s is in the past (it is now %s); give a future time",
			at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if limit := now.Add(s.cfg.MaxAhead); at.After(limit) {
		return publish.Request{}, failure.Invalid("publish_at", "publish_at %s is more than %d days ahead; schedule it for %s at the latest, or later from closer to the date",
			at.UTC().Format(time.RFC3339), int(s.cfg.MaxAhead/(24*time.Hour)), limit.UTC().Format(time.RFC3339))
	}
	return r, nil
}

// noLocalFile refuses file_path in what is published later, by whichever
// process claims it: the file may be gone by then, or on another machine
// (processes sharing PostgreSQL need not share a disk). Whatever the kind,
// the argument is file_path at the top of the post.
func noLocalFile(post json.RawMessage, prefix string) error {
	var m map[string]any
	if json.Unmarshal(post, &m) != nil {
		return nil // DecodeRequest judges the shape
	}
	if p, _ := m["file_path"].(string); p != "" {
		e := failure.Invalid(prefix+"file_path", "a post published later needs its media at a public https URL, not a local file_path")
		e.Action = "Give image_url or video_url (a public https URL), or publish the local file now with the publishing tool and file_path."
		return e
	}
	return nil
}

func supported(kind string) bool {
	for _, k := range kinds {
		if k.name == kind {
			return true
		}
	}
	return false
}

// UnderPost moves an error's field under "post", where schedule_post takes
// the tool arguments: every field, whatever the error's kind, so an agent
// fixes the argument it actually gave.
func UnderPost(err error) error {
	fe := failure.Classify(err)
	cp := *fe
	switch {
	case cp.Field == "post" || strings.HasPrefix(cp.Field, "post."):
		return err
	case cp.Field != "":
		cp.Field = "post." + cp.Field
	case fe.Kind == failure.InvalidInput:
		cp.Field = "post"
	default:
		return err
	}
	return &cp
}

// Schedule checks the post (see Check) and stores it to be published as
// rq's account at at, rq's own. The schedule's idempotency key is
// "schedule:<id>".
func (s *Scheduler) Schedule(ctx context.Context, rq Requester, kind string, post json.RawMessage, at time.Time) (store.Schedule, error) {
	r, err := s.Check(kind, post, at)
	if err != nil {
		return store.Schedule{}, err
	}
	args, err := encodeInput(&r)
	if err != nil {
		return store.Schedule{}, err
	}
	id := SchedulePrefix + randomID()
	sc, err := s.cfg.Store.CreateSchedule(ctx, store.Schedule{
		ID: id, AccountID: rq.AccountID, Kind: store.Kind(kind), PublishAt: at, Args: args,
		IdempotencyKey: "schedule:" + id, CreatedBy: rq.Token,
	})
	if err != nil {
		return store.Schedule{}, fmt.Errorf("scheduler: store schedule: %w", err)
	}
	s.log.Info("scheduled", "schedule", sc.ID, "account", rq.AccountID, "kind", kind, "publish_at", sc.PublishAt)
	if !sc.PublishAt.After(s.cfg.Now()) {
		s.poke()
	}
	return sc, nil
}

// encodeInput renders the request's input as the arguments of its kind's
// tool, the form DecodeRequest reads back.
func encodeInput(r *publish.Request) (json.RawMessage, error) {
	in, ok := kindInput(r)
	if !ok {
		return nil, failure.Invalid("kind", "kind must be one of %s, got %q", strings.Join(Kinds(), ", "), r.Kind)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("scheduler: encode %s input: %w", r.Kind, err)
	}
	return b, nil
}

// List returns the schedules (never jobs) of rq's account that rq may see,
// in publish_at order, optionally only in some states; limit 0 means all.
func (s *Scheduler) List(ctx context.Context, rq Requester, states []store.RunState, limit int) ([]store.Schedule, error) {
	out, err := s.cfg.Store.ListSchedules(ctx, store.ScheduleFilter{AccountID: rq.AccountID, CreatedBy: rq.Token,
		States: states, IDPrefix: SchedulePrefix, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("scheduler: list schedules: %w", err)
	}
	return out, nil
}

// Cancel cancels a schedule that has not started. Cancelling a cancelled
// schedule again returns it unchanged, so a retried call is harmless.
func (s *Scheduler) Cancel(ctx context.Context, rq Requester, id string) (store.Schedule, error) {
	sc, err := s.own(ctx, rq, id, SchedulePrefix, "schedule_id", "scheduled post")
	if err != nil {
		return store.Schedule{}, err
	}
	if sc.State == store.RunCancelled {
		return sc, nil
	}
	out, err := s.cfg.Store.CancelSchedule(ctx, id)
	if errors.Is(err, store.ErrConflict) {
		// Lost a race with a claim, or it had already moved on: say where
		// it is now.
		if cur, gerr := s.cfg.Store.GetSchedule(ctx, id); gerr == nil {
			if cur.State == store.RunCancelled {
				return cur, nil
			}
			sc = cur
		}
		e := failure.Invalid("schedule_id", "schedule %s is %s and can no longer be cancelled", id, sc.State)
		e.Action = "Only a schedule in state scheduled can be cancelled; check it with list_scheduled_posts."
		return store.Schedule{}, e
	}
	if err != nil {
		return store.Schedule{}, fmt.Errorf("scheduler: cancel %s: %w", id, err)
	}
	s.log.Info("schedule cancelled", "schedule", id, "account", rq.AccountID)
	return out, nil
}

// own loads a schedule or job rq may see. Another account's, another
// token's, or a job asked for as a schedule (and vice versa), is not_found:
// ids do not leak across accounts or tokens.
func (s *Scheduler) own(ctx context.Context, rq Requester, id, prefix, field, what string) (store.Schedule, error) {
	notFound := func() error {
		e := failure.New(failure.NotFound, fmt.Sprintf("No %s %q for this account.", what, id))
		e.Field = field
		if prefix == SchedulePrefix {
			e.Action = "Check the schedule_id with list_scheduled_posts."
		} else {
			e.Action = "Check the job_id: it is the one a publishing tool returned with wait: false."
		}
		return e
	}
	if !strings.HasPrefix(id, prefix) {
		return store.Schedule{}, notFound()
	}
	sc, err := s.cfg.Store.GetSchedule(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !rq.sees(sc)) {
		return store.Schedule{}, notFound()
	}
	if err != nil {
		return store.Schedule{}, fmt.Errorf("scheduler: read %s: %w", id, err)
	}
	return sc, nil
}

// ---------------------------------------------------------------------------
// Jobs

// StartJob stores r as a background publish for rq's account, rq's own,
// and returns its id at once; any igmcp process sharing the store
// publishes it (this one first, woken now), and Job reports it. The job
// waits up to PublishWait for processing whatever o.Wait says: nobody holds
// a request open for it. A draft (o.Draft) is refused: its result is a
// container, not a publish, and the job states have no place for it.
//
// With the caller's idempotency key the job is that key's job: its id is
// derived from the account, the token and the key, so repeated and
// concurrent calls with the key start one job and all get its id, and a
// call with the key and another post is invalid_input. The job publishes
// with that key (the ledger behind Run never publishes it twice). Without a
// key the job's key is "job:<id>".
func (s *Scheduler) StartJob(ctx context.Context, rq Requester, r publish.Request, o publish.Options) (string, error) {
	if o.Draft {
		return "", failure.Invalid("wait", "wait: false runs a publish in the background; a draft (publish: false) is made in the call itself, so leave wait out")
	}
	if !supported(r.Kind) {
		return "", failure.Invalid("kind", "kind must be one of %s, got %q", strings.Join(Kinds(), ", "), r.Kind)
	}
	if err := r.Validate(); err != nil {
		return "", err
	}
	args, err := encodeInput(&r)
	if err != nil {
		return "", err
	}
	if err := noLocalFile(args, ""); err != nil {
		e := *failure.Classify(err)
		e.Message = "wait: false publishes in the background, possibly from another igmcp process: it needs the media at a public https URL, not a local file_path"
		e.Action = "Give a public https URL, or call again without wait: false to upload the local file now."
		return "", &e
	}
	id, key := JobPrefix+randomID(), r.IdempotencyKey
	if key == "" {
		key = "job:" + id
	} else {
		id = keyedJobID(rq, key)
	}
	job := store.Schedule{ID: id, AccountID: rq.AccountID, Kind: store.Kind(r.Kind), PublishAt: s.cfg.Now(), Args: args,
		IdempotencyKey: key, CreatedBy: rq.Token}
	if _, err := s.cfg.Store.CreateSchedule(ctx, job); errors.Is(err, store.ErrConflict) && r.IdempotencyKey != "" {
		return id, s.sameJob(ctx, job)
	} else if err != nil {
		return "", fmt.Errorf("scheduler: store job: %w", err)
	}
	s.log.Info("job started", "job", id, "account", rq.AccountID, "kind", r.Kind)
	s.poke()
	return id, nil
}

// keyedJobID is the id of the job of an idempotency key: the same for the
// same account, token and key, in every process.
func keyedJobID(rq Requester, key string) string {
	sum := sha256.Sum256([]byte(rq.AccountID + "\x00" + rq.Token + "\x00" + key))
	return JobPrefix + strings.ToLower(base32.StdEncoding.EncodeToString(sum[:10]))
}

// sameJob accepts a job that exists under want's id if it is the same
// publish (account, token, key, kind and post); anything else reuses the
// key for another post.
func (s *Scheduler) sameJob(ctx context.Context, want store.Schedule) error {
	got, err := s.cfg.Store.GetSchedule(ctx, want.ID)
	if err != nil {
		return fmt.Errorf("scheduler: read job %s: %w", want.ID, err)
	}
	if got.AccountID != want.AccountID || got.CreatedBy != want.CreatedBy || got.IdempotencyKey != want.IdempotencyKey ||
		got.Kind != want.Kind || !bytes.Equal(got.Args, want.Args) {
		return publish.KeyReused()
	}
	return nil
}

// Job returns the job id if rq may see it; not_found for any other id.
func (s *Scheduler) Job(ctx context.Context, rq Requester, id string) (store.Schedule, error) {
	return s.own(ctx, rq, id, JobPrefix, "job_id", "job")
}

// IsJob reports whether a schedule row is a background job.
func IsJob(id string) bool { return strings.HasPrefix(id, JobPrefix) }

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// randomID is 16 lowercase base32 characters (80 random bits): unique
// without coordination between processes.
func randomID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}
