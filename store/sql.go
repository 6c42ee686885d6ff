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
	// db can write. SQLite: its one writing connection, which w drives;
	// statements run on db directly wait in Go for w's batches to end, and
	// inside a transaction begun on db nothing may go through w or db
	// again (the one connection is taken): use writeTx instead.
	// PostgreSQL: the pool.
	db *sql.DB
	// rdb is for reads that need not see uncommitted writes. SQLite: a
	// read-only pool; PostgreSQL: db.
	rdb *sql.DB
	// w queues SQLite's writes; nil on PostgreSQL.
	w *sqliteWriter
	d *dialect
	// events is what WatchEvents needs (events_watch.go).
	events eventSignals
}

func (s *sqlStore) Close() error {
	if s.w == nil {
		return s.db.Close()
	}
	s.w.stop()
	// The writing connection closes last: the last connection to close
	// checkpoints the WAL into the database, which a read-only one cannot.
	return errors.Join(s.rdb.Close(), s.db.Close())
}

// write runs fn as one write: on SQLite in the writer's queue, inside a
// transaction, and durable when write returns nil; on PostgreSQL on the
// pool, each statement committing by itself (PostgreSQL's row locks and
// ON CONFLICT make single statements atomic between processes already).
func (s *sqlStore) write(ctx context.Context, fn writeFunc) error {
	if s.w != nil {
		return s.w.write(ctx, fn)
	}
	return fn(ctx, s.db)
}

// writeTx is write whose statements form one transaction on PostgreSQL too.
func (s *sqlStore) writeTx(ctx context.Context, fn writeFunc) error {
	if s.w != nil {
		return s.w.write(ctx, fn)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// exec runs one writing statement through write.
func (s *sqlStore) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.write(ctx, func(ctx context.Context, q querier) error {
		var err error
		res, err = q.ExecContext(ctx, s.d.bind(query), args...)
		return err
	})
	return res, err
}

// queryRow runs a statement that may write on db, outside the writer's
// batches. Prefer readRow for reads and write for writes.
func (s *sqlStore) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.d.bind(query), args...)
}

// readRow runs a read on the read pool.
func (s *sqlStore) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.rdb.QueryRowContext(ctx, s.d.bind(query), args...)
}

// rowOn runs a statement on q (inside a write).
func (s *sqlStore) rowOn(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.d.bind(query), args...)
}

// queryAll runs query on q (db when nil) and scans every row with scan.
func queryAll[T any](ctx context.Context, s *sqlStore, q querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	if q == nil {
		q = s.db
	}
	rows, err := q.QueryContext(ctx, s.d.bind(query), args...)
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

// writeRow runs one statement with RETURNING as one write and scans its
// row inside it. If there is no row, ifNone (when set) runs on the same q
// and decides the error; otherwise it is sql.ErrNoRows.
func writeRow[T any](ctx context.Context, s *sqlStore, scan func(rowScanner) (T, error), ifNone writeFunc, query string, args ...any) (T, error) {
	var out T
	err := s.write(ctx, func(ctx context.Context, q querier) error {
		var err error
		out, err = scan(s.rowOn(ctx, q, query, args...))
		if errors.Is(err, sql.ErrNoRows) && ifNone != nil {
			err = ifNone(ctx, q)
		}
		return err
	})
	return out, err
}

// writeAll runs one statement with RETURNING as one write and scans every
// row inside it.
func writeAll[T any](ctx context.Context, s *sqlStore, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := s.write(ctx, func(ctx context.Context, q querier) error {
		var err error
		out, err = queryAll(ctx, s, q, scan, query, args...)
		return err
	})
	return out, err
}

// exists tells ErrNotFound from ErrConflict after a compare-and-set touched
// no row (writeRow's ifNone). It runs on the compare-and-set's q: inside a SQLite batch the
// row may have been written by an earlier write of the same transaction.
// It is not atomic with the update on PostgreSQL, and need not be: it only
// picks the error, the update already decided.
func (s *sqlStore) exists(table, where string, args ...any) writeFunc {
	return func(ctx context.Context, q querier) error {
		var one int
		err := s.rowOn(ctx, q, `SELECT 1 FROM `+table+` WHERE `+where, args...).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return ErrConflict
	}
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
