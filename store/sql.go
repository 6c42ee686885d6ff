package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dialect is everything the two backends do differently. The queries
// themselves are shared, written with ? placeholders and standard SQL both
// engines accept (ON CONFLICT, RETURNING, sub-selects in UPDATE), so the two
// backends cannot drift apart in behaviour.
type dialect struct {
	name string
	// dollar: rewrite ? placeholders to PostgreSQL's $1, $2, ….
	dollar bool
	// types replaces the {{…}} tokens of the migration files.
	types map[string]string
	// lockRows ends the sub-select that picks rows to claim. PostgreSQL
	// needs FOR UPDATE SKIP LOCKED so concurrent claimers pass over each
	// other's rows instead of queueing on them; SQLite has one writer at a
	// time anyway, inside BEGIN IMMEDIATE.
	lockRows string
	// migrationLock runs first in the migration transaction.
	migrationLock string
	// timeAsMicros: SQLite stores times as INTEGER microseconds since 1970
	// (exact, sortable, compared as numbers); PostgreSQL as TIMESTAMPTZ.
	timeAsMicros bool
}

// bind adapts a query written with ? placeholders. The queries of this
// package never contain ? inside literals.
func (d *dialect) bind(q string) string {
	if !d.dollar {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// normTime is the one precision and zone every stored time has.
func normTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// time encodes a time for a query argument.
func (d *dialect) time(t time.Time) any {
	t = normTime(t)
	if d.timeAsMicros {
		return t.UnixMicro()
	}
	return t
}

// nullTime encodes an optional time: the zero time is NULL.
func (d *dialect) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.time(t)
}

// timeCol scans either encoding back into a UTC time; NULL is the zero time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = normTime(v)
	default:
		return fmt.Errorf("store: cannot scan %T as a time", src)
	}
	return nil
}

// jsonCol scans a nullable JSON TEXT column; NULL is nil.
type jsonCol struct{ p *json.RawMessage }

func (c jsonCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = nil
	case string:
		*c.p = json.RawMessage(v)
	case []byte:
		*c.p = append(json.RawMessage(nil), v...)
	default:
		return fmt.Errorf("store: cannot scan %T as JSON", src)
	}
	return nil
}

// listCol scans a JSON array of strings; an empty array is nil.
type listCol struct{ p *[]string }

func (c listCol) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case nil:
		*c.p = nil
		return nil
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	default:
		return fmt.Errorf("store: cannot scan %T as a list", src)
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		return fmt.Errorf("store: bad list column: %w", err)
	}
	if len(l) == 0 {
		l = nil
	}
	*c.p = l
	return nil
}

// encodeList is listCol's inverse.
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// encodeJSON validates raw and encodes it for a nullable TEXT column. Bad
// JSON is refused here rather than stored and found unreadable later.
func encodeJSON(field string, raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("store: %s is not valid JSON: %w", field, ErrInvalid)
	}
	return string(raw), nil
}

type rowScanner interface{ Scan(dest ...any) error }

// sqlStore implements Store over database/sql for both dialects.
type sqlStore struct {
	db *sql.DB
	d  *dialect
	// events is what WatchEvents needs (events_watch.go).
	events eventSignals
}

func (s *sqlStore) Close() error { return s.db.Close() }

func (s *sqlStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.d.bind(q), args...)
}

func (s *sqlStore) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.d.bind(q), args...)
}

// queryAll runs q (on tx when given) and scans every row with scan.
func queryAll[T any](ctx context.Context, s *sqlStore, tx *sql.Tx, scan func(rowScanner) (T, error), q string, args ...any) ([]T, error) {
	var rows *sql.Rows
	var err error
	if tx != nil {
		rows, err = tx.QueryContext(ctx, s.d.bind(q), args...)
	} else {
		rows, err = s.db.QueryContext(ctx, s.d.bind(q), args...)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// exists tells ErrNotFound from ErrConflict after a compare-and-set touched
// no row. It is not atomic with the update, and need not be: it only picks
// the error, the update already decided.
func (s *sqlStore) exists(ctx context.Context, table, where string, args ...any) error {
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM `+table+` WHERE `+where, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return ErrConflict
}

// inStates renders "col IN (?, ?, …)" and its arguments.
func inStates[S ~string](col string, states []S) (string, []any) {
	ph := make([]string, len(states))
	args := make([]any, len(states))
	for i, st := range states {
		ph[i] = "?"
		args[i] = string(st)
	}
	return col + " IN (" + strings.Join(ph, ", ") + ")", args
}

func required(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return fmt.Errorf("store: %s is required: %w", fields[i], ErrInvalid)
		}
	}
	return nil
}

// pageLimit is a list's page size: 0 (or less) means 50, at most 1000.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 1000:
		return 1000
	}
	return n
}

// filter collects the conditions of a WHERE clause and their arguments.
type filter struct {
	conds []string
	args  []any
}

// eq adds "col = v" unless v is empty (an empty filter matches everything).
func (f *filter) eq(col, v string) {
	if v != "" {
		f.add(col+" = ?", v)
	}
}

func (f *filter) add(cond string, args ...any) {
	f.conds = append(f.conds, cond)
	f.args = append(f.args, args...)
}

// where renders " WHERE a AND b", or "" without conditions.
func (f *filter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.conds, " AND ")
}
