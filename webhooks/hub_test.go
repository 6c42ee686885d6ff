package webhooks_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/webhooks"
)

// A session subscribed on one replica hears of a delivery received by
// another: two store handles on one database stand for the two replicas,
// each with its own receiver and hub, the delivery arriving over HTTP at
// replica B while the subscriber sits on replica A. On SQLite the two
// handles are like two processes sharing a data directory.
func TestNotifiedAcrossReplicas(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			cfg := b.cfg(t)
			replicaA, replicaB := open(t, cfg), open(t, cfg)
			hubA, hubB := webhooks.NewHub(replicaA), webhooks.NewHub(replicaB)
			if err := hubA.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := hubB.Start(ctx); err != nil {
				t.Fatal(err)
			}
			subA1, subA2 := hubA.Subscribe(ctx), hubA.Subscribe(ctx)
			subB := hubB.Subscribe(ctx)
			srvB := httptest.NewServer(newReceiver(t, replicaB))
			defer srvB.Close()

			body := `{"object":"instagram","entry":[{"id":"17841400000000001","time":1758700000,"changes":[{"field":"mentions","value":{"media_id":"17918195224117851","comment_id":"17894227972186120"}}]}]}`
			for range 2 { // the redelivery is stored and announced nowhere
				if status, err := deliverHTTP(srvB.Client(), srvB.URL, body); status != 200 {
					t.Fatalf("delivery: %d %v", status, err)
				}
			}
			es := allEvents(t, replicaA)
			if len(es) != 1 {
				t.Fatalf("stored %d events", len(es))
			}
			want := store.EventNotice{ID: es[0].ID, AccountID: "17841400000000001", Field: "mentions"}
			for name, ch := range map[string]<-chan store.EventNotice{"A1": subA1, "A2": subA2, "B": subB} {
				select {
				case n := <-ch:
					if n != want {
						t.Errorf("%s heard %+v, want %+v", name, n, want)
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("subscriber %s heard nothing", name)
				}
			}
			// Then silence: one notice per stored event.
			time.Sleep(2 * store.EventPollInterval)
			for name, ch := range map[string]<-chan store.EventNotice{"A1": subA1, "A2": subA2, "B": subB} {
				select {
				case n := <-ch:
					t.Errorf("%s heard %+v again", name, n)
				default:
				}
			}
		})
	}
}

// A subscription ends with its context, and every subscription with the
// hub's; a hub that stopped hands out closed channels.
func TestHubLifecycle(t *testing.T) {
	st := sqliteStore(t)
	hubCtx, stopHub := context.WithCancel(t.Context())
	h := webhooks.NewHub(st)
	if err := h.Start(hubCtx); err != nil {
		t.Fatal(err)
	}
	if err := h.Start(hubCtx); err == nil {
		t.Error("a second Start succeeded")
	}
	subCtx, endSub := context.WithCancel(t.Context())
	short := h.Subscribe(subCtx)
	long := h.Subscribe(t.Context())
	if n := h.Subscribers(); n != 2 {
		t.Fatalf("%d subscribers", n)
	}
	endSub()
	waitClosed(t, "ended subscription", short)
	if n := h.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers after one ended", n)
	}
	// A subscriber that reads nothing fills its buffer, loses the rest,
	// and blocks neither the hub nor the others.
	var batch []store.Event
	for i := range webhooks.SubscriberBuffer + 10 {
		batch = append(batch, store.Event{Key: fmt.Sprint(i), AccountID: "a", Field: "comments", Value: []byte(`{}`)})
	}
	if _, err := st.AppendEvents(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(long) < webhooks.SubscriberBuffer {
		if time.Now().After(deadline) {
			t.Fatalf("slow subscriber holds %d notices", len(long))
		}
		time.Sleep(time.Millisecond)
	}
	fresh := h.Subscribe(t.Context())
	stored, err := st.AppendEvents(t.Context(), []store.Event{{Key: "last", AccountID: "a", Field: "mentions", Value: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	// The hub may still be announcing the tail of the batch (stored
	// before fresh subscribed): those come first, in order, then the new one.
	for heard := false; !heard; {
		select {
		case n := <-fresh:
			switch {
			case n.ID == stored[0].ID:
				heard = true
			case n.ID > stored[0].ID || n.Field != "comments":
				t.Fatalf("fresh subscriber heard %+v, want id %d", n, stored[0].ID)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a full subscriber blocked the hub")
		}
	}
	if n := len(long); n != webhooks.SubscriberBuffer {
		t.Errorf("slow subscriber holds %d notices", n)
	}
	stopHub()
	waitClosed(t, "subscription of a stopped hub", long)
	waitClosed(t, "late subscription", h.Subscribe(t.Context()))
}

func waitClosed(t *testing.T, what string, ch <-chan store.EventNotice) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("%s: channel not closed", what)
		}
	}
}

type failingWatcher struct{}

func (failingWatcher) WatchEvents(context.Context) (<-chan store.EventNotice, error) {
	return nil, fmt.Errorf("connection refused")
}

func TestHubStartError(t *testing.T) {
	h := webhooks.NewHub(failingWatcher{})
	if err := h.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Start = %v", err)
	}
	waitClosed(t, "subscription of a hub that never started", h.Subscribe(t.Context()))
}

// chanWatcher is a watch the test feeds by hand.
type chanWatcher chan store.EventNotice

func (w chanWatcher) WatchEvents(context.Context) (<-chan store.EventNotice, error) { return w, nil }

// Each subscriber hears the kinds it asked for: events subscribers only
// events, signal subscribers their signals and every resync (signals may
// have been lost), never another kind.
func TestHubKinds(t *testing.T) {
	src := make(chanWatcher, 8)
	h := webhooks.NewHub(src)
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	events := h.Subscribe(t.Context())
	jobs := h.SubscribeKinds(t.Context(), store.NoticeJob)
	both := h.SubscribeKinds(t.Context(), store.NoticePublished, store.NoticeJob)
	for _, n := range []store.EventNotice{
		{ID: 7, AccountID: "a", Field: "comments"},
		{Kind: store.NoticeJob, Key: "job_1"},
		{Kind: store.NoticePublished, Key: "178"},
		{Kind: store.NoticeResync},
	} {
		src <- n
	}
	close(src) // the hub stops after the last one: every channel closes
	read := func(ch <-chan store.EventNotice) []string {
		var out []string
		for n := range ch {
			out = append(out, fmt.Sprintf("%s:%s%d", n.Kind, n.Key, n.ID))
		}
		return out
	}
	for name, tc := range map[string]struct {
		ch   <-chan store.EventNotice
		want string
	}{
		"events": {events, "[:7]"},
		"jobs":   {jobs, "[job:job_10 resync:0]"},
		"both":   {both, "[job:job_10 published:1780 resync:0]"},
	} {
		if got := fmt.Sprint(read(tc.ch)); got != tc.want {
			t.Errorf("%s heard %s, want %s", name, got, tc.want)
		}
	}
}

// A signal sent through one replica's store reaches the subscribers of
// another replica's hub, and an events subscriber hears nothing of it.
func TestSignalsAcrossReplicas(t *testing.T) {
	for _, b := range backends() {
		if b.name != "PostgreSQL" {
			continue // SQLite's signals stay in their process (store.Signaler)
		}
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			cfg := b.cfg(t)
			replicaA, replicaB := open(t, cfg), open(t, cfg)
			hubA := webhooks.NewHub(replicaA)
			if err := hubA.Start(ctx); err != nil {
				t.Fatal(err)
			}
			jobs, events := hubA.SubscribeKinds(ctx, store.NoticeJob), hubA.Subscribe(ctx)
			if err := replicaB.Signal(ctx, store.NoticeJob, "job_abc"); err != nil {
				t.Fatal(err)
			}
			select {
			case n := <-jobs:
				if n.Kind != store.NoticeJob || n.Key != "job_abc" {
					t.Errorf("heard %+v", n)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("replica A heard nothing of replica B's signal")
			}
			time.Sleep(2 * store.EventPollInterval)
			select {
			case n := <-events:
				t.Errorf("the events subscriber heard %+v", n)
			default:
			}
		})
	}
}
