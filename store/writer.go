package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// querier is what a statement runs on: the pool, a connection's
// transaction, or the writer's batch transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// writeFunc is one logical write. It runs every statement on q, reads
// included: on SQLite q is a transaction other writes share, and what it
// wrote is visible only there until the commit.
type writeFunc func(ctx context.Context, q querier) error

// errClosed: a write arrived after Close.
var errClosed = errors.New("store: closed")

// maxBatch bounds how many writes share one SQLite transaction: enough to
// absorb a burst of concurrent callers, few enough that the first of them
// does not wait long for the last.
const maxBatch = 64

// sqliteWriter owns SQLite's only writing connection in this process and
// commits queued writes in groups.
//
// SQLite allows one writer at a time. With a pool of writing connections,
// writers that find the lock taken wait in SQLite's busy handler, which
// sleeps for fixed steps (1, 2, 5 … 100 ms) and tries again: the lock sits
// idle between a commit and the next poll, and under 50 concurrent writers
// the sleeps grow until concurrent publishes ran at a third of the
// sequential rate. Here writers queue on a Go channel and are woken the
// moment their turn comes; and every write waiting when a transaction
// starts goes into it, each under its own savepoint, so a burst costs one
// fsync instead of one each. Every caller still returns only after the
// COMMIT that made its write durable (synchronous=FULL), so a ledger step
// is on disk before the Graph call it guards.
//
// Other processes sharing the database still meet this one's write lock in
// their busy handler; several processes belong on PostgreSQL.
type sqliteWriter struct {
	db   *sql.DB        // MaxOpenConns(1): the writing connection
	reqs chan *writeReq // buffered: the writer takes what queued as one batch
	// mu orders sends on reqs before close: once closed is set nothing
	// more is queued, and what was queued is still written.
	mu      sync.RWMutex
	closed  bool
	closing chan struct{}
	stopped chan struct{}
	// batches counts transactions, for tests.
	batches atomic.Int64
}

type writeReq struct {
	ctx   context.Context
	fn    writeFunc
	state atomic.Int32 // reqWaiting → reqTaken (by the writer) or reqAbandoned (by the caller)
	err   error
	done  chan struct{}
}

const (
	reqWaiting int32 = iota
	reqTaken
	reqAbandoned
)

func newSQLiteWriter(db *sql.DB) *sqliteWriter {
	w := &sqliteWriter{db: db, reqs: make(chan *writeReq, maxBatch), closing: make(chan struct{}), stopped: make(chan struct{})}
	go w.run()
	return w
}

// write queues fn and returns once its transaction committed (nil), or
// with fn's error (its statements undone), the commit's error, or ctx's
// error if ctx ended before fn started. Once fn started the caller waits
// for the commit: it is a few statements and an fsync away, and answering
// "cancelled" for a write that then commits would be a lie.
func (w *sqliteWriter) write(ctx context.Context, fn writeFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	if err := w.enqueue(ctx, r); err != nil {
		return err
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqWaiting, reqAbandoned) {
			return ctx.Err()
		}
		<-r.done
		return r.err
	}
}

func (w *sqliteWriter) enqueue(ctx context.Context, r *writeReq) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return errClosed
	}
	select {
	case w.reqs <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *sqliteWriter) run() {
	defer close(w.stopped)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		batch = batch[:0]
		closing := false
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
		case <-w.closing:
			closing = true
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		w.commit(batch)
		if closing && len(w.reqs) == 0 {
			return
		}
	}
}

// commit runs a batch and tells each caller.
func (w *sqliteWriter) commit(batch []*writeReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqWaiting, reqTaken) {
			live = append(live, r)
		}
	}
	for len(live) > 0 {
		rest := w.runBatch(live)
		for _, r := range live[:len(live)-len(rest)] {
			close(r.done)
		}
		live = rest
	}
}

// runBatch runs live in one transaction and sets each one's err. It
// returns the tail that did not run because SQLite rolled the whole
// transaction back under an earlier write (it does for some errors, e.g.
// SQLITE_FULL or an I/O error): those that ran get that error, since their
// work is gone too.
func (w *sqliteWriter) runBatch(live []*writeReq) (rest []*writeReq) {
	// The statements must not see the callers' cancellation: the driver
	// interrupts a statement whose context ends, and an interrupted write
	// can roll back the transaction other callers' writes are in.
	bg := context.Background()
	w.batches.Add(1)
	tx, err := w.db.BeginTx(bg, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		for _, r := range live {
			r.err = fmt.Errorf("store: begin write: %w", err)
		}
		return nil
	}
	// One write alone needs no savepoint: a failure rolls the transaction
	// back.
	alone := len(live) == 1
	for i, r := range live {
		ctx := context.WithoutCancel(r.ctx)
		if alone {
			r.err = r.fn(ctx, tx)
			break
		}
		if _, err := tx.ExecContext(bg, `SAVEPOINT w`); err != nil {
			return w.abort(tx, live[:i], live[i:], err)
		}
		r.err = r.fn(ctx, tx)
		if r.err != nil {
			if _, err := tx.ExecContext(bg, `ROLLBACK TO w`); err != nil {
				return w.abort(tx, live[:i+1], live[i+1:], err)
			}
		}
		if _, err := tx.ExecContext(bg, `RELEASE w`); err != nil {
			return w.abort(tx, live[:i+1], live[i+1:], err)
		}
	}
	if alone && live[0].err != nil {
		_ = tx.Rollback()
		return nil
	}
	if err := tx.Commit(); err != nil {
		for _, r := range live {
			if r.err == nil {
				r.err = fmt.Errorf("store: commit: %w", err)
			}
		}
	}
	return nil
}

// abort ends a transaction SQLite no longer has: done's writes are lost,
// rest will run again. With nothing done the transaction cannot even take
// a savepoint: rest fails too, rather than being retried for ever.
func (w *sqliteWriter) abort(tx *sql.Tx, done, rest []*writeReq, cause error) []*writeReq {
	_ = tx.Rollback()
	if len(done) == 0 {
		done, rest = rest, nil
	}
	for _, r := range done {
		if r.err == nil {
			r.err = fmt.Errorf("store: write transaction lost: %w", cause)
		}
	}
	return rest
}

// stop stops taking writes and returns once what was queued is written.
func (w *sqliteWriter) stop() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.closing)
	}
	w.mu.Unlock()
	<-w.stopped
}
