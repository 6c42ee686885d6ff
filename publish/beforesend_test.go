package publish_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/store"
)

// BeforeSend is asked once, after the claim and before media_publish: an
// error stops the publish with nothing sent and the record failed (so the
// key may start again); nil lets it publish as usual.
func TestBeforeSend(t *testing.T) {
	stop := errors.New("stop before the send")
	for _, tc := range []struct {
		name      string
		answer    error
		wantSends int
		wantState store.PublishState
	}{
		{"stopped", stop, 0, store.PublishFailed},
		{"allowed", nil, 1, store.PublishPublished},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, fakegraph.Options{}, ratelimit.Config{})
			a := r.accounts[0]
			asked := 0
			var stateAtAsk store.PublishState
			o := publish.Options{Wait: 5 * time.Second, BeforeSend: func(ctx context.Context) error {
				asked++
				rec, err := r.store.GetPublish(ctx, a.ID, "k-"+tc.name)
				if err != nil {
					t.Errorf("ledger at BeforeSend: %v", err)
				}
				stateAtAsk = rec.State
				return tc.answer
			}}
			req := post("before send " + tc.name)
			req.IdempotencyKey = "k-" + tc.name
			res, err := r.pub.Run(t.Context(), a, req, o)
			if !errors.Is(err, tc.answer) || (tc.answer == nil) != (res != nil && res.Status == publish.StatusPublished) {
				t.Fatalf("Run = %+v, %v; want error %v", res, err, tc.answer)
			}
			if asked != 1 || stateAtAsk != store.PublishSent {
				t.Errorf("asked %d times, with the record in %s; want once, in publish_sent", asked, stateAtAsk)
			}
			if n := oneSendPerContainer(t, r); n != tc.wantSends {
				t.Errorf("media_publish sent %d times, want %d", n, tc.wantSends)
			}
			rec, err := r.store.GetPublish(t.Context(), a.ID, "k-"+tc.name)
			if err != nil || rec.State != tc.wantState {
				t.Errorf("ledger %s (%v), want %s", rec.State, err, tc.wantState)
			}
			if tc.answer == nil {
				return
			}
			// The same key later, without the stop: it publishes, once.
			res, err = r.pub.Run(t.Context(), a, req, publish.Options{Wait: 5 * time.Second})
			if err != nil || res.Status != publish.StatusPublished || res.Replayed {
				t.Fatalf("retry after the stop = %+v, %v", res, err)
			}
			if n := oneSendPerContainer(t, r); n != 1 {
				t.Errorf("after the retry media_publish sent %d times, want 1", n)
			}
		})
	}
}

// A draft never claims a send, so it is never asked.
func TestBeforeSendNotAskedForDrafts(t *testing.T) {
	r := newRig(t, fakegraph.Options{}, ratelimit.Config{})
	res, err := r.pub.Run(t.Context(), r.accounts[0], post("draft"), publish.Options{Wait: 5 * time.Second, Draft: true,
		BeforeSend: func(context.Context) error { t.Error("asked for a draft"); return nil }})
	if err != nil || res.Status != publish.StatusDraft {
		t.Fatalf("draft = %+v, %v (%s)", res, err, kindOf(err))
	}
}
