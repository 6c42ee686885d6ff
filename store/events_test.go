package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
)

// Separate Store handles on one database stand for separate processes (or
// replicas): a watcher on one hears of the events another stores, once
// each. On PostgreSQL that is LISTEN/NOTIFY across connections; on SQLite
// the watcher's polling.
func TestWatchAcrossHandles(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			cfg := b.config(t)
			watcher, writer := openCfg(t, cfg), openCfg(t, cfg)
			notices, err := watcher.WatchEvents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var all []store.Event
			for i := range 3 {
				batch := []store.Event{
					{Key: fmt.Sprint("k", i), AccountID: "a", Field: "comments", Value: json.RawMessage(`{}`)},
					{Key: fmt.Sprint("m", i), AccountID: "b", Field: "mentions", Value: json.RawMessage(`{}`)},
				}
				stored, err := writer.AppendEvents(ctx, batch)
				if err != nil {
					t.Fatal(err)
				}
				// A redelivery through the watcher's own handle: stored
				// nowhere, announced nowhere.
				if again, err := watcher.AppendEvents(ctx, batch); err != nil || len(again) != 0 {
					t.Fatalf("redelivery: %v, %v", again, err)
				}
				all = append(all, stored...)
			}
			storetest.WantNotices(t, notices, all)
			// The writer's own watcher, started now, hears only what comes
			// next, whoever stores it.
			own, err := writer.WatchEvents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := watcher.AppendEvents(ctx, []store.Event{{Key: "late", AccountID: "a", Field: "story_insights", Value: json.RawMessage(`{}`)}})
			if err != nil {
				t.Fatal(err)
			}
			for name, ch := range map[string]<-chan store.EventNotice{"writer": own, "watcher": notices} {
				select {
				case n := <-ch:
					if n.ID != stored[0].ID || n.Field != "story_insights" {
						t.Errorf("%s heard %+v, want id %d", name, n, stored[0].ID)
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("%s heard nothing of the late event", name)
				}
			}
		})
	}
}

// A watcher on PostgreSQL survives losing its connection: it reconnects
// and reports what was stored while it was away.
func TestWatchReconnects(t *testing.T) {
	requirePG(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := store.Config{DatabaseURL: pg.FreshURL(t)}
	s := openCfg(t, cfg)
	notices, err := s.WatchEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := backends()[1].raw(t, cfg)
	// Kill the store's LISTEN connection (this test's schema names its
	// channel), as a failover or a restarted proxy would.
	kill := func() int {
		var n int
		if err := raw.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE pid <> pg_backend_pid() AND query = 'LISTEN ' || quote_ident('igmcp_events.' || current_schema())`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := kill(); n != 1 {
		t.Fatalf("terminated %d LISTEN connections, want 1", n)
	}
	// An event stored while it was away is reported, and it listens again;
	// signals sent meanwhile are lost, which a resync says.
	resyncs := 0
	for _, key := range []string{"while-away", "after"} {
		stored, err := s.AppendEvents(ctx, []store.Event{{Key: key, AccountID: "a", Field: "comments", Value: json.RawMessage(`{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		for heard := false; !heard; {
			select {
			case n := <-notices:
				if n.Kind == store.NoticeResync {
					resyncs++
					continue
				}
				if n.ID != stored[0].ID {
					t.Fatalf("%s: heard %+v, want id %d", key, n, stored[0].ID)
				}
				heard = true
			case <-time.After(60 * time.Second):
				t.Fatalf("%s: no notice", key)
			}
		}
	}
	if resyncs != 1 {
		t.Errorf("%d resyncs after one reconnect, want 1", resyncs)
	}
}
