package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/webhooks"
)

// Webhook events are kept eventsKept, except story_insights: a Story's
// final insights, which Graph no longer answers once it expired
// (docs/reference.md §5). Old events are removed once at start and then
// every pruneEvery.
const (
	eventsKept = 30 * 24 * time.Hour
	pruneEvery = 24 * time.Hour
)

// events are a server's webhook events: the receiver of
// /webhooks/instagram (nil unless webhooks are configured and igmcp http
// serves it or the sandbox feeds it) and the hub that tells
// instagram://events subscribers of new ones (one per process).
type events struct {
	receiver *webhooks.Receiver
	hub      *webhooks.Hub
}

// openEvents wires webhook events when webhooks are configured or the
// events toolset is asked for (a server reading events another one
// received into the same store); nil otherwise. bus is the process's one
// watch of the store (replicas.go; nil: it could not start), which tells
// subscribers of new events. In the sandbox the simulated
// Meta is connected to the receiver in process: it verifies it, subscribes
// the account and delivers its comments, mentions and Story insights.
func openEvents(cfg *config, st store.Store, bus *webhooks.Hub, sb *sandbox, logger *slog.Logger, cl *closers) (*events, error) {
	if !cfg.webhooks() && !slices.Contains(cfg.selection.Toolsets, tools.ToolsetEvents) {
		return nil, nil
	}
	if bus == nil {
		return nil, errors.New("the store cannot be watched for new events")
	}
	ev := &events{hub: bus}
	ctx, cancel := context.WithCancel(context.Background())
	cl.add(cancel)
	// The receiver is served by igmcp http, and fed in process by the
	// sandbox; igmcp stdio otherwise only reads what another process received.
	if !cfg.webhooks() || (cfg.use != cmdHTTP && sb == nil) {
		return ev, nil
	}
	rc, err := webhooks.New(webhooks.Config{VerifyToken: cfg.verifyToken, AppSecrets: []string{cfg.appSecret}, Store: st, Logger: logger})
	if err != nil {
		return nil, err
	}
	ev.receiver = rc
	if sb != nil {
		g := &gate{next: rc}
		cl.add(g.close)
		if err := sb.fake.ConnectWebhooks(ctx, g, cfg.verifyToken, cfg.appSecret); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// gate passes the sandbox's deliveries to the receiver until it is closed,
// then answers 503 (the simulated Meta retries, as Meta would): deliveries
// run in the background, and none may reach the store once it closes.
type gate struct {
	next   http.Handler
	mu     sync.RWMutex
	closed bool
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	g.next.ServeHTTP(w, r)
}

// close waits for the deliveries being handled.
func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
}

// pruneEvents removes old events (not story_insights) until ctx ends.
func pruneEvents(ctx context.Context, st store.Events, logger *slog.Logger) {
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	for {
		n, err := st.PruneEvents(ctx, time.Now().Add(-eventsKept), webhooks.FieldStoryInsights)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("old webhook events not removed", "err", err)
		case n > 0:
			logger.Info("old webhook events removed", "events", n, "older_than", eventsKept.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
