package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const journalCols = `id, at, account_id, action, input_digest, graph_ids, outcome, error_kind`

func scanJournal(sc rowScanner) (JournalEntry, error) {
	var e JournalEntry
	err := sc.Scan(&e.ID, timeCol{&e.Time}, &e.AccountID, &e.Action, &e.InputDigest,
		listCol{&e.GraphIDs}, &e.Outcome, &e.ErrorKind)
	return e, err
}

func (s *sqlStore) AppendJournal(ctx context.Context, e JournalEntry) (JournalEntry, error) {
	if err := required("action", e.Action); err != nil {
		return JournalEntry{}, err
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	out, err := writeRow(ctx, s, scanJournal, nil, `INSERT INTO journal
		(at, account_id, action, input_digest, graph_ids, outcome, error_kind)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		RETURNING `+journalCols,
		s.d.time(e.Time), e.AccountID, e.Action, e.InputDigest, encodeList(e.GraphIDs), e.Outcome, e.ErrorKind)
	if err != nil {
		return JournalEntry{}, fmt.Errorf("store: append journal: %w", err)
	}
	return out, nil
}

// A journal cursor is the (time, id) of the last entry of a page: entries
// are ordered by both, so the next page starts strictly after it even when
// many entries share a time.
func journalCursor(e JournalEntry) string {
	return strconv.FormatInt(e.Time.UnixMicro(), 10) + "." + strconv.FormatInt(e.ID, 10)
}

func parseJournalCursor(c string) (time.Time, int64, error) {
	a, b, ok := strings.Cut(c, ".")
	micros, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, 0, fmt.Errorf("store: bad journal cursor %q: %w", c, ErrInvalid)
	}
	return time.UnixMicro(micros).UTC(), id, nil
}

func (s *sqlStore) ListJournal(ctx context.Context, q JournalQuery) ([]JournalEntry, string, error) {
	limit := pageLimit(q.Limit)
	var f filter
	f.eq("account_id", q.AccountID)
	f.eq("action", q.Action)
	if q.Cursor != "" {
		at, id, err := parseJournalCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		f.add("(at < ? OR (at = ? AND id < ?))", s.d.time(at), s.d.time(at), id)
	}
	// One row more than asked tells whether there is a next page.
	sqlText := `SELECT ` + journalCols + ` FROM journal` + f.where() + ` ORDER BY at DESC, id DESC LIMIT ?`
	es, err := queryAll(ctx, s, s.rdb, scanJournal, sqlText, append(f.args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list journal: %w", err)
	}
	next := ""
	if len(es) > limit {
		es = es[:limit]
		next = journalCursor(es[limit-1])
	}
	return es, next, nil
}
