package tools

import (
	"encoding/json"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/store"
)

// MCP tasks (docs/reference.md §6): a call of a publishing tool may be
// answered with a task instead of its result. The task is the same durable
// job as wait: false, so any replica answers for it from the store
// (taskfront does); this file is what the tools contribute: which tools,
// and the result a finished job stands for.

// TasksExtension is the identifier of the 2026-07-28 Tasks extension.
const TasksExtension = "io.modelcontextprotocol/tasks"

// TaskTools are the tools whose calls may become tasks: the publishing
// tools, whose wait: false runs as a job.
var TaskTools = []string{"create_post", "create_carousel", "publish_reel", "publish_story"}

// withTaskSupport marks the task tools execution.taskSupport "optional"
// (2025-11-25): a client may call them as tasks or as usual.
func withTaskSupport(tools []Tool) []Tool {
	out := make([]Tool, len(tools))
	for i, t := range tools {
		out[i] = t
		if slices.Contains(TaskTools, t.Tool.Name) {
			out[i].Tool.Execution = &mcp.ToolExecution{TaskSupport: mcp.TaskSupportOptional}
		}
	}
	return out
}

// JobResult is the result the publishing tool would have returned had it
// waited for the job sc: the publish result when it was published, the
// docs/reference.md §4 error when it failed or was missed. ok is false for
// a job still running, or cancelled (its task says what happened).
func JobResult(d *Deps, sc store.Schedule) (res *mcp.CallToolResult, ok bool) {
	switch sc.State {
	case store.RunPublished:
		r := storedResult(sc)
		res, err := successResult(PublishOutput{Result: *r}, resultText(r), d.Sandbox)
		if err != nil { // a publish.Result always marshals
			return errorResult(err), true
		}
		return res, true
	case store.RunFailed:
		return errorResult(storedError(sc)), true
	case store.RunMissed:
		e := failure.New(failure.Transient, "No igmcp server ran this background publish within the schedule grace window (IGMCP_SCHEDULE_GRACE); nothing was published.")
		e.Action = "Call the publishing tool again."
		return errorResult(e), true
	}
	return nil, false
}

// PublishedResult is JobResult for a publish the ledger recorded (its
// result JSON) before the job's own row says so.
func PublishedResult(d *Deps, result json.RawMessage, mediaID string) *mcp.CallToolResult {
	res, _ := JobResult(d, store.Schedule{State: store.RunPublished, Result: result, MediaID: mediaID})
	return res
}
