// Package store is igmcp's durable state: the idempotency ledger of
// publishes, the journal of writes, schedules (background publish jobs are schedules too),
// encrypted token records, the rate-limit and hashtag-search state that
// several igmcp processes share, the webhook events Meta delivered,
// what `igmcp doctor --probe` measured about the Graph API (observations),
// and what lets any replica answer any MCP request: tasks, confirmation
// dialogs, and the signals of the replicas' bus (signals.go).
//
// Two backends implement Store with identical behaviour: SQLite in a data
// directory (the embedded default) and PostgreSQL when a postgres:// URL is
// configured, which is what several processes must share. Both run the same
// embedded, versioned migrations at Open.
//
// Times are normalised to UTC and truncated to microseconds before they are
// stored, because microseconds are PostgreSQL's resolution; whatever goes in
// comes back equal (==) to t.UTC().Truncate(time.Microsecond) from either
// backend. The store never reads the database's clock: callers pass "now"
// where a decision depends on it, so every process judges leases by the same
// rules.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Every error the store returns wraps one of these when it
// is about the data rather than the database itself, so callers can use
// errors.Is.
var (
	// ErrNotFound: no record with that key or id.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the record exists but its state forbids the operation
	// (a compare-and-set lost, a key reused with another input, a duplicate
	// id, a lease held by someone else).
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid: the arguments are wrong whatever the data (missing ids,
	// unknown kinds, a transition the state diagram does not have).
	ErrInvalid = errors.New("store: invalid argument")
)

// Config selects the backend. DatabaseURL wins when set.
type Config struct {
	// DataDir holds the SQLite database (igmcp.db and its WAL files). It is
	// created with mode 0700 if missing.
	DataDir string
	// DatabaseURL is a postgres:// or postgresql:// URL. Several igmcp
	// processes may share one database.
	DatabaseURL string
}

// Open opens the configured backend and applies pending migrations.
func Open(ctx context.Context, cfg Config) (Store, error) {
	switch {
	case cfg.DatabaseURL != "":
		if !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
			return nil, fmt.Errorf("store: database URL must start with postgres:// or postgresql://: %w", ErrInvalid)
		}
		return openPostgres(ctx, cfg.DatabaseURL)
	case cfg.DataDir != "":
		return openSQLite(ctx, cfg.DataDir)
	default:
		return nil, fmt.Errorf("store: neither DataDir nor DatabaseURL is set: %w", ErrInvalid)
	}
}

// Store is all of igmcp's durable state. The parts are separate interfaces
// so a package can ask for only what it uses (publish/ needs a Ledger, not
// Tokens). Every method is safe for concurrent use, also across processes
// sharing one database.
type Store interface {
	Ledger
	Journal
	Schedules
	Tokens
	RateLimits
	Hashtags
	Events
	Observations
	Tasks
	Confirmations
	Signaler
	// Close releases the database. The Store must not be used afterwards.
	Close() error
}

// ---------------------------------------------------------------------------
// Idempotency ledger

// PublishState is where a publish attempt is. The allowed steps are:
//
//	reserved ──► container_created ──► publish_sent ──► published
//	   │  ▲            │    │                │
//	   │  └────────────┘    │                │
//	   ▼                    ▼                ▼
//	 failed ◄───────────────┴────────────────┘
//	   │
//	   └──► reserved   (retry of a failure the caller knows did not publish)
//
// container_created → reserved is for a container that expired before it
// was published. published is final.
type PublishState string

const (
	PublishReserved         PublishState = "reserved"
	PublishContainerCreated PublishState = "container_created"
	PublishSent             PublishState = "publish_sent"
	PublishPublished        PublishState = "published"
	PublishFailed           PublishState = "failed"
)

// CanAdvance reports whether the diagram above has the step from → to.
func (from PublishState) CanAdvance(to PublishState) bool {
	switch from {
	case PublishReserved:
		return to == PublishContainerCreated || to == PublishFailed
	case PublishContainerCreated:
		return to == PublishSent || to == PublishFailed || to == PublishReserved
	case PublishSent:
		return to == PublishPublished || to == PublishFailed
	case PublishFailed:
		return to == PublishReserved
	}
	return false
}

// Publish is one idempotency record, keyed by (AccountID, Key).
type Publish struct {
	AccountID   string
	Key         string
	InputDigest string
	State       PublishState
	ContainerID string   // set by the step to container_created
	ChildIDs    []string // carousel children, same step
	MediaID     string   // set by the step to published
	Permalink   string
	Result      json.RawMessage // the tool result to replay on a repeated call
	ErrorKind   string          // set by the step to failed
	Error       json.RawMessage
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PublishStep is one compare-and-set step of a Publish. Only the fields of
// the target state are written: ContainerID/ChildIDs for container_created,
// MediaID/Permalink/Result for published, ErrorKind/Error for failed. A step
// to reserved clears the container and the error, so a retry starts clean.
type PublishStep struct {
	From, To    PublishState
	ContainerID string
	ChildIDs    []string
	MediaID     string
	Permalink   string
	Result      json.RawMessage
	ErrorKind   string
	Error       json.RawMessage
}

// Ledger is the idempotency ledger. Its compare-and-set steps are what keep
// two processes racing on one key from both sending the publish: only one
// of them can move container_created → publish_sent.
type Ledger interface {
	// Reserve atomically creates the record in state reserved, or returns
	// the existing one with created=false. If the existing record has a
	// different input digest it is returned together with an error wrapping
	// ErrConflict: the key was reused for another post.
	Reserve(ctx context.Context, accountID, key, inputDigest string) (p Publish, created bool, err error)
	// GetPublish returns the record or ErrNotFound.
	GetPublish(ctx context.Context, accountID, key string) (Publish, error)
	// AdvancePublish applies step if the record is still in step.From. It
	// returns the updated record, ErrConflict when the state has moved on
	// (someone else won), ErrNotFound, or ErrInvalid for a step the diagram
	// does not have.
	AdvancePublish(ctx context.Context, accountID, key string, step PublishStep) (Publish, error)
	// ListPublishes returns the records in state, oldest update first. At
	// start, publish_sent records are the ones whose outcome is unknown and
	// need reconciling against Instagram.
	ListPublishes(ctx context.Context, state PublishState) ([]Publish, error)
}

// ---------------------------------------------------------------------------
// Journal

// JournalEntry is one write igmcp made (or tried to make) on Instagram.
type JournalEntry struct {
	ID          int64     // assigned by AppendJournal
	Time        time.Time // defaults to now
	AccountID   string
	Action      string // "publish", "comment", "moderate", …
	InputDigest string
	GraphIDs    []string // ids the write created or touched
	Outcome     string   // e.g. "ok", "error", "unknown"
	ErrorKind   string
}

// JournalQuery selects journal entries. Empty filters match everything.
type JournalQuery struct {
	AccountID string
	Action    string
	Limit     int    // 0 means 50; at most 1000
	Cursor    string // Next of the previous page; "" for the first
}

// Journal is the append-only record of writes.
type Journal interface {
	// AppendJournal stores e and returns it with its ID and Time set.
	AppendJournal(ctx context.Context, e JournalEntry) (JournalEntry, error)
	// ListJournal returns entries newest first (by Time, then ID). next is
	// the cursor for the following page, "" after the last one. A cursor
	// that cannot be parsed is ErrInvalid.
	ListJournal(ctx context.Context, q JournalQuery) (entries []JournalEntry, next string, err error)
}

// ---------------------------------------------------------------------------
// Schedules and jobs

// Kind is what is being published.
type Kind string

const (
	KindPost     Kind = "post"
	KindCarousel Kind = "carousel"
	KindReel     Kind = "reel"
	KindStory    Kind = "story"
)

// Valid reports whether k is one of the four kinds.
func (k Kind) Valid() bool {
	return k == KindPost || k == KindCarousel || k == KindReel || k == KindStory
}

// RunState is the state of a schedule or a job:
//
//	scheduled ──claim──► publishing ──complete──► published | failed | cancelled
//	    │  ▲                 │
//	    │  └─release/recover─┘
//	    ├──cancel──► cancelled
//	    └──mark missed──► missed
//
// A job ends cancelled from publishing when its worker stopped it before
// the send because its MCP task was cancelled (docs/reference.md §6).
//
// published, failed, cancelled and missed are final.
type RunState string

const (
	RunScheduled  RunState = "scheduled"
	RunPublishing RunState = "publishing"
	RunPublished  RunState = "published"
	RunFailed     RunState = "failed"
	RunCancelled  RunState = "cancelled"
	RunMissed     RunState = "missed"
)

// CanMove reports whether the diagram above has the step from → to.
func (from RunState) CanMove(to RunState) bool {
	switch from {
	case RunScheduled:
		return to == RunPublishing || to == RunCancelled || to == RunMissed
	case RunPublishing:
		return to == RunPublished || to == RunFailed || to == RunCancelled || to == RunScheduled
	}
	return false
}

// Final reports whether nothing can follow s.
func (s RunState) Final() bool {
	return s == RunPublished || s == RunFailed || s == RunCancelled || s == RunMissed
}

// Schedule is a post to publish at PublishAt.
type Schedule struct {
	ID             string
	AccountID      string
	Kind           Kind
	PublishAt      time.Time
	Args           json.RawMessage // the post arguments, as the tool received them
	IdempotencyKey string
	// CreatedBy is the scoped HTTP token (its grant's name) that created
	// the schedule, "" for an unscoped caller: only that token, and
	// unscoped callers, may see or cancel it (docs/reference.md §3).
	CreatedBy      string
	State          RunState
	LeaseOwner     string    // set while publishing
	LeaseExpiresAt time.Time // zero when not leased
	Attempts       int       // leases that expired without an outcome
	MediaID        string
	Result         json.RawMessage
	ErrorKind      string
	Error          json.RawMessage
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// RunOutcome is the step to a new RunState with what it records. MediaID and
// Result are written only with To=published, ErrorKind and Error only with
// To=failed.
type RunOutcome struct {
	To        RunState
	MediaID   string
	Result    json.RawMessage
	ErrorKind string
	Error     json.RawMessage
}

// ScheduleFilter selects schedules. Empty fields match everything.
type ScheduleFilter struct {
	AccountID string
	States    []RunState
	// IDPrefix keeps only ids that start with it. The scheduler runs
	// background jobs as schedules with ids of their own prefix, and
	// list_scheduled_posts must not show them.
	IDPrefix string
	// CreatedBy keeps only schedules that token created ("" matches all).
	CreatedBy string
	Limit     int // 0 means no limit
}

// Schedules are posts to publish later. A process claims due schedules with
// a lease; a lease that expires (the process died) is recovered so another
// process can claim the schedule, and the idempotency key makes that second
// attempt safe.
type Schedules interface {
	// CreateSchedule stores s in state scheduled. ID, AccountID, a valid
	// Kind, PublishAt and IdempotencyKey are required; State, lease and
	// outcome fields are ignored. A duplicate ID is ErrConflict.
	CreateSchedule(ctx context.Context, s Schedule) (Schedule, error)
	// GetSchedule returns the schedule or ErrNotFound.
	GetSchedule(ctx context.Context, id string) (Schedule, error)
	// ListSchedules returns matching schedules ordered by PublishAt, then ID.
	ListSchedules(ctx context.Context, f ScheduleFilter) ([]Schedule, error)
	// CancelSchedule moves a scheduled schedule to cancelled; any other
	// state is ErrConflict.
	CancelSchedule(ctx context.Context, id string) (Schedule, error)
	// ClaimDue moves up to limit schedules with PublishAt <= now from
	// scheduled to publishing, leased to owner until now+lease, and returns
	// them ordered by PublishAt. Concurrent claimers never get the same
	// schedule. Schedules of the accounts in skipAccounts are left alone: a
	// process that cannot act as an account must not hold (and starve on)
	// that account's schedules while another process could publish them.
	ClaimDue(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int, skipAccounts ...string) ([]Schedule, error)
	// RenewLease extends owner's lease to now+lease. ErrConflict if the
	// schedule is not publishing under owner (the lease was recovered).
	RenewLease(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (Schedule, error)
	// CompleteSchedule records the outcome (To published, failed, or
	// cancelled for a job its worker stopped before the send) of a
	// schedule owner holds, and drops the lease. ErrConflict if owner no
	// longer holds it.
	CompleteSchedule(ctx context.Context, id, owner string, o RunOutcome) (Schedule, error)
	// ReleaseSchedule gives a schedule owner holds back to scheduled, e.g.
	// at shutdown, without counting an attempt.
	ReleaseSchedule(ctx context.Context, id, owner string) (Schedule, error)
	// RecoverExpiredLeases moves publishing schedules whose lease expired at
	// or before now back to scheduled, counting one more attempt, and
	// returns them.
	RecoverExpiredLeases(ctx context.Context, now time.Time) ([]Schedule, error)
	// MarkMissed moves scheduled schedules with PublishAt before dueBefore
	// (now minus the grace period) to missed and returns them. A schedule
	// whose publish may already have been sent (its ledger record, same
	// account and idempotency key, is publish_sent or published) is never
	// missed: a process died after sending it, the post may be live, and
	// only resuming the publish can tell; calling it missed could be a lie.
	MarkMissed(ctx context.Context, dueBefore time.Time) ([]Schedule, error)
}

// ---------------------------------------------------------------------------
// Tokens

// TokenRecord is an account's stored login. The store only ever sees the
// ciphertext; encryption is the caller's.
type TokenRecord struct {
	AccountID  string
	Username   string
	LoginFlow  string // which login flow produced the token
	Ciphertext []byte
	ExpiresAt  time.Time // zero when unknown or never
	Scopes     []string
	UpdatedAt  time.Time // set by PutToken
}

// Tokens holds token records and a small key/value table for values that
// belong with them, such as the check value of the encryption key.
type Tokens interface {
	// PutToken creates or replaces the record of r.AccountID.
	PutToken(ctx context.Context, r TokenRecord) (TokenRecord, error)
	// GetToken returns the record or ErrNotFound.
	GetToken(ctx context.Context, accountID string) (TokenRecord, error)
	// ListTokens returns all records ordered by AccountID.
	ListTokens(ctx context.Context) ([]TokenRecord, error)
	// DeleteToken removes the record; ErrNotFound if there is none.
	DeleteToken(ctx context.Context, accountID string) error

	// GetMeta returns the value of name or ErrNotFound.
	GetMeta(ctx context.Context, name string) ([]byte, error)
	// PutMeta sets name to value.
	PutMeta(ctx context.Context, name string, value []byte) error
	// PutMetaIfAbsent sets name to value unless it already has one, and
	// returns the value now stored. Two processes initialising the same
	// value at once thus agree on one.
	PutMetaIfAbsent(ctx context.Context, name string, value []byte) (stored []byte, created bool, err error)
}

// ---------------------------------------------------------------------------
// Rate limits

// RateState is the shared view of one account's Graph API rate limits.
type RateState struct {
	AccountID        string
	AppUsagePct      int       // highest X-App-Usage counter, 0–100
	BusinessUsagePct int       // highest X-Business-Use-Case-Usage counter
	UsageAt          time.Time // when that usage was observed
	BlockedUntil     time.Time // zero when never blocked
	UpdatedAt        time.Time
}

// RateLimits is rate-limit state shared by every process using the store.
type RateLimits interface {
	// RecordUsage stores the usage observed at at, unless a later
	// observation is already stored: responses arrive out of order across
	// processes and the newest one is the truth.
	RecordUsage(ctx context.Context, accountID string, appPct, businessPct int, at time.Time) error
	// BlockUntil records that the account must not call before until. An
	// earlier time never shortens a block already recorded.
	BlockUntil(ctx context.Context, accountID string, until time.Time) error
	// GetRateState returns the account's state or ErrNotFound.
	GetRateState(ctx context.Context, accountID string) (RateState, error)

	// RecordPublish counts one publish at at in the account's rolling
	// window.
	RecordPublish(ctx context.Context, accountID string, at time.Time) error
	// CountPublishes counts the account's publishes at or after since.
	CountPublishes(ctx context.Context, accountID string, since time.Time) (int, error)
	// PrunePublishes forgets publishes before before, for every account,
	// and returns how many were removed.
	PrunePublishes(ctx context.Context, before time.Time) (int64, error)
}

// ---------------------------------------------------------------------------
// Hashtag searches

// HashtagSearch is one hashtag an account searched: it counts against the
// account's budget of unique hashtag searches from At on.
type HashtagSearch struct {
	AccountID string
	Name      string // as the caller normalised it (tools: lower-case)
	HashtagID string // "" when the search found no hashtag
	At        time.Time
}

// Hashtags records when each account searched which hashtag. Instagram's
// own list (recently_searched_hashtags) says which hashtags (by id) count
// against the budget but not since when; this says when, across restarts
// and across the processes sharing the store.
type Hashtags interface {
	// RecordHashtagSearch records that accountID searched name at at. A
	// name already recorded keeps the earlier of the two times (the first
	// search is the one that counts; repeating it is free) and takes
	// hashtagID unless it is "". Callers prune searches that left the
	// window first, or a stale time would be kept.
	RecordHashtagSearch(ctx context.Context, accountID, name, hashtagID string, at time.Time) error
	// HashtagSearches returns the account's searches at or after since,
	// oldest first, then by name.
	HashtagSearches(ctx context.Context, accountID string, since time.Time) ([]HashtagSearch, error)
	// ForgetHashtagSearches removes the account's searches recorded before
	// before whose hashtag id is not in keepIDs (Instagram no longer counts
	// them; a search that found no hashtag is never in its list), and
	// returns how many. Searches at or after before are kept: they may be
	// newer than the list keepIDs was read from.
	ForgetHashtagSearches(ctx context.Context, accountID string, keepIDs []string, before time.Time) (int64, error)
	// PruneHashtagSearches removes searches before before, of every
	// account, and returns how many were removed.
	PruneHashtagSearches(ctx context.Context, before time.Time) (int64, error)
}
