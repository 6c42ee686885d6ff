// Package taskfront answers MCP tasks (docs/reference.md §6) from the
// store, so that any replica behind a plain load balancer answers for any
// task, and a task outlives the process that created it.
//
// mcp-go keeps tasks in one process's memory and offers no seam to keep
// them elsewhere, so the front sits in front of it on the Streamable HTTP
// endpoint: it answers tasks/get, tasks/result, tasks/list, tasks/cancel
// and tasks/update itself, and turns a task-augmented tools/call of a
// publishing tool into the same call with wait: false, handed to mcp-go
// (so validation, scoping and the confirmation dialog run as for any
// call), whose job becomes the task. Everything else passes untouched.
//
// Both task forms are served: 2025-11-25 (params.task on the call, the
// tasks capability, tasks/result and tasks/list) and the 2026-07-28 Tasks
// extension (io.modelcontextprotocol/tasks: the server decides, resultType
// "task", ttlMs, no tasks/result or tasks/list).
package taskfront

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

// Store is what the front reads and writes: the tasks, the jobs behind
// them and their ledger records, and the signals of the bus.
// store.Store is one.
type Store interface {
	store.Tasks
	GetSchedule(ctx context.Context, id string) (store.Schedule, error)
	CancelSchedule(ctx context.Context, id string) (store.Schedule, error)
	GetPublish(ctx context.Context, accountID, key string) (store.Publish, error)
	store.Signaler
}

// Signals tells of jobs that moved on any replica (NoticeJob): the
// process's webhooks.Hub.
type Signals interface {
	SubscribeKinds(ctx context.Context, kinds ...string) <-chan store.EventNotice
}

// Policy says which calls of a 2026-07-28 client (which does not ask for a
// task: the server decides) become tasks.
type Policy string

const (
	// PolicyVideo (IGMCP_TASKS=video, the default): publishes that wait
	// for video processing (a Reel, a video Story, a carousel with a
	// video), which can take minutes.
	PolicyVideo Policy = "video"
	// PolicyAlways: every publish that can run in the background.
	PolicyAlways Policy = "always"
)

// Config configures a Front.
type Config struct {
	Store Store
	// Signals wakes tasks/result when a job moves; nil: it polls.
	Signals Signals
	// Deps renders a finished job's result as its tool would have.
	Deps *tools.Deps
	// Server, when set, is the MCP server behind the front: a 2025-11-25
	// task's progress goes to its session through it (follow).
	Server *server.MCPServer
	// Name and Version identify the server in 2026-07-28 results.
	Name, Version string
	Policy        Policy
	Logger        *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Front answers MCP tasks from the store. Its methods are safe for
// concurrent use.
type Front struct {
	cfg  Config
	log  *slog.Logger
	ctx  context.Context // ends with Stop: following tasks ends
	stop context.CancelFunc
}

// Task lifetimes (docs/reference.md §6): a client may ask for a ttl; it is
// kept within these bounds.
const (
	defaultTTL = 24 * time.Hour
	minTTL     = time.Hour
	maxTTL     = 7 * 24 * time.Hour
	// Poll intervals suggested to clients: images are ready in seconds,
	// videos in minutes.
	imagePoll = 2 * time.Second
	videoPoll = 5 * time.Second
)

// New builds a Front.
func New(cfg Config) (*Front, error) {
	if cfg.Store == nil || cfg.Deps == nil {
		return nil, errors.New("taskfront: Store and Deps are required")
	}
	switch cfg.Policy {
	case "":
		cfg.Policy = PolicyVideo
	case PolicyVideo, PolicyAlways:
	default:
		return nil, fmt.Errorf("taskfront: unknown policy %q", cfg.Policy)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Name == "" {
		cfg.Name = "igmcp"
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Front{cfg: cfg, log: cfg.Logger.With("component", "tasks"), ctx: ctx, stop: stop}, nil
}

// Stop ends the following of tasks (their progress to sessions).
func (f *Front) Stop() { f.stop() }

// ServeMCP answers the task traffic among Streamable HTTP POSTs: body is
// the request's body, already read; owner is the name of the bearer token
// that sent it (whose tasks it may see). It reports whether it answered;
// otherwise the caller passes the request to mcp-go (next) as usual. A
// task-augmented tools/call is passed to next too, as the same call with
// wait: false, and its answer turned into the task.
func (f *Front) ServeMCP(w http.ResponseWriter, r *http.Request, body []byte, owner string, next http.Handler) bool {
	m, ok := parseRequest(r.Header, body)
	if !ok {
		return false
	}
	// A 2025 request outside a session is mcp-go's to refuse.
	if !m.modern && r.Header.Get(server.HeaderKeySessionID) == "" {
		return false
	}
	switch {
	case strings.HasPrefix(m.Method, "tasks/"):
		f.serveMethod(w, r, m, owner)
		return true
	case m.Method == string(mcp.MethodToolsCall):
		return f.serveCall(w, r, m, owner, next)
	case m.Method == "subscriptions/listen" && m.modern && asksTaskNotifications(m) && !m.declaresTasks():
		// The Tasks extension: asking for task notifications without
		// declaring it is -32021. (Declared, mcp-go acknowledges no task
		// ids: igmcp's tasks are polled.)
		writeError(w, m, missingCapability())
		return true
	}
	return false
}

// asksTaskNotifications: a subscriptions/listen naming task ids.
func asksTaskNotifications(m request) bool {
	var p struct {
		TaskIDs []string `json:"taskIds"`
	}
	return json.Unmarshal(m.Params["notifications"], &p) == nil && len(p.TaskIDs) > 0
}

// BeforeSend is the scheduler's Config.BeforeSend: a job whose task was
// cancelled stops right before its send (nothing is sent). Jobs without
// a task, and schedules, are not asked about.
func (f *Front) BeforeSend(ctx context.Context, id string) error {
	if !scheduler.IsJob(id) {
		return nil
	}
	t, err := f.cfg.Store.GetTask(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil // a plain wait: false job
	case err != nil:
		// Sending without knowing could publish what the user
		// cancelled; the job tries again later instead.
		e := failure.New(failure.Transient, "Could not check whether this publish's task was cancelled; it was not sent.")
		e.RetryAfter = 10
		return e
	case t.CancelRequestedAt.IsZero():
		return nil
	}
	e := failure.New(failure.Transient, "The task was cancelled before the publish was sent to Instagram; nothing was published.")
	e.Action = "Call the publishing tool again if the post is still wanted."
	return fmt.Errorf("task %s: %w: %w", id, scheduler.ErrCancelled, e)
}

// Prune removes tasks expired before now.
func (f *Front) Prune(ctx context.Context) (int64, error) {
	return f.cfg.Store.PruneTasks(ctx, f.cfg.Now())
}

// signal tells every replica that a task's job moved; a lost signal only
// delays a waiter until its next poll.
func (f *Front) signal(ctx context.Context, id string) {
	if err := f.cfg.Store.Signal(ctx, store.NoticeJob, id); err != nil {
		f.log.Debug("signal", "task", id, "err", err)
	}
}
