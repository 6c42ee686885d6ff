package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/store"
)

// The schedule toolset: schedule_post, list_scheduled_posts,
// cancel_scheduled_post and get_job. They need durable state, the process's
// Deps.Scheduler; with none (no store) they refuse with errNoScheduler.

// errNoScheduler answers when the server was built without durable state.
func errNoScheduler(field string) error {
	e := failure.Invalid(field, "scheduling and background jobs need igmcp's durable store, and this server has none")
	e.Action = "Run igmcp with IGMCP_DATA_DIR (or IGMCP_DATABASE_URL) configured; meanwhile publish with the publishing tools directly."
	return e
}

type schedulePostArgs struct {
	Kind      string          `json:"kind" jsonschema_description:"Post kind."`
	PublishAt string          `json:"publish_at" jsonschema:"format=date-time" jsonschema_description:"RFC 3339 with zone, ≤75 days ahead."`
	Post      json.RawMessage `json:"post" jsonschema_description:"Its kind's tool arguments, https media only; no account, wait, wait_seconds, idempotency_key."`
	AccountArg
}

// JSONSchemaExtend fills what struct tags cannot: the kinds come from the
// scheduler's one table (adding story there adds it here), and post is an
// object whatever Go type carries it.
func (schedulePostArgs) JSONSchemaExtend(s *jsonschema.Schema) {
	if k, ok := s.Properties.Get("kind"); ok {
		k.Enum = nil
		for _, name := range scheduler.Kinds() {
			k.Enum = append(k.Enum, name)
		}
	}
	if p, ok := s.Properties.Get("post"); ok {
		p.Type = "object"
	}
}

// ScheduleResult is the schedule_post and cancel_scheduled_post result.
type ScheduleResult struct {
	ScheduleID string   `json:"schedule_id" jsonschema_description:"Id of the schedule, for list_scheduled_posts and cancel_scheduled_post."`
	State      string   `json:"state" jsonschema:"enum=scheduled,enum=publishing,enum=published,enum=failed,enum=cancelled,enum=missed" jsonschema_description:"State of the schedule."`
	PublishAt  string   `json:"publish_at" jsonschema_description:"When it is (or was) to be published, RFC 3339 UTC."`
	Warnings   []string `json:"warnings,omitempty" jsonschema_description:"Media igmcp could not look at now (Instagram may still reach it)."`
}

func scheduleResult(sc store.Schedule) ScheduleResult {
	return ScheduleResult{ScheduleID: sc.ID, State: string(sc.State), PublishAt: rfc3339(sc.PublishAt)}
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// SchedulePost stores a post for the server itself to publish at
// publish_at; every input rule is checked now, not at publish time.
func SchedulePost(d *Deps) Tool {
	return newTool[schedulePostArgs, ScheduleResult](d, "schedule_post",
		"Publish a post at publish_at; checked now.",
		annotations{}, auth.PublishScopes(),
		func(ctx context.Context, c *call, a *schedulePostArgs) (any, string, error) {
			s := d.Scheduler
			if s == nil {
				return nil, "", errNoScheduler("")
			}
			at, err := time.Parse(time.RFC3339, strings.TrimSpace(a.PublishAt))
			if err != nil {
				return nil, "", invalid("publish_at", "publish_at must be an RFC 3339 time with a zone, such as 2026-07-01T09:30:00+02:00; got %q", a.PublishAt)
			}
			// Everything that can be refused is refused now, before the
			// account is resolved (which may call Instagram), not when the
			// post is due and nobody is there to fix it. The media root
			// comes first: nothing opens a file before it.
			var post map[string]any
			_ = json.Unmarshal(a.Post, &post)
			if err := d.checkRoot("post.file_path", filePathOf(post)); err != nil {
				return nil, "", err
			}
			r, err := s.Check(a.Kind, a.Post, at)
			if err != nil {
				return nil, "", err
			}
			warnings, err := preflightPost(ctx, d.Preflight, r)
			if err != nil {
				return nil, "", err
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			if err := r.ValidateFor(pubAccount(acct)); err != nil {
				return nil, "", scheduler.UnderPost(err)
			}
			sc, err := s.Schedule(ctx, requester(ctx, acct), a.Kind, a.Post, at)
			if err != nil {
				return nil, "", storeFailure(err)
			}
			res := scheduleResult(sc)
			res.Warnings = warnings
			return res, fmt.Sprintf("scheduled %s %s for %s", a.Kind, sc.ID, rfc3339(sc.PublishAt)), nil
		})
}

// preflightPost looks at the post's media now (IGMCP_PREFLIGHT), as the
// publish will: a definite violation is refused at scheduling time; media
// igmcp cannot reach itself is only a warning (Instagram may still reach it).
func preflightPost(ctx context.Context, c *preflight.Checker, r publish.Request) ([]string, error) {
	if c == nil {
		return nil, nil
	}
	var warnings []string
	for _, rep := range c.InspectAll(ctx, r.Media()) {
		for _, v := range rep.Violations {
			v.Field = "post." + v.Field
			return nil, preflight.Rejected(v)
		}
		warnings = append(warnings, rep.Warnings...)
	}
	return warnings, nil
}

type listScheduledArgs struct {
	States []string `json:"states,omitempty" jsonschema:"enum=scheduled,enum=publishing,enum=published,enum=failed,enum=cancelled,enum=missed" jsonschema_description:"Only these states."`
	Limit  *int     `json:"limit,omitempty" jsonschema:"minimum=1,maximum=1000" jsonschema_description:"Max results; default 100."`
	AccountArg
}

// ScheduledPost is one schedule in list_scheduled_posts.
type ScheduledPost struct {
	ScheduleID string         `json:"schedule_id" jsonschema_description:"Id of the schedule."`
	Kind       string         `json:"kind" jsonschema_description:"post, carousel, reel, …"`
	State      string         `json:"state" jsonschema:"enum=scheduled,enum=publishing,enum=published,enum=failed,enum=cancelled,enum=missed" jsonschema_description:"scheduled → publishing → published | failed; or cancelled, or missed (no server ran within the grace window)."`
	PublishAt  string         `json:"publish_at" jsonschema_description:"When it is (or was) to be published, RFC 3339 UTC."`
	MediaID    string         `json:"media_id,omitempty" jsonschema_description:"Id of the published media."`
	Permalink  string         `json:"permalink,omitempty" jsonschema_description:"Public URL of the published media."`
	Error      *failure.Error `json:"error,omitempty" jsonschema_description:"Why it failed: the same error object a failed tool call returns."`
}

// ScheduleList is the list_scheduled_posts result.
type ScheduleList struct {
	Schedules []ScheduledPost `json:"schedules" jsonschema_description:"The schedules, earliest publish_at first."`
}

func scheduledPost(sc store.Schedule) ScheduledPost {
	p := ScheduledPost{ScheduleID: sc.ID, Kind: string(sc.Kind), State: string(sc.State), PublishAt: rfc3339(sc.PublishAt), MediaID: sc.MediaID}
	if res := storedResult(sc); res != nil {
		p.Permalink = res.Permalink
	}
	p.Error = storedError(sc)
	return p
}

// storedResult decodes the publish result the scheduler recorded.
func storedResult(sc store.Schedule) *publish.Result {
	if sc.State != store.RunPublished || len(sc.Result) == 0 {
		return nil
	}
	var r publish.Result
	if err := json.Unmarshal(sc.Result, &r); err != nil {
		return &publish.Result{Status: publish.StatusPublished, MediaID: sc.MediaID}
	}
	return &r
}

// storedError decodes the docs/reference.md §4 error object the scheduler recorded.
func storedError(sc store.Schedule) *failure.Error {
	if sc.State != store.RunFailed {
		return nil
	}
	var e failure.Error
	if err := json.Unmarshal(sc.Error, &e); err != nil || e.Kind == "" {
		// Written by the scheduler, so only damage gets here; the kind
		// column still says what happened.
		e = *failure.New(failure.Kind(sc.ErrorKind), "The publish failed; the details were not recorded.")
	}
	return &e
}

// ListScheduledPosts lists the account's schedules with their outcome.
func ListScheduledPosts(d *Deps) Tool {
	return newTool[listScheduledArgs, ScheduleList](d, "list_scheduled_posts", "Scheduled posts and their state.",
		annotations{readOnly: true, idempotent: true, closedWorld: true}, auth.NoScopes(),
		func(ctx context.Context, c *call, a *listScheduledArgs) (any, string, error) {
			s := d.Scheduler
			if s == nil {
				return nil, "", errNoScheduler("")
			}
			limit := 100
			if a.Limit != nil {
				if *a.Limit < 1 || *a.Limit > 1000 {
					return nil, "", invalid("limit", "limit must be between 1 and 1000, got %d", *a.Limit)
				}
				limit = *a.Limit
			}
			var states []store.RunState
			for i, st := range a.States {
				rs := store.RunState(st)
				if !rs.Final() && rs != store.RunScheduled && rs != store.RunPublishing {
					return nil, "", invalid(fmt.Sprintf("states[%d]", i), "unknown state %q (scheduled, publishing, published, failed, cancelled, missed)", st)
				}
				states = append(states, rs)
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			list, err := s.List(ctx, requester(ctx, acct), states, limit)
			if err != nil {
				return nil, "", storeFailure(err)
			}
			out := ScheduleList{Schedules: make([]ScheduledPost, 0, len(list))}
			counts := map[string]int{}
			for _, sc := range list {
				out.Schedules = append(out.Schedules, scheduledPost(sc))
				counts[string(sc.State)]++
			}
			return out, listText(len(list), counts), nil
		})
}

func listText(n int, counts map[string]int) string {
	if n == 0 {
		return "no scheduled posts"
	}
	var parts []string
	for _, st := range []string{"scheduled", "publishing", "published", "failed", "cancelled", "missed"} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	return fmt.Sprintf("%s: %s", count(n, "scheduled post", "scheduled posts"), strings.Join(parts, ", "))
}

type cancelScheduleArgs struct {
	ScheduleID string `json:"schedule_id" jsonschema_description:"From schedule_post."`
	AccountArg
}

// CancelScheduledPost cancels a schedule that has not started publishing.
func CancelScheduledPost(d *Deps) Tool {
	return newTool[cancelScheduleArgs, ScheduleResult](d, "cancel_scheduled_post", "Cancel a scheduled post; safe to repeat.",
		annotations{destructive: true, idempotent: true, closedWorld: true}, auth.NoScopes(),
		func(ctx context.Context, c *call, a *cancelScheduleArgs) (any, string, error) {
			s := d.Scheduler
			if s == nil {
				return nil, "", errNoScheduler("")
			}
			if strings.TrimSpace(a.ScheduleID) == "" {
				return nil, "", invalid("schedule_id", "schedule_id is required")
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			sc, err := s.Cancel(ctx, requester(ctx, acct), a.ScheduleID)
			if err != nil {
				return nil, "", storeFailure(err)
			}
			return scheduleResult(sc), fmt.Sprintf("cancelled %s (was due %s)", sc.ID, rfc3339(sc.PublishAt)), nil
		})
}

type getJobArgs struct {
	JobID string `json:"job_id" jsonschema_description:"From a publishing tool."`
	AccountArg
}

// JobStatus is the get_job result.
type JobStatus struct {
	JobID  string          `json:"job_id" jsonschema_description:"Id of the job."`
	Kind   string          `json:"kind" jsonschema_description:"post, carousel, reel, …"`
	State  string          `json:"state" jsonschema:"enum=scheduled,enum=publishing,enum=published,enum=failed,enum=cancelled,enum=missed" jsonschema_description:"scheduled (queued) → publishing → published | failed; cancelled (its task was, before the send); missed if no server ran it within the grace window."`
	Result *publish.Result `json:"result,omitempty" jsonschema_description:"When published: the result the publishing tool would have returned."`
	Error  *failure.Error  `json:"error,omitempty" jsonschema_description:"When failed: the error object the publishing tool would have returned."`
}

// GetJob reports a background publish started with wait: false.
func GetJob(d *Deps) Tool {
	return newTool[getJobArgs, JobStatus](d, "get_job", "A background publish's state and result.",
		annotations{readOnly: true, idempotent: true, closedWorld: true}, auth.NoScopes(),
		func(ctx context.Context, c *call, a *getJobArgs) (any, string, error) {
			s := d.Scheduler
			if s == nil {
				return nil, "", errNoScheduler("")
			}
			if strings.TrimSpace(a.JobID) == "" {
				return nil, "", invalid("job_id", "job_id is required")
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			j, err := s.Job(ctx, requester(ctx, acct), a.JobID)
			if err != nil {
				return nil, "", storeFailure(err)
			}
			st := JobStatus{JobID: j.ID, Kind: string(j.Kind), State: string(j.State), Result: storedResult(j), Error: storedError(j)}
			text := fmt.Sprintf("job %s: %s", j.ID, j.State)
			switch {
			case st.Result != nil:
				text += "; " + resultText(st.Result)
			case st.Error != nil:
				text += fmt.Sprintf("; %s: %s", st.Error.Kind, st.Error.Message)
			}
			return st, text, nil
		})
}

// requester is who a schedule tool call comes from: the account, and the
// caller's scoped token, which owns what it creates (docs/reference.md §3).
func requester(ctx context.Context, acct *auth.Account) scheduler.Requester {
	return scheduler.Requester{AccountID: acct.ID, Token: scope.From(ctx).Owner()}
}

// storeFailure keeps structured errors and turns a database failure into a
// retryable one the agent can act on.
func storeFailure(err error) error {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return err
	}
	e := failure.New(failure.Transient, "igmcp's durable store failed: "+err.Error())
	e.RetryAfter = 10
	e.Action = "Retry the same call shortly; if it persists, check IGMCP_DATA_DIR / IGMCP_DATABASE_URL."
	return e
}

// ---------------------------------------------------------------------------
// wait: false on the publishing tools

// JobArg is the `wait` argument of the publishing tools.
type JobArg struct {
	Wait *bool `json:"wait,omitempty" jsonschema_description:"false: background job (get_job)."`
}

// Background reports whether the caller asked for a job.
func (j JobArg) Background() bool { return j.Wait != nil && !*j.Wait }

// PublishOutput is the result of the publishing tools: the publish result,
// or, with wait: false, status processing and the job to poll.
type PublishOutput struct {
	publish.Result
	JobID string `json:"job_id,omitempty" jsonschema_description:"With wait: false: the background job publishing this post; poll get_job with it."`
}

// startJob is the wait: false branch of a publishing tool, after its input
// is checked and its account resolved: the publish is stored as a job and
// the call returns at once.
func startJob(ctx context.Context, s *scheduler.Scheduler, acct *auth.Account, r publish.Request, o publish.Options) (any, string, error) {
	if s == nil {
		return nil, "", errNoScheduler("wait")
	}
	id, err := s.StartJob(ctx, requester(ctx, acct), r, o)
	if err != nil {
		return nil, "", storeFailure(err)
	}
	out := PublishOutput{JobID: id, Result: publish.Result{
		Status:     publish.StatusProcessing,
		NextAction: fmt.Sprintf("Publishing in the background: poll get_job with job_id %s until it is published or failed; do not publish again.", id),
	}}
	return out, fmt.Sprintf("processing in the background: job %s; poll get_job", id), nil
}
