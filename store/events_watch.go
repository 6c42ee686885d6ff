package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jackc/pgx/v5"
)

// eventSignals carries notices from AppendEvents to WatchEvents.
type eventSignals struct {
	// listen is set on PostgreSQL: the configuration of the connection
	// WatchEvents holds for LISTEN, and the channel it listens on.
	listen  *pgx.ConnConfig
	channel string

	mu    sync.Mutex
	wakes map[chan struct{}]struct{}
	// sigs carry SQLite's signals (Signal) to this Store's watchers.
	sigs map[chan EventNotice]struct{}
}

// signal hands n to this Store's watchers; one that is behind misses it
// (signals are hints).
func (w *eventSignals) signal(n EventNotice) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.sigs {
		select {
		case c <- n:
		default:
		}
	}
}

func (w *eventSignals) addSignals() chan EventNotice {
	c := make(chan EventNotice, 64)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sigs == nil {
		w.sigs = map[chan EventNotice]struct{}{}
	}
	w.sigs[c] = struct{}{}
	return c
}

func (w *eventSignals) removeSignals(c chan EventNotice) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.sigs, c)
}

// wake tells this Store's watchers that events were committed. A watcher
// already woken and not yet looking needs no second signal.
func (w *eventSignals) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.wakes {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

func (w *eventSignals) add() chan struct{} {
	c := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wakes == nil {
		w.wakes = map[chan struct{}]struct{}{}
	}
	w.wakes[c] = struct{}{}
	return c
}

func (w *eventSignals) remove(c chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.wakes, c)
}

// eventChannel names the NOTIFY channel after the schema the store lives
// in, so databases shared by several igmcp installations (one schema each,
// through search_path) do not hear each other. Channel names are
// identifiers: at most 63 bytes.
func eventChannel(ctx context.Context, db *sql.DB) (string, error) {
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", fmt.Errorf("store: current schema: %w", err)
	}
	if schema == "public" {
		return "igmcp_events", nil
	}
	if ch := "igmcp_events." + schema; len(ch) <= 63 {
		return ch, nil
	}
	h := sha256.Sum256([]byte(schema))
	return "igmcp_events." + hex.EncodeToString(h[:12]), nil
}

// noticeJSON is an EventNotice as a NOTIFY payload: an event's id, or a
// signal's kind and key.
type noticeJSON struct {
	ID        int64  `json:"id,omitempty"`
	AccountID string `json:"account_id,omitempty"`
	Field     string `json:"field,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Key       string `json:"key,omitempty"`
}

// maxNotifyPayload stays under PostgreSQL's 8000-byte payload limit.
const maxNotifyPayload = 7000

// notifyEvents queues one NOTIFY per stored event in the appending
// transaction: PostgreSQL delivers them at commit, and never for a
// transaction that rolls back. SQLite watchers are woken after the commit
// instead.
func (s *sqlStore) notifyEvents(ctx context.Context, tx querier, stored []Event) error {
	if s.events.listen == nil || len(stored) == 0 {
		return nil
	}
	payloads := make([]string, len(stored))
	for i, e := range stored {
		b, _ := json.Marshal(noticeJSON{ID: e.ID, AccountID: e.AccountID, Field: e.Field}) // strings always marshal
		if len(b) > maxNotifyPayload {
			b, _ = json.Marshal(noticeJSON{ID: e.ID})
		}
		payloads[i] = string(b)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, s.events.channel, payloads); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

func (s *sqlStore) WatchEvents(ctx context.Context) (<-chan EventNotice, error) {
	if s.events.listen != nil {
		return s.watchPostgres(ctx)
	}
	return s.watchPolling(ctx)
}

// watchPolling serves SQLite. Ids grow in commit order there (one writer
// at a time, AUTOINCREMENT), so "every id above the last one seen" is
// exact: nothing is missed or reported twice.
func (s *sqlStore) watchPolling(ctx context.Context) (<-chan EventNotice, error) {
	last, err := s.maxEventID(ctx)
	if err != nil {
		return nil, err
	}
	wake := s.events.add()
	sigs := s.events.addSignals()
	out := make(chan EventNotice, 64)
	go func() {
		defer close(out)
		defer s.events.remove(wake)
		defer s.events.removeSignals(sigs)
		tick := time.NewTicker(EventPollInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case n := <-sigs:
				select {
				case out <- n:
				case <-ctx.Done():
					return
				}
				continue
			case <-wake:
			case <-tick.C:
			}
			// An error (a busy or closed database) is retried at the
			// next tick; the events stay where they are.
			last, _ = s.sendEventsAfter(ctx, last, out, nil)
		}
	}()
	return out, nil
}

// watchPostgres LISTENs on a connection of its own. A lost connection is
// re-established with backoff; notifications sent meanwhile are lost, so
// it then reports the events with ids above the highest it saw (and skips
// the notifications of those it reported that way) and a NoticeResync for
// the signals. An event committed out of id order while it was away may go
// unreported: notices are hints to look, not a log.
func (s *sqlStore) watchPostgres(ctx context.Context) (<-chan EventNotice, error) {
	conn, err := s.listenEvents(ctx)
	if err != nil {
		return nil, err
	}
	// Read the high-water mark after LISTEN, so no event falls between.
	last, err := s.maxEventID(ctx)
	if err != nil {
		conn.Close(context.Background()) //nolint:errcheck // already failing
		return nil, err
	}
	out := make(chan EventNotice, 64)
	go func() {
		defer close(out)
		defer func() {
			if conn != nil {
				conn.Close(context.Background()) //nolint:errcheck // nothing to do about it
			}
		}()
		// reported holds what the last catch-up sent: events committed
		// after the new LISTEN are both read and notified.
		var reported map[int64]bool
		for {
			n, err := conn.WaitForNotification(ctx)
			if err == nil {
				var p noticeJSON
				if json.Unmarshal([]byte(n.Payload), &p) == nil && p.Kind != "" {
					select {
					case out <- EventNotice{Kind: p.Kind, Key: p.Key}:
					case <-ctx.Done():
						return
					}
					continue
				}
				if p.ID <= 0 || reported[p.ID] {
					delete(reported, p.ID)
					continue
				}
				select {
				case out <- EventNotice{ID: p.ID, AccountID: p.AccountID, Field: p.Field}:
				case <-ctx.Done():
					return
				}
				last = max(last, p.ID)
				continue
			}
			if ctx.Err() != nil {
				return
			}
			conn.Close(context.Background()) //nolint:errcheck // it is broken already
			eb := backoff.NewExponentialBackOff()
			eb.MaxInterval = 5 * time.Second
			conn, err = backoff.Retry(ctx, func() (*pgx.Conn, error) { return s.listenEvents(ctx) },
				backoff.WithBackOff(eb), backoff.WithMaxElapsedTime(0))
			if err != nil { // only when ctx ended
				conn = nil
				return
			}
			reported = map[int64]bool{}
			last, _ = s.sendEventsAfter(ctx, last, out, reported)
			select {
			case out <- EventNotice{Kind: NoticeResync}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// maxCatchUpMemory bounds what a reconnected watcher remembers having
// reported; beyond it a notice may come twice.
const maxCatchUpMemory = 10000

// listenEvents opens the LISTEN connection.
func (s *sqlStore) listenEvents(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.events.listen)
	if err != nil {
		return nil, fmt.Errorf("store: watch events: connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.events.channel}.Sanitize()); err != nil {
		conn.Close(context.Background()) //nolint:errcheck // already failing
		return nil, fmt.Errorf("store: watch events: listen: %w", err)
	}
	return conn, nil
}

func (s *sqlStore) maxEventID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.readRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: watch events: %w", err)
	}
	return id, nil
}

// sendEventsAfter sends a notice for every event with an id above last, in
// id order, notes their ids in sent (when not nil), and returns the
// highest id sent.
func (s *sqlStore) sendEventsAfter(ctx context.Context, last int64, out chan<- EventNotice, sent map[int64]bool) (int64, error) {
	const page = 500
	for {
		ns, err := queryAll(ctx, s, s.rdb, func(r rowScanner) (EventNotice, error) {
			var n EventNotice
			err := r.Scan(&n.ID, &n.AccountID, &n.Field)
			return n, err
		}, `SELECT id, account_id, field FROM events WHERE id > ? ORDER BY id LIMIT ?`, last, page)
		if err != nil {
			return last, fmt.Errorf("store: watch events: %w", err)
		}
		for _, n := range ns {
			select {
			case out <- n:
			case <-ctx.Done():
				return last, ctx.Err()
			}
			if sent != nil && len(sent) < maxCatchUpMemory {
				sent[n.ID] = true
			}
			last = n.ID
		}
		if len(ns) < page {
			return last, nil
		}
	}
}
