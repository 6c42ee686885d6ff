package taskfront

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/store"
)

// follow sends a 2025-11-25 task's progress to the session that created it
// while the task runs: notifications/progress on the call's progress token
// (which "remains valid throughout the task lifetime") and
// notifications/tasks/status, each time the status message changes, on the
// session's stream (the GET stream a client keeps open). The replica that
// created the task holds the session (the load balancer sticks sessions),
// and hears of the job's moves on any replica through the bus; the job's
// row and ledger are read from the store. Following ends with the task, the
// session, or the front.
func (f *Front) follow(t store.Task) {
	if f.cfg.Server == nil || t.SessionID == "" {
		return
	}
	go func() {
		ctx := f.ctx
		var wake <-chan store.EventNotice
		if f.cfg.Signals != nil {
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			wake = f.cfg.Signals.SubscribeKinds(sctx, store.NoticeJob)
		}
		last, progress := "", 0
		for {
			v, err := f.derive(ctx, t, false)
			if err == nil && v.Message != last {
				last = v.Message
				progress++
				if !f.notify(t, v, progress) {
					return // the session is gone
				}
			}
			if err == nil && v.terminal() || !t.ExpiresAt.After(f.cfg.Now()) {
				return
			}
			if !f.wait(ctx, wake, t.ID, t.PollInterval, nil) {
				return
			}
		}
	}()
}

// notify sends one step; false when the session no longer exists here.
func (f *Front) notify(t store.Task, v view, progress int) bool {
	if len(t.ProgressToken) > 0 {
		var token any
		_ = json.Unmarshal(t.ProgressToken, &token)
		err := f.cfg.Server.SendNotificationToSpecificClient(t.SessionID, string(mcp.MethodNotificationProgress),
			map[string]any{"progressToken": token, "progress": progress, "message": v.Message})
		if errors.Is(err, server.ErrSessionNotFound) || errors.Is(err, server.ErrSessionNotInitialized) {
			return false
		}
	}
	err := f.cfg.Server.SendNotificationToSpecificClient(t.SessionID, "notifications/tasks/status", f.taskObject(t, v, false, false))
	return !errors.Is(err, server.ErrSessionNotFound) && !errors.Is(err, server.ErrSessionNotInitialized)
}
