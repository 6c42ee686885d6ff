package taskfront

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

// Task statuses (both forms).
const (
	statusWorking   = "working"
	statusCompleted = "completed"
	statusFailed    = "failed"
	statusCancelled = "cancelled"
)

// view is a task as one client sees it: its status, what the status
// message says, and, when it is over, the result of the call.
type view struct {
	Status  string
	Message string
	// Result is what the call returns: the publish result, or the
	// docs/reference.md §4 error result.
	Result  *mcp.CallToolResult
	Updated time.Time
}

func (v view) terminal() bool { return v.Status != statusWorking }

// derive works out the task's view from the store: the job's row and the
// ledger record of its publish are the truth, whichever replica runs it.
// modern picks the 2026-07-28 rules (a tool error is completed with
// isError; a cancellation is cooperative) over 2025-11-25's (a tool error
// is failed; a cancelled task stays cancelled, whatever happens next).
// The status message never claims more than the ledger knows: a post is
// said to be unpublished only when it can no longer be sent.
func (f *Front) derive(ctx context.Context, t store.Task, modern bool) (view, error) {
	if t.Status != "" {
		v := view{Status: t.Status, Updated: t.UpdatedAt, Result: decodeResult(t.Result)}
		if v.Status == statusFailed && modern {
			v.Status = statusCompleted
		}
		v.Message = "Answered at once."
		if v.Result != nil && v.Result.IsError {
			v.Message = "The call failed: " + firstText(v.Result)
		}
		return v, nil
	}
	sc, err := f.cfg.Store.GetSchedule(ctx, t.ID)
	if err != nil {
		return view{}, err
	}
	led, err := f.cfg.Store.GetPublish(ctx, sc.AccountID, sc.IdempotencyKey)
	if errors.Is(err, store.ErrNotFound) {
		led, err = store.Publish{}, nil // not started
	}
	if err != nil {
		return view{}, err
	}
	updated := latest(t.UpdatedAt, sc.UpdatedAt, led.UpdatedAt)
	// A cancel counts unless the job was over before it arrived: a task
	// that reached an end stays there.
	cancelled := !t.CancelRequestedAt.IsZero() && !(sc.State.Final() && !sc.UpdatedAt.After(t.CancelRequestedAt))

	var v view
	switch {
	case sc.State == store.RunPublished || led.State == store.PublishPublished:
		res, _ := tools.JobResult(f.cfg.Deps, sc)
		v = view{Status: statusCompleted, Result: res, Message: publishedMessage(sc.MediaID, storedPermalink(sc.Result))}
		if sc.State != store.RunPublished { // live; the job records it in a moment
			v.Result, v.Message = tools.PublishedResult(f.cfg.Deps, led.Result, led.MediaID), publishedMessage(led.MediaID, led.Permalink)
		}
		if cancelled && !modern {
			// 2025-11-25: a cancelled task stays cancelled, even if the
			// work finished; the message and the result say what it did.
			v.Status, v.Message = statusCancelled, "Cancel arrived after the publish was sent to Instagram: "+v.Message
		}
	case (cancelled || sc.State == store.RunCancelled) && led.State != store.PublishSent:
		// Not sent, and BeforeSend stops any send from now on.
		v = view{Status: statusCancelled, Result: cancelledResult(t.ID, ""), Message: stoppedMessage(led.ContainerID)}
	case cancelled || sc.State == store.RunCancelled: // the send was claimed before the cancel arrived
		v = view{Status: statusWorking, Message: fmt.Sprintf(
			"Cancel arrived after the publish was sent to Instagram: the post may already be live (container %s); this task says so once it is known.", led.ContainerID)}
		if sc.State == store.RunCancelled {
			// Stopped before sending again a send whose outcome was open:
			// over, that outcome unknown.
			v.Message = fmt.Sprintf("Cancelled; a publish of container %s had been sent before and its outcome is not known: the post may be live (get_container_status tells).", led.ContainerID)
		}
		if !modern || sc.State == store.RunCancelled {
			v.Status, v.Result = statusCancelled, cancelledResult(t.ID, led.ContainerID) // 2025-11-25 stays cancelled
		}
	case sc.State == store.RunFailed || sc.State == store.RunMissed:
		res, _ := tools.JobResult(f.cfg.Deps, sc)
		v = view{Status: statusFailed, Result: res, Message: "Failed: " + firstText(res)}
		if modern {
			v.Status = statusCompleted // a tool error is a result (Tasks extension)
		}
	default:
		v = view{Status: statusWorking, Message: progressMessage(f.cfg.Now(), sc, led)}
	}
	v.Updated = updated
	return v, nil
}

func publishedMessage(mediaID, permalink string) string {
	if permalink != "" {
		return fmt.Sprintf("Published: the post is live, media %s (%s).", mediaID, permalink)
	}
	return fmt.Sprintf("Published: the post is live, media %s.", mediaID)
}

func stoppedMessage(containerID string) string {
	if containerID == "" {
		return "Cancelled before anything was sent to Instagram; nothing was published."
	}
	return fmt.Sprintf("Cancelled before the publish was sent: container %s was created and will not be published (it expires unused within 24 hours); nothing was posted.", containerID)
}

// progressMessage says where a running job is, from its row and ledger.
func progressMessage(now time.Time, sc store.Schedule, led store.Publish) string {
	switch {
	case sc.State == store.RunScheduled:
		return "Queued: the publish starts as soon as an igmcp server picks it up."
	case led.State == store.PublishContainerCreated:
		return fmt.Sprintf("Instagram is processing container %s (for %s).", led.ContainerID, now.Sub(led.UpdatedAt).Round(time.Second))
	case led.State == store.PublishSent:
		return fmt.Sprintf("Publishing container %s.", led.ContainerID)
	case led.State == store.PublishFailed:
		return fmt.Sprintf("A try failed (%s); retrying.", led.ErrorKind)
	}
	return "Creating the media container on Instagram."
}

// cancelledResult is what a cancelled call returns (tasks/result of
// 2025-11-25): nothing published, or, when the send had been claimed
// before the cancel, an outcome not yet known.
func cancelledResult(taskID, sentContainer string) *mcp.CallToolResult {
	if sentContainer != "" {
		e := failure.New(failure.OutcomeUnknown, fmt.Sprintf("The task was cancelled after the publish of container %s was sent to Instagram; the post may be live.", sentContainer))
		e.Action = fmt.Sprintf("Call get_job with job_id %s to learn whether it was published; do not publish it again.", taskID)
		return tools.ErrorResult(e)
	}
	e := failure.New(failure.Transient, "The task was cancelled before the publish was sent to Instagram; nothing was published.")
	e.Action = "Call the publishing tool again if the post is still wanted."
	return tools.ErrorResult(e)
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

func storedPermalink(result json.RawMessage) string {
	var r struct {
		Permalink string `json:"permalink"`
	}
	_ = json.Unmarshal(result, &r)
	return r.Permalink
}

func decodeResult(raw json.RawMessage) *mcp.CallToolResult {
	if len(raw) == 0 {
		return nil
	}
	var res mcp.CallToolResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil
	}
	return &res
}

func firstText(res *mcp.CallToolResult) string {
	if res == nil {
		return ""
	}
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			return t.Text
		}
	}
	return ""
}
