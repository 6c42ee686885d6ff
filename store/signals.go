package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// Kinds of EventNotice. Signals are hints to look again, never a log: a
// watcher that reconnects reports NoticeResync, since signals sent while it
// was away are lost.
const (
	// NoticeEvent: a webhook event was stored (ID, AccountID, Field).
	NoticeEvent = ""
	// NoticePublished: a post went live; Key is the account id (its
	// publishing quota moved).
	NoticePublished = "published"
	// NoticeJob: a background job or MCP task changed state; Key is its id.
	NoticeJob = "job"
	// NoticeResync: the watch was lost and re-established; any signal may
	// have been missed.
	NoticeResync = "resync"
)

// Signaler sends signals to every process sharing the store, this one
// included, through WatchEvents: the replicas' bus for what is not a
// webhook event (a post went live, a task moved).
type Signaler interface {
	// Signal reports (kind, key) to every watcher. On PostgreSQL it is a
	// NOTIFY on the events channel, heard by every replica; on SQLite only
	// this Store's watchers hear it (several processes on one SQLite file
	// are not replicas: their other state is per process too).
	Signal(ctx context.Context, kind, key string) error
}

func (s *sqlStore) Signal(ctx context.Context, kind, key string) error {
	if kind == NoticeEvent {
		return fmt.Errorf("store: a signal needs a kind: %w", ErrInvalid)
	}
	if s.events.listen == nil {
		s.events.signal(EventNotice{Kind: kind, Key: key})
		return nil
	}
	b, _ := json.Marshal(noticeJSON{Kind: kind, Key: key}) // strings always marshal
	if len(b) > maxNotifyPayload {
		return fmt.Errorf("store: signal key of %d bytes: %w", len(key), ErrInvalid)
	}
	if _, err := s.db.ExecContext(ctx, s.d.bind(`SELECT pg_notify(?, ?)`), s.events.channel, string(b)); err != nil {
		return fmt.Errorf("store: signal: %w", err)
	}
	return nil
}
