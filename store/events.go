package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is one change Meta delivered through a webhook (docs/reference.md
// §5): a new comment, a mention, a Story's final insights, or any other
// Instagram field. The typed fields are filled for the fields igmcp knows
// (comments, live_comments, mentions, story_insights) and empty otherwise;
// Value is the change's value exactly as delivered, for every field.
type Event struct {
	ID  int64 // assigned by AppendEvents; increases with arrival
	Key string
	// AccountID is the Instagram professional account the change is about
	// (entry.id of the delivery).
	AccountID    string
	Field        string
	MediaID      string
	CommentID    string
	ParentID     string // the comment replied to, for replies
	FromID       string // the Instagram-scoped id of whoever wrote Text
	FromUsername string
	Text         string    // someone else's words: untrusted
	Time         time.Time // when Meta says it happened or sent it; defaults to ReceivedAt
	ReceivedAt   time.Time // when igmcp stored it; defaults to now
	Value        json.RawMessage
}

// EventQuery selects events. Empty filters match everything.
type EventQuery struct {
	AccountID string
	Field     string
	Limit     int    // 0 means 50; at most 1000
	Cursor    string // next of the previous page; "" for the first
}

// EventNotice says that an event was stored, by this process or another
// one sharing the database; or, when Kind is set, carries a signal (see
// Signaler): the same watch is the replicas' one bus.
type EventNotice struct {
	ID        int64
	AccountID string
	Field     string
	// Kind is NoticeEvent ("") for a stored event, else the signal's kind
	// (NoticePublished, NoticeJob, NoticeResync), with Key naming what it
	// is about.
	Kind string
	Key  string
}

// Events are the webhook deliveries igmcp received.
type Events interface {
	// AppendEvents stores the events that are new, all in one transaction,
	// and returns those it stored (ID and ReceivedAt set) in input order;
	// their IDs increase in that order.
	// An event whose Key is already stored, by an earlier call or earlier
	// in events, is left out: Meta redelivers, and a redelivery must not
	// count twice. Key, AccountID, Field and a valid JSON Value are
	// required (ErrInvalid); nothing is stored when one event is invalid.
	AppendEvents(ctx context.Context, events []Event) ([]Event, error)
	// ListEvents returns events newest first (by ID). next is the cursor
	// for the following page, "" after the last one. A cursor that cannot
	// be parsed is ErrInvalid.
	ListEvents(ctx context.Context, q EventQuery) (events []Event, next string, err error)
	// LatestStoryInsights returns the newest story_insights event of the
	// account's media, or ErrNotFound. Meta sends a Story's insights when
	// it expires, after which Graph answers none: this is what remains.
	LatestStoryInsights(ctx context.Context, accountID, mediaID string) (Event, error)
	// PruneEvents removes events received before before, except those of
	// keepFields, and returns how many.
	PruneEvents(ctx context.Context, before time.Time, keepFields ...string) (int64, error)
	// WatchEvents reports every event stored after it returns, by any
	// process sharing the database, and every signal (Signaler), until ctx
	// ends; then the channel is closed. On PostgreSQL it holds one connection of its own (LISTEN);
	// on SQLite it is told at once of this Store's appends and looks for
	// other processes' every EventPollInterval. Call it once per process
	// and fan the notices out (webhooks.Hub does).
	WatchEvents(ctx context.Context) (<-chan EventNotice, error)
}

// EventPollInterval is how often a SQLite watcher looks for events that
// other processes stored; its own Store's appends wake it at once.
const EventPollInterval = time.Second

const (
	// eventChunk rows go in one INSERT: 13 parameters each stays far
	// below both engines' limits on parameters per statement.
	eventChunk = 200
)

const eventCols = `id, event_key, account_id, field, media_id, comment_id, parent_id, from_id, from_username, body_text, at, received_at, value_json`

func scanEvent(sc rowScanner) (Event, error) {
	var e Event
	var value string
	err := sc.Scan(&e.ID, &e.Key, &e.AccountID, &e.Field, &e.MediaID, &e.CommentID, &e.ParentID,
		&e.FromID, &e.FromUsername, &e.Text, timeCol{&e.Time}, timeCol{&e.ReceivedAt}, &value)
	e.Value = json.RawMessage(value)
	return e, err
}

func (s *sqlStore) AppendEvents(ctx context.Context, events []Event) ([]Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	now := time.Now()
	// Validate and drop repeats of a key within the batch before anything
	// is written, so one bad event stores nothing.
	batch := make([]Event, 0, len(events))
	seen := make(map[string]bool, len(events))
	for i, e := range events {
		if err := required("event key", e.Key, "event account id", e.AccountID, "event field", e.Field); err != nil {
			return nil, fmt.Errorf("store: event %d: %w", i, err)
		}
		if len(e.Value) == 0 || !json.Valid(e.Value) {
			return nil, fmt.Errorf("store: event %d: value is not valid JSON: %w", i, ErrInvalid)
		}
		if seen[e.Key] {
			continue
		}
		seen[e.Key] = true
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = now
		}
		if e.Time.IsZero() {
			e.Time = e.ReceivedAt
		}
		e.Time, e.ReceivedAt = normTime(e.Time), normTime(e.ReceivedAt)
		batch = append(batch, e)
	}

	// One transaction (on SQLite one of the writer's group commits), so the
	// rows and their notifications commit or vanish together.
	var stored []Event
	err := s.writeTx(ctx, func(ctx context.Context, tx querier) error {
		if err := s.lockEventKeys(ctx, tx, batch); err != nil {
			return err
		}
		ids := make(map[string]int64, len(batch))
		for start := 0; start < len(batch); start += eventChunk {
			if err := s.insertEvents(ctx, tx, batch[start:min(start+eventChunk, len(batch))], ids); err != nil {
				return err
			}
		}
		stored = make([]Event, 0, len(ids))
		for _, e := range batch {
			if id, ok := ids[e.Key]; ok {
				e.ID = id
				stored = append(stored, e)
			}
		}
		return s.notifyEvents(ctx, tx, stored)
	})
	if err != nil {
		return nil, fmt.Errorf("store: append events: %w", err)
	}
	if len(stored) > 0 {
		s.events.wake()
	}
	return stored, nil
}

// eventLockClass is the first key of the transaction locks AppendEvents
// takes on PostgreSQL; the two-key lock space does not overlap the
// one-key space of the migration lock.
const eventLockClass = 0x69676d65 // "igme"

// lockEventKeys serialises PostgreSQL writers that share keys. An insert
// that meets a key another open transaction inserted waits for it, so two
// batches sharing keys in opposite orders would deadlock (PostgreSQL then
// aborts one after a second). A transaction lock per key hash, taken in
// one global order before inserting, makes them queue instead, and rows
// still go in in input order. A hash collision only queues a writer it
// need not. SQLite has one writer at a time anyway.
func (s *sqlStore) lockEventKeys(ctx context.Context, tx querier, batch []Event) error {
	if s.d.name != "postgres" {
		return nil
	}
	hashes := make([]int32, 0, len(batch))
	for _, e := range batch {
		h := fnv.New32a()
		h.Write([]byte(e.Key))
		hashes = append(hashes, int32(h.Sum32()))
	}
	slices.Sort(hashes)
	hashes = slices.Compact(hashes)
	// unnest yields the array in order, so the locks are taken in order.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d, h) FROM unnest($1::int4[]) AS h`, eventLockClass), hashes); err != nil {
		return fmt.Errorf("lock keys: %w", err)
	}
	return nil
}

// insertEvents writes one chunk with a single statement and records the
// ids of the rows it inserted; rows whose key exists are skipped.
func (s *sqlStore) insertEvents(ctx context.Context, tx querier, chunk []Event, ids map[string]int64) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO events (event_key, account_id, field, media_id, comment_id, parent_id, from_id, from_username, body_text, at, received_at, value_json) VALUES `)
	args := make([]any, 0, len(chunk)*12)
	for i, e := range chunk {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.Key, e.AccountID, e.Field, e.MediaID, e.CommentID, e.ParentID,
			e.FromID, e.FromUsername, e.Text, s.d.time(e.Time), s.d.time(e.ReceivedAt), string(e.Value))
	}
	q.WriteString(` ON CONFLICT (event_key) DO NOTHING RETURNING id, event_key`)
	rows, err := tx.QueryContext(ctx, s.d.bind(q.String()), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return err
		}
		ids[key] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

func (s *sqlStore) ListEvents(ctx context.Context, q EventQuery) ([]Event, string, error) {
	limit := pageLimit(q.Limit)
	var f filter
	f.eq("account_id", q.AccountID)
	f.eq("field", q.Field)
	if q.Cursor != "" {
		before, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || before <= 0 {
			return nil, "", fmt.Errorf("store: bad event cursor %q: %w", q.Cursor, ErrInvalid)
		}
		f.add("id < ?", before)
	}
	// One row more than asked tells whether there is a next page.
	sqlText := `SELECT ` + eventCols + ` FROM events` + f.where() + ` ORDER BY id DESC LIMIT ?`
	es, err := queryAll(ctx, s, s.rdb, scanEvent, sqlText, append(f.args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list events: %w", err)
	}
	next := ""
	if len(es) > limit {
		es = es[:limit]
		next = strconv.FormatInt(es[limit-1].ID, 10)
	}
	return es, next, nil
}

func (s *sqlStore) LatestStoryInsights(ctx context.Context, accountID, mediaID string) (Event, error) {
	if err := required("account id", accountID, "media id", mediaID); err != nil {
		return Event{}, err
	}
	e, err := scanEvent(s.readRow(ctx, `SELECT `+eventCols+` FROM events
		WHERE media_id = ? AND field = 'story_insights' AND account_id = ? ORDER BY id DESC LIMIT 1`, mediaID, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, fmt.Errorf("store: story insights of %s: %w", mediaID, ErrNotFound)
	}
	if err != nil {
		return Event{}, fmt.Errorf("store: story insights of %s: %w", mediaID, err)
	}
	return e, nil
}

func (s *sqlStore) PruneEvents(ctx context.Context, before time.Time, keepFields ...string) (int64, error) {
	q := `DELETE FROM events WHERE received_at < ?`
	args := []any{s.d.time(before)}
	if len(keepFields) > 0 {
		in, inArgs := inStates("field", keepFields)
		q += ` AND NOT (` + in + `)`
		args = append(args, inArgs...)
	}
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: prune events: %w", err)
	}
	return res.RowsAffected()
}
