package webhooks

import (
	"context"
	"errors"
	"sync"

	"github.com/igmcp/igmcp/store"
)

// Watcher is the part of the store a Hub listens to.
type Watcher interface {
	WatchEvents(ctx context.Context) (<-chan store.EventNotice, error)
}

// SubscriberBuffer is how many notices a subscriber may have unread. A
// subscriber that falls further behind misses notices: they are hints to
// look at the events again (list_events, instagram://events), and a
// subscriber with unread notices is going to look anyway.
const SubscriberBuffer = 64

// Hub fans the store's notices out to subscribers: one watch of the store
// per process (on PostgreSQL one LISTEN connection), however many MCP
// sessions subscribe. The watch carries new webhook events and the
// replicas' signals (store.Signaler: a post went live, a task moved); each
// subscriber gets the kinds it asked for. On PostgreSQL a subscriber hears
// of events and signals of every replica; on SQLite of this process's at
// once and of other processes' events within store.EventPollInterval.
type Hub struct {
	src Watcher

	mu      sync.Mutex
	subs    map[chan store.EventNotice]kinds
	started bool
	stopped bool
}

// kinds is what one subscriber hears: notice kinds (store.Notice*).
type kinds []string

func (k kinds) want(n store.EventNotice) bool {
	for _, kind := range k {
		if kind == n.Kind {
			return true
		}
	}
	// A resync means any signal may have been missed: every subscriber of
	// signals hears it (event subscribers are caught up by the watch).
	return n.Kind == store.NoticeResync && (len(k) > 1 || len(k) == 1 && k[0] != store.NoticeEvent)
}

// NewHub builds a Hub over the store. Start it to begin watching.
func NewHub(src Watcher) *Hub {
	return &Hub{src: src, subs: map[chan store.EventNotice]kinds{}}
}

// Start begins watching the store until ctx ends; then every subscriber's
// channel is closed. It returns the store's error if the watch cannot
// begin (e.g. PostgreSQL refuses the LISTEN connection).
func (h *Hub) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.started {
		h.mu.Unlock()
		return errors.New("webhooks: hub already started")
	}
	h.started = true
	h.mu.Unlock()
	notices, err := h.src.WatchEvents(ctx)
	if err != nil {
		h.stop()
		return err
	}
	go func() {
		defer h.stop()
		for n := range notices {
			h.publish(n)
		}
	}()
	return nil
}

// Subscribe returns a channel of notices of events stored from now on. It
// is closed when ctx ends or the hub stops. A stopped hub returns a closed
// channel.
func (h *Hub) Subscribe(ctx context.Context) <-chan store.EventNotice {
	return h.SubscribeKinds(ctx, store.NoticeEvent)
}

// SubscribeKinds is Subscribe for the notices of the given kinds
// (store.NoticeEvent for events, signal kinds such as store.NoticeJob); a
// subscriber of signals also hears store.NoticeResync.
func (h *Hub) SubscribeKinds(ctx context.Context, want ...string) <-chan store.EventNotice {
	ch := make(chan store.EventNotice, SubscriberBuffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		close(ch)
		return ch
	}
	h.subs[ch] = kinds(append([]string(nil), want...))
	context.AfterFunc(ctx, func() { h.unsubscribe(ch) })
	return ch
}

// Subscribers is how many subscriptions are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *Hub) publish(n store.EventNotice) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, k := range h.subs {
		if !k.want(n) {
			continue
		}
		select {
		case ch <- n:
		default: // behind: it has notices to read already
		}
	}
}

func (h *Hub) unsubscribe(ch chan store.EventNotice) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *Hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
