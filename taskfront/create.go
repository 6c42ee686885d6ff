package taskfront

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

// call is what a task-augmented tools/call carries into its task.
type call struct {
	owner, tool, protocol, session string
	modern                         bool
	// background: the call runs as a wait: false job (not a draft, not a
	// local file), whose id is the task's.
	background    bool
	ttl, poll     time.Duration
	progressToken json.RawMessage
}

// serveCall turns a task-augmented call of a publishing tool into a task.
// 2025-11-25: the client asked (params.task); a tool that cannot run as a
// task is -32601, and a call that cannot run in the background (a draft, a
// local file) is answered at once, as a task that is already over.
// 2026-07-28: the server decides (Policy), among the calls of clients that
// declared the Tasks extension; the others go to mcp-go unchanged.
func (f *Front) serveCall(w http.ResponseWriter, r *http.Request, m request, owner string, next http.Handler) bool {
	name := m.str("name")
	taskParam, asked := m.Params["task"]
	if !m.modern && !asked {
		return false
	}
	if m.modern && (!m.declaresTasks() || !slices.Contains(tools.TaskTools, name)) {
		return false
	}
	if !m.modern && !slices.Contains(tools.TaskTools, name) {
		writeError(w, m, rpcError{Code: mcp.METHOD_NOT_FOUND, Message: fmt.Sprintf("tool %q does not support task-augmented calls", name)})
		return true
	}
	var args map[string]json.RawMessage
	_ = json.Unmarshal(m.Params["arguments"], &args) // not an object: the tool says so
	c := call{owner: owner, tool: name, protocol: m.version, modern: m.modern, background: canRunInBackground(args),
		ttl: requestedTTL(taskParam), poll: imagePoll, session: r.Header.Get(server.HeaderKeySessionID)}
	if isVideo(name, args) {
		c.poll = videoPoll
	}
	if m.modern && (!c.background || !f.wantsTask(name, args)) {
		return false
	}
	if !m.modern {
		var meta struct {
			ProgressToken json.RawMessage `json:"progressToken"`
		}
		_ = json.Unmarshal(m.Params["_meta"], &meta)
		c.progressToken = validProgressToken(meta.ProgressToken)
	}

	// The same call, in the background, without the task: mcp-go runs it
	// as any call (validation, scopes, confirmation), and never keeps a
	// task of its own.
	params := make(map[string]json.RawMessage, len(m.Params))
	for k, v := range m.Params {
		if k != "task" {
			params[k] = v
		}
	}
	if c.background {
		bg := make(map[string]json.RawMessage, len(args)+1)
		for k, v := range args {
			bg[k] = v
		}
		bg["wait"] = json.RawMessage("false")
		params["arguments"], _ = json.Marshal(bg)
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": m.ID, "method": m.Method, "params": params})
	r2 := r.Clone(r.Context())
	r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r2.Header.Set("Content-Length", strconv.Itoa(len(body)))

	aw := &answerRewriter{w: w, id: m.ID, rewrite: func(resp json.RawMessage) json.RawMessage {
		return f.toTask(r.Context(), resp, c)
	}}
	next.ServeHTTP(aw, r2)
	aw.finish()
	return true
}

// toTask turns mcp-go's answer to the call into the task's creation: the
// job it started becomes the task. Errors, and the first round of a
// confirmation dialog (input_required: settled before any task exists),
// pass unchanged; so does a 2026-07-28 answer that started no job.
func (f *Front) toTask(ctx context.Context, resp json.RawMessage, c call) json.RawMessage {
	var env struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result"`
	}
	if json.Unmarshal(resp, &env) != nil || env.Result == nil {
		return resp
	}
	var res struct {
		ResultType        string `json:"resultType"`
		IsError           bool   `json:"isError"`
		StructuredContent struct {
			JobID string `json:"job_id"`
		} `json:"structuredContent"`
	}
	if json.Unmarshal(env.Result, &res) != nil || res.ResultType == string(mcp.ResultTypeInputRequired) {
		return resp
	}
	t := store.Task{Owner: c.owner, Protocol: c.protocol, Tool: c.tool, TTL: c.ttl, PollInterval: c.poll,
		ProgressToken: c.progressToken, SessionID: c.session}
	v := view{Status: statusWorking}
	switch {
	case c.background && !res.IsError && res.StructuredContent.JobID != "":
		t.ID = res.StructuredContent.JobID
		v.Message = fmt.Sprintf("Publishing in the background (job %s); the post is not live yet.", t.ID)
	case c.modern:
		return resp
	default: // 2025-11-25: answered at once, a task that is already over
		t.ID, t.Status, t.Result = "task_"+strings.ToLower(rand.Text()), store.TaskCompleted, env.Result
		if res.IsError {
			t.Status = store.TaskFailed
		}
		v = view{Status: t.Status, Result: decodeResult(env.Result)}
		v.Message = "Answered at once."
	}
	stored, err := f.createTask(ctx, t)
	if err != nil {
		f.log.Error("task not stored", "task", t.ID, "err", err)
		e := rpcError{Code: mcp.INTERNAL_ERROR, Message: "igmcp's durable store failed; nothing was started"}
		if t.Status == "" {
			e.Message = fmt.Sprintf("The publish runs in the background as job %s, but its task could not be stored: poll get_job with job_id %s instead; do not publish again.", t.ID, t.ID)
		}
		b, _ := json.Marshal(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": env.ID, "error": e})
		return b
	}
	f.log.Info("task created", "task", stored.ID, "tool", c.tool, "protocol", c.protocol)
	if !c.modern && stored.Status == "" {
		f.follow(stored)
	}
	v.Updated = stored.CreatedAt
	var result map[string]any
	if c.modern {
		result = f.taskObject(stored, v, true, false)
		f.stampModern(result, "task")
	} else {
		result = map[string]any{"task": f.taskObject(stored, v, false, false), "_meta": map[string]any{
			mcp.ModelImmediateResponseMetaKey: immediateText(stored, v)}}
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": env.ID, "result": result})
	return b
}

// createTask stores the task, trying a few times: the job behind it runs
// already, and its task is how the client follows it.
func (f *Front) createTask(ctx context.Context, t store.Task) (store.Task, error) {
	var err error
	for try := range 3 {
		if try > 0 {
			time.Sleep(time.Duration(try) * 200 * time.Millisecond)
		}
		var out store.Task
		if out, err = f.cfg.Store.CreateTask(context.WithoutCancel(ctx), t); err == nil {
			return out, nil
		}
	}
	return store.Task{}, err
}

func immediateText(t store.Task, v view) string {
	if t.Status == "" {
		return v.Message + " Poll the task for its result; do not publish again."
	}
	return v.Message
}

// requestedTTL is the client's ttl (2025-11-25 params.task.ttl, in
// milliseconds), within the server's bounds; none asks for the default.
func requestedTTL(task json.RawMessage) time.Duration {
	var p struct {
		TTL *int64 `json:"ttl"`
	}
	if json.Unmarshal(task, &p) != nil || p.TTL == nil || *p.TTL <= 0 {
		return defaultTTL
	}
	return min(max(time.Duration(*p.TTL)*time.Millisecond, minTTL), maxTTL)
}

// canRunInBackground: the call can be a wait: false job. A draft is made
// in the call itself, and a local file may be on this replica's disk only.
func canRunInBackground(args map[string]json.RawMessage) bool {
	var publish *bool
	_ = json.Unmarshal(args["publish"], &publish)
	return (publish == nil || *publish) && stringArg(args, "file_path") == ""
}

// wantsTask applies the Policy to a 2026-07-28 call.
func (f *Front) wantsTask(tool string, args map[string]json.RawMessage) bool {
	return f.cfg.Policy == PolicyAlways || isVideo(tool, args)
}

// isVideo: the publish waits for video processing (minutes, not seconds).
func isVideo(tool string, args map[string]json.RawMessage) bool {
	switch tool {
	case "publish_reel":
		return true
	case "publish_story":
		return stringArg(args, "video_url") != ""
	case "create_carousel":
		var items []map[string]json.RawMessage
		_ = json.Unmarshal(args["items"], &items)
		return slices.ContainsFunc(items, func(it map[string]json.RawMessage) bool { return stringArg(it, "video_url") != "" })
	}
	return false
}

// validProgressToken keeps a progress token that is what the spec allows
// (a string or an integer) and small enough to store with the task; any
// other gets no progress notifications.
func validProgressToken(raw json.RawMessage) json.RawMessage {
	var s string
	var n int64
	if len(raw) == 0 || len(raw) > 256 || json.Unmarshal(raw, &s) != nil && json.Unmarshal(raw, &n) != nil {
		return nil
	}
	return raw
}

func stringArg(args map[string]json.RawMessage, name string) string {
	var s string
	_ = json.Unmarshal(args[name], &s)
	return strings.TrimSpace(s)
}
