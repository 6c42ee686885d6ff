package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// These tests drive the SQLite writer's queue directly: they hold the
// writer inside one write so that the next ones queue up, then let go and
// look at what each caller was told and what the database holds.

func openSQLiteForTest(t *testing.T, dir string) *sqlStore {
	t.Helper()
	st, err := openSQLite(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return st.(*sqlStore)
}

// hold keeps the writer busy in a write until release is called; release
// returns once that write committed.
func hold(t *testing.T, s *sqlStore) (release func()) {
	t.Helper()
	started, rel, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.write(context.Background(), func(context.Context, querier) error {
			close(started)
			<-rel
			return nil
		})
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the writer never ran the holding write")
	}
	return func() {
		close(rel)
		if err := <-done; err != nil {
			t.Errorf("holding write: %v", err)
		}
	}
}

// waitQueued waits until n writes wait in the writer's queue.
func waitQueued(t *testing.T, w *sqliteWriter, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(w.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(w.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func insertMeta(name string) writeFunc {
	return func(ctx context.Context, q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES (?, ?)`, name, []byte(name))
		return err
	}
}

// metaNames lists which of names the database holds.
func metaNames(t *testing.T, s *sqlStore, names ...string) []string {
	t.Helper()
	var have []string
	for _, n := range names {
		_, err := s.GetMeta(t.Context(), n)
		switch {
		case err == nil:
			have = append(have, n)
		case !errors.Is(err, ErrNotFound):
			t.Fatal(err)
		}
	}
	return have
}

var errBoom = errors.New("boom")

// Writes that queue while another runs share one transaction, and one that
// fails is undone alone: the others still commit.
func TestWriterBatchUndoesOnlyTheFailedWrite(t *testing.T) {
	s := openSQLiteForTest(t, t.TempDir())
	defer s.Close()
	release := hold(t, s)
	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.write(context.Background(), func(ctx context.Context, q querier) error {
				if err := insertMeta(fmt.Sprint("k", i))(ctx, q); err != nil {
					return err
				}
				if i == 2 {
					return errBoom // after its insert: the insert must be undone
				}
				return nil
			})
		})
	}
	waitQueued(t, s.w, len(errs))
	before := s.w.batches.Load()
	release()
	wg.Wait()
	for i, err := range errs {
		if want := error(nil); i == 2 {
			if !errors.Is(err, errBoom) {
				t.Errorf("write %d: %v, want boom", i, err)
			}
		} else if err != want {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if got := fmt.Sprint(metaNames(t, s, "k0", "k1", "k2", "k3", "k4")); got != "[k0 k1 k3 k4]" {
		t.Errorf("committed %s, want [k0 k1 k3 k4]", got)
	}
	if n := s.w.batches.Load() - before; n != 1 {
		t.Errorf("the five queued writes took %d transactions, want 1", n)
	}
}

// When SQLite drops the whole transaction under a write (here the write
// ends it itself), the writes before it are reported lost and are not in
// the database, and the writes after it run in a new transaction.
func TestWriterLostTransaction(t *testing.T) {
	s := openSQLiteForTest(t, t.TempDir())
	defer s.Close()
	release := hold(t, s)
	fns := []writeFunc{
		insertMeta("before"),
		func(ctx context.Context, q querier) error {
			if err := insertMeta("dropper")(ctx, q); err != nil {
				return err
			}
			_, err := q.ExecContext(ctx, `ROLLBACK`)
			return err
		},
		insertMeta("after"),
	}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = s.write(context.Background(), fn) })
		waitQueued(t, s.w, i+1) // queue in this order
	}
	release()
	wg.Wait()
	if errs[0] == nil || errs[1] == nil || errs[2] != nil {
		t.Errorf("errors %v, want [lost lost nil]", errs)
	}
	if got := fmt.Sprint(metaNames(t, s, "before", "dropper", "after")); got != "[after]" {
		t.Errorf("committed %s, want [after]", got)
	}
}

// A caller whose context ends while its write waits gets the context's
// error, and the write never runs.
func TestWriterAbandonedWrite(t *testing.T) {
	s := openSQLiteForTest(t, t.TempDir())
	defer s.Close()
	release := hold(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.write(ctx, insertMeta("abandoned")) }()
	waitQueued(t, s.w, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("abandoned write: %v, want context.Canceled", err)
	}
	release()
	// A later write has gone through the writer after the abandoned one.
	if err := s.write(context.Background(), insertMeta("later")); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(metaNames(t, s, "abandoned", "later")); got != "[later]" {
		t.Errorf("committed %s, want [later]", got)
	}
}

// Close writes what was queued before it, then refuses new writes.
func TestWriterCloseWritesQueued(t *testing.T) {
	dir := t.TempDir()
	s := openSQLiteForTest(t, dir)
	release := hold(t, s)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = s.write(context.Background(), insertMeta(fmt.Sprint("q", i))) })
	}
	waitQueued(t, s.w, len(errs))
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for !s.w.isClosed() {
		if time.Now().After(deadline) {
			t.Fatal("Close did not mark the writer closed")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.w.write(context.Background(), insertMeta("refused")); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v, want errClosed", err)
	}
	release()
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued write %d: %v", i, err)
		}
	}
	s = openSQLiteForTest(t, dir)
	defer s.Close()
	if got := fmt.Sprint(metaNames(t, s, "q0", "q1", "q2", "refused")); got != "[q0 q1 q2]" {
		t.Errorf("after reopen %s, want [q0 q1 q2]", got)
	}
}

// Two reservations of one key, and two compare-and-sets from one state, in
// the same batch: the second of each sees the first's uncommitted row and
// loses, as it would one transaction later.
func TestWriterBatchSeesEarlierWrites(t *testing.T) {
	s := openSQLiteForTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	release := hold(t, s)
	type reserved struct {
		p       Publish
		created bool
		err     error
	}
	res := make([]reserved, 2)
	var wg sync.WaitGroup
	for i := range res {
		wg.Go(func() {
			p, created, err := s.Reserve(ctx, "a", "k", "digest")
			res[i] = reserved{p, created, err}
		})
	}
	waitQueued(t, s.w, 2)
	release()
	wg.Wait()
	if res[0].err != nil || res[1].err != nil || res[0].created == res[1].created ||
		res[0].p.State != PublishReserved || res[1].p.State != PublishReserved {
		t.Fatalf("two reservations in one batch: %+v", res)
	}

	release = hold(t, s)
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.AdvancePublish(ctx, "a", "k", PublishStep{From: PublishReserved, To: PublishContainerCreated, ContainerID: fmt.Sprint("c", i)})
		})
	}
	waitQueued(t, s.w, 2)
	release()
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), ErrConflict) {
		t.Fatalf("two compare-and-sets in one batch: %v", errs)
	}
}

// The read pool cannot write: a write routed there by mistake fails instead
// of racing the writer for SQLite's lock.
func TestReadPoolIsReadOnly(t *testing.T) {
	s := openSQLiteForTest(t, filepath.Join(t.TempDir(), "d"))
	defer s.Close()
	if _, err := s.rdb.ExecContext(t.Context(), `INSERT INTO meta (name, value) VALUES ('x', x'00')`); err == nil {
		t.Fatal("the read pool accepted an INSERT")
	}
}

func (w *sqliteWriter) isClosed() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.closed
}
