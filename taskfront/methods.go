package taskfront

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/store"
)

// serveMethod answers tasks/get, tasks/result, tasks/list, tasks/cancel and
// tasks/update, in the caller's protocol form.
func (f *Front) serveMethod(w http.ResponseWriter, r *http.Request, m request, owner string) {
	ctx := r.Context()
	taskID := m.str("taskId")
	if m.modern {
		if e := checkModernHeaders(r.Header, m, taskID); e != nil {
			writeError(w, m, *e)
			return
		}
		if !m.declaresTasks() {
			writeError(w, m, missingCapability())
			return
		}
	}
	switch {
	case m.Method == "tasks/list" && !m.modern:
		f.list(w, r, m, owner)
		return
	case m.Method == "tasks/get", m.Method == "tasks/cancel",
		m.Method == "tasks/result" && !m.modern, m.Method == "tasks/update" && m.modern:
	default:
		// tasks/result and tasks/list are gone in the Tasks extension;
		// tasks/update is new in it.
		writeError(w, m, rpcError{Code: mcp.METHOD_NOT_FOUND, Message: fmt.Sprintf("method %q is not part of protocol %s", m.Method, m.version)})
		return
	}
	t, err := f.lookup(ctx, taskID, owner)
	if err != nil {
		writeError(w, m, f.taskError(err))
		return
	}
	switch m.Method {
	case "tasks/get":
		v, err := f.derive(ctx, t, m.modern)
		if err != nil {
			writeError(w, m, f.taskError(err))
			return
		}
		writeResult(w, m.ID, f.taskObject(t, v, m.modern, true))
	case "tasks/result":
		f.result(w, r, m, t)
	case "tasks/cancel":
		f.cancel(w, r, m, t)
	case "tasks/update":
		// Our tasks never ask for input (the confirmation dialog is
		// settled before the task exists): nothing is outstanding, so
		// every response is ignored, as the extension wants.
		writeResult(w, m.ID, f.modernEmpty())
	}
}

// errTaskNotFound: unknown, expired, or another token's (the same answer
// for all three).
var errTaskNotFound = errors.New("task not found")

func (f *Front) lookup(ctx context.Context, id, owner string) (store.Task, error) {
	if id == "" || len(id) > 200 {
		return store.Task{}, errTaskNotFound
	}
	t, err := f.cfg.Store.GetTask(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (t.Owner != owner || !t.ExpiresAt.After(f.cfg.Now())) {
		return store.Task{}, errTaskNotFound
	}
	return t, err
}

func (f *Front) taskError(err error) rpcError {
	if errors.Is(err, errTaskNotFound) {
		return rpcError{Code: mcp.INVALID_PARAMS, Message: "Failed to retrieve task: Task not found"}
	}
	f.log.Error("task", "err", err)
	return rpcError{Code: mcp.INTERNAL_ERROR, Message: "igmcp's durable store failed; retry shortly"}
}

// taskObject renders a task: 2025-11-25's Task, or the Tasks extension's
// DetailedTask (with its result; detailed is false for a CreateTaskResult,
// which carries none).
func (f *Front) taskObject(t store.Task, v view, modern, detailed bool) map[string]any {
	o := map[string]any{
		"taskId":        t.ID,
		"status":        v.Status,
		"statusMessage": v.Message,
		"createdAt":     stamp(t.CreatedAt),
		"lastUpdatedAt": stamp(latest(v.Updated, t.CreatedAt)),
	}
	if !modern {
		o["ttl"], o["pollInterval"] = t.TTL.Milliseconds(), t.PollInterval.Milliseconds()
		return o
	}
	o["ttlMs"], o["pollIntervalMs"] = t.TTL.Milliseconds(), t.PollInterval.Milliseconds()
	if detailed && v.Status == statusCompleted && v.Result != nil {
		o["result"] = v.Result
	}
	f.stampModern(o, "complete")
	return o
}

// stampModern adds what every 2026-07-28 result carries.
func (f *Front) stampModern(o map[string]any, resultType string) {
	o["resultType"] = resultType
	o["_meta"] = map[string]any{mcp.MetaKeyServerInfo: map[string]any{"name": f.cfg.Name, "version": f.cfg.Version}}
}

func (f *Front) modernEmpty() map[string]any {
	o := map[string]any{}
	f.stampModern(o, "complete")
	return o
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// list answers tasks/list (2025-11-25): the token's own tasks, newest
// first, paged.
func (f *Front) list(w http.ResponseWriter, r *http.Request, m request, owner string) {
	ctx := r.Context()
	ts, next, err := f.cfg.Store.ListTasks(ctx, store.TaskFilter{Owner: owner, Now: f.cfg.Now(), Limit: 50, Cursor: m.str("cursor")})
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, m, rpcError{Code: mcp.INVALID_PARAMS, Message: "Invalid cursor"})
		return
	}
	if err != nil {
		writeError(w, m, f.taskError(err))
		return
	}
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		v, err := f.derive(ctx, t, false)
		if err != nil {
			writeError(w, m, f.taskError(err))
			return
		}
		out = append(out, f.taskObject(t, v, false, false))
	}
	res := map[string]any{"tasks": out}
	if next != "" {
		res["nextCursor"] = next
	}
	writeResult(w, m.ID, res)
}

// cancel answers tasks/cancel. The cancellation is recorded first, then
// the ledger is read: a publish not yet sent by then is never sent
// (BeforeSend), so the answer never says "stopped" of a post that goes
// live, nor "live" of one that does not.
//
// 2025-11-25: a terminal task is refused (-32602); otherwise the task is
// cancelled before the answer, and stays so; its message says whether the
// post may be live anyway. 2026-07-28: always an empty acknowledgement;
// the task ends cancelled, or completed if the publish had been sent.
func (f *Front) cancel(w http.ResponseWriter, r *http.Request, m request, t store.Task) {
	ctx := r.Context()
	v, err := f.derive(ctx, t, m.modern)
	if err != nil {
		writeError(w, m, f.taskError(err))
		return
	}
	if v.terminal() {
		if m.modern {
			writeResult(w, m.ID, f.modernEmpty())
			return
		}
		writeError(w, m, rpcError{Code: mcp.INVALID_PARAMS, Message: fmt.Sprintf("Task %s is already %s and cannot be cancelled", t.ID, v.Status)})
		return
	}
	t, err = f.cfg.Store.RequestTaskCancel(ctx, t.ID, f.cfg.Now())
	if err == nil && t.Status == "" {
		// Queued and not claimed yet: it ends here. Claimed meanwhile
		// (a conflict): the flag stops it before its send.
		if _, cerr := f.cfg.Store.CancelSchedule(ctx, t.ID); cerr != nil && !errors.Is(cerr, store.ErrConflict) {
			err = cerr
		}
	}
	if err != nil {
		writeError(w, m, f.taskError(err))
		return
	}
	f.signal(ctx, t.ID)
	f.log.Info("task cancel requested", "task", t.ID)
	if m.modern {
		writeResult(w, m.ID, f.modernEmpty())
		return
	}
	v, err = f.derive(ctx, t, false)
	if err != nil {
		writeError(w, m, f.taskError(err))
		return
	}
	if v.Status != statusCancelled { // it ended just before the cancel
		writeError(w, m, rpcError{Code: mcp.INVALID_PARAMS, Message: fmt.Sprintf("Task %s is already %s and cannot be cancelled", t.ID, v.Status)})
		return
	}
	writeResult(w, m.ID, f.taskObject(t, v, false, false))
}

// result answers tasks/result (2025-11-25): the call's result once the
// task is over. Until then it holds the request open as an SSE stream
// carrying the task's progress (notifications/progress on the call's
// progress token, notifications/tasks/status) as its job moves, on any
// replica; then the result.
func (f *Front) result(w http.ResponseWriter, r *http.Request, m request, t store.Task) {
	ctx := r.Context()
	var wake <-chan store.EventNotice
	if f.cfg.Signals != nil {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		wake = f.cfg.Signals.SubscribeKinds(sctx, store.NoticeJob)
	}
	var stream *sseWriter
	last, progress := "", 0
	for {
		v, err := f.derive(ctx, t, false)
		if err != nil {
			if stream == nil {
				writeError(w, m, f.taskError(err))
			} else {
				stream.send(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": m.ID, "error": f.taskError(err)})
			}
			return
		}
		final := map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": m.ID, "result": withRelatedTask(v.Result, t.ID)}
		if v.terminal() && stream == nil {
			writeJSON(w, http.StatusOK, final)
			return
		}
		if stream == nil {
			stream = newSSEWriter(w)
		}
		if v.Message != last {
			last = v.Message
			progress++
			if len(t.ProgressToken) > 0 {
				stream.send(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "method": string(mcp.MethodNotificationProgress),
					"params": map[string]any{"progressToken": t.ProgressToken, "progress": progress, "message": v.Message}})
			}
			stream.send(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "method": "notifications/tasks/status", "params": f.taskObject(t, v, false, false)})
		}
		if v.terminal() {
			stream.send(final)
			return
		}
		if !f.wait(ctx, wake, t.ID, t.PollInterval, stream) {
			return
		}
	}
}

// wait returns when the task's job may have moved (a signal for it, or
// the poll interval passed) or false when the request is over. A long
// wait pings the stream, so proxies keep it open.
func (f *Front) wait(ctx context.Context, wake <-chan store.EventNotice, id string, poll time.Duration, stream *sseWriter) bool {
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			if stream != nil {
				stream.ping()
			}
			return true
		case n, ok := <-wake:
			if !ok {
				wake = nil // the hub stopped: the timer alone
				continue
			}
			if n.Kind == store.NoticeResync || n.Key == id {
				return true
			}
		}
	}
}

// withRelatedTask is a call's result as tasks/result returns it: tagged
// with its task (io.modelcontextprotocol/related-task).
func withRelatedTask(res *mcp.CallToolResult, taskID string) map[string]any {
	out := map[string]any{}
	if res != nil {
		b, _ := json.Marshal(res) // a CallToolResult always marshals
		_ = json.Unmarshal(b, &out)
	}
	meta, _ := out["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta[mcp.RelatedTaskMetaKey] = map[string]any{"taskId": taskID}
	out["_meta"] = meta
	return out
}
