package scheduler_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
)

// A job whose BeforeSend answers ErrCancelled ends cancelled with nothing
// sent; one it lets through is published once. BeforeSend is asked with
// the job's id, right before the send.
func TestBeforeSendCancelsJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		e := newEnv(t, cfg, fakegraph.Options{})
		var cancelled string
		var asked atomic.Int32
		s := e.scheduler(func(c *scheduler.Config) {
			c.BeforeSend = func(ctx context.Context, id string) error {
				asked.Add(1)
				if id == cancelled {
					return fmt.Errorf("task cancelled: %w", scheduler.ErrCancelled)
				}
				return nil
			}
		})
		stop := e.createDirect("job_stop", e.accts[0].ID, "stopped", time.Now())
		cancelled = stop.ID
		goes := e.createDirect("job_goes", e.accts[0].ID, "goes", time.Now())
		start(t, s)
		if got := e.waitFinal(stop.ID); got.State != store.RunCancelled || got.MediaID != "" {
			t.Errorf("stopped job = %s (media %q), want cancelled", got.State, got.MediaID)
		}
		if got := e.waitFinal(goes.ID); got.State != store.RunPublished {
			t.Errorf("other job = %s, want published", got.State)
		}
		if n := e.published()["stopped"]; n != 0 {
			t.Errorf("the stopped job was published %d times", n)
		}
		e.requireOnce("goes")
		for _, c := range e.fake.Containers() {
			if c.Caption == "stopped" && e.fake.MediaPublishes(c.ID) != 0 {
				t.Errorf("container %s of the stopped job got media_publish", c.ID)
			}
		}
		if asked.Load() != 2 {
			t.Errorf("BeforeSend asked %d times, want 2 (once per job)", asked.Load())
		}
		rec, err := e.st.GetPublish(t.Context(), e.accts[0].ID, stop.IdempotencyKey)
		if err != nil || rec.State != store.PublishFailed {
			t.Errorf("the stopped job's ledger record: %s, %v; want failed (claimed, never sent)", rec.State, err)
		}
	})
}
