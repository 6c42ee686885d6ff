package httpserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/tools"
)

// ErrShuttingDown is the cancellation cause of a tool call that was still
// running when the shutdown grace period ended.
var ErrShuttingDown = errors.New("igmcp is shutting down")

// drainer tracks tool calls in flight so a shutdown can wait for them. It is
// a tool-handler middleware rather than HTTP bookkeeping because SSE runs a
// call after its POST /message has already been answered (202), and only the
// middleware sees where a call starts and ends on every transport.
type drainer struct {
	mu       sync.Mutex
	inflight int
	idle     chan struct{} // closed while inflight == 0 during a drain
	draining bool
	grace    time.Duration
	hardStop context.Context // cancelled (cause ErrShuttingDown) when the grace period ends
	stop     context.CancelCauseFunc
}

func newDrainer(grace time.Duration) *drainer {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &drainer{hardStop: ctx, stop: cancel, grace: grace}
}

// middleware counts calls, refuses new ones during a drain, and cancels a
// call's context only when the grace period is over.
func (d *drainer) middleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if !d.enter() {
			e := failure.New(failure.Transient, "igmcp is shutting down and did not start this call; nothing was done.")
			e.RetryAfter = 5
			e.Action = "Retry the same call in a few seconds, once the server is back."
			return tools.ErrorResult(e), nil
		}
		defer d.leave()
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := context.AfterFunc(d.hardStop, func() { cancel(context.Cause(d.hardStop)) })
		defer stop()

		res, err := next(ctx, req)
		if errors.Is(context.Cause(ctx), ErrShuttingDown) && err == nil && res != nil && res.IsError {
			res = shutdownResult(res, d.grace)
		}
		return res, err
	}
}

// shutdownResult replaces the generic "cancelled" error of a call cut off by
// the shutdown with one that says what happened. Only the transient kind is
// rewritten: a publish whose outcome is unknown keeps its outcome_unknown
// (its reconciliation runs even after the cancel, and its action matters).
// A transient cancel means nothing was published: the publish pipeline
// answers a cancel during media_publish by reading the container instead.
func shutdownResult(res *mcp.CallToolResult, grace time.Duration) *mcp.CallToolResult {
	sc, _ := res.StructuredContent.(map[string]any)
	fe, ok := sc["error"].(*failure.Error)
	if !ok || fe.Kind != failure.Transient {
		return res
	}
	e := failure.New(failure.Transient, fmt.Sprintf(
		"igmcp shut down while this call was still running (it had %s to finish); nothing was published by this call.", grace))
	e.RetryAfter = 5
	e.Action = "When the server is back, retry the call; a Reel that was still processing must be created again (its container was not published)."
	return tools.ErrorResult(e)
}

func (d *drainer) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.draining {
		return false
	}
	d.inflight++
	return true
}

func (d *drainer) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inflight--
	if d.inflight == 0 && d.idle != nil {
		close(d.idle)
		d.idle = nil
	}
}

// beginDrain refuses new calls from now on and returns how many are running
// and a channel closed when none are.
func (d *drainer) beginDrain() (int, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.draining = true
	ch := make(chan struct{})
	if d.inflight == 0 {
		close(ch)
	} else {
		d.idle = ch
	}
	return d.inflight, ch
}

func (d *drainer) isDraining() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.draining
}

// cancelAll ends the grace period: every running call's context is
// cancelled with ErrShuttingDown.
func (d *drainer) cancelAll() { d.stop(ErrShuttingDown) }
