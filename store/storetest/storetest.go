// Package storetest is the conformance suite every store.Store backend must
// pass, so SQLite and PostgreSQL are held to one behaviour, and a helper that
// provides a real PostgreSQL server to run it against.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
)

// Run runs the suite. open must return a new, empty store for each call and
// arrange (t.Cleanup) for it to be closed and removed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"LedgerReserve", testLedgerReserve},
		{"LedgerHappyPath", testLedgerHappyPath},
		{"LedgerFailureAndRetry", testLedgerFailureAndRetry},
		{"LedgerCompareAndSet", testLedgerCAS},
		{"LedgerListStuck", testLedgerListStuck},
		{"LedgerRace", testLedgerRace},
		{"Journal", testJournal},
		{"JournalPaging", testJournalPaging},
		{"SchedulesCreateGetList", testSchedulesCRUD},
		{"ScheduleCancel", testScheduleCancel},
		{"ClaimLifecycle", testClaimLifecycle},
		{"LeaseRecovery", testLeaseRecovery},
		{"MarkMissed", testMarkMissed},
		{"ClaimConcurrency", testClaimConcurrency},
		{"ClaimSkipsAccounts", testClaimSkipsAccounts},
		{"ListByIDPrefix", testListByIDPrefix},
		{"SchedulesCreatedBy", testSchedulesCreatedBy},
		{"MarkMissedSparesSentPublishes", testMarkMissedSparesSent},
		{"Tokens", testTokens},
		{"Meta", testMeta},
		{"RateState", testRateState},
		{"PublishWindow", testPublishWindow},
		{"HashtagSearches", testHashtagSearches},
		{"HashtagForget", testHashtagForget},
		{"HashtagRace", testHashtagRace},
		{"TimeRoundTrip", testTimeRoundTrip},
		{"CanceledContext", testCanceledContext},
	}
	tests = append(tests, eventTests...)
	tests = append(tests, observationTests...)
	tests = append(tests, replicaTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// base has nanoseconds and a non-UTC zone on purpose: the store must
// normalise both.
var base = time.Date(2030, 5, 17, 9, 30, 15, 123456789, time.FixedZone("UTC+2:30", 2*3600+30*60))

// norm is what the store promises to give back for t.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s = %v, want zero", what, got)
		}
		return
	}
	if !got.Equal(norm(want)) || got.Location() != time.UTC {
		t.Errorf("%s = %v (%s), want %v (UTC)", what, got, got.Location(), norm(want))
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// race runs fn on n goroutines released at the same moment.
func race(n int, fn func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			fn(i)
		}()
	}
	start.Done()
	done.Wait()
}

// ---------------------------------------------------------------------------
// Ledger

func testLedgerReserve(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now()
	p, created, err := s.Reserve(ctx, "acct1", "key1", "digest1")
	noErr(t, err)
	if !created || p.State != store.PublishReserved || p.AccountID != "acct1" || p.Key != "key1" || p.InputDigest != "digest1" {
		t.Fatalf("first Reserve = %+v, created=%v", p, created)
	}
	if p.CreatedAt.Before(norm(before)) || p.CreatedAt.After(time.Now()) || p.CreatedAt.Location() != time.UTC || !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Errorf("timestamps = %v / %v", p.CreatedAt, p.UpdatedAt)
	}

	again, created, err := s.Reserve(ctx, "acct1", "key1", "digest1")
	noErr(t, err)
	if created || !again.CreatedAt.Equal(p.CreatedAt) || again.State != store.PublishReserved {
		t.Fatalf("second Reserve = %+v, created=%v", again, created)
	}

	other, created, err := s.Reserve(ctx, "acct1", "key1", "digest2")
	wantErr(t, err, store.ErrConflict)
	if created || other.InputDigest != "digest1" {
		t.Fatalf("Reserve with another digest returned %+v, created=%v; want the existing record", other, created)
	}

	// Keys are per account.
	_, created, err = s.Reserve(ctx, "acct2", "key1", "digest2")
	noErr(t, err)
	if !created {
		t.Fatal("same key on another account was not created")
	}

	_, _, err = s.Reserve(ctx, "acct1", "", "d")
	wantErr(t, err, store.ErrInvalid)
	_, err = s.GetPublish(ctx, "acct1", "nope")
	wantErr(t, err, store.ErrNotFound)
	got := must[store.Publish](t)(s.GetPublish(ctx, "acct1", "key1"))
	if got.InputDigest != "digest1" || got.State != store.PublishReserved {
		t.Fatalf("GetPublish = %+v", got)
	}
}

func testLedgerHappyPath(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Publish](t)
	_, _, err := s.Reserve(ctx, "a", "k", "d")
	noErr(t, err)

	p := ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{
		From: store.PublishReserved, To: store.PublishContainerCreated,
		ContainerID: "c1", ChildIDs: []string{"ch1", "ch2", "ch3"},
	}))
	if p.State != store.PublishContainerCreated || p.ContainerID != "c1" || fmt.Sprint(p.ChildIDs) != "[ch1 ch2 ch3]" {
		t.Fatalf("after container_created: %+v", p)
	}
	p = ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishContainerCreated, To: store.PublishSent}))
	if p.State != store.PublishSent || p.ContainerID != "c1" {
		t.Fatalf("after publish_sent: %+v", p)
	}
	// JSON is stored as given, byte for byte (no re-encoding).
	result := json.RawMessage(`{"media_id": "m1",  "permalink":"https://x/p/1", "n":[1,2.50]}`)
	p = ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{
		From: store.PublishSent, To: store.PublishPublished,
		MediaID: "m1", Permalink: "https://x/p/1", Result: result,
	}))
	got := ok(s.GetPublish(ctx, "a", "k"))
	for _, r := range []store.Publish{p, got} {
		if r.State != store.PublishPublished || r.MediaID != "m1" || r.Permalink != "https://x/p/1" ||
			!bytes.Equal(r.Result, result) || r.ContainerID != "c1" || len(r.ChildIDs) != 3 || r.ErrorKind != "" || r.Error != nil {
			t.Fatalf("published record = %+v (result %s)", r, r.Result)
		}
		if r.UpdatedAt.Before(r.CreatedAt) {
			t.Errorf("UpdatedAt %v before CreatedAt %v", r.UpdatedAt, r.CreatedAt)
		}
	}

	// published is final.
	for _, to := range []store.PublishState{store.PublishReserved, store.PublishFailed, store.PublishSent} {
		_, err := s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishPublished, To: to})
		wantErr(t, err, store.ErrInvalid)
	}
	_, err = s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishSent, To: store.PublishFailed, ErrorKind: "x"})
	wantErr(t, err, store.ErrConflict)
	if r := ok(s.GetPublish(ctx, "a", "k")); r.State != store.PublishPublished || r.ErrorKind != "" {
		t.Fatalf("a lost CAS changed the record: %+v", r)
	}
}

func testLedgerFailureAndRetry(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Publish](t)
	_, _, err := s.Reserve(ctx, "a", "k", "d")
	noErr(t, err)
	ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishReserved, To: store.PublishContainerCreated, ContainerID: "c1"}))
	errJSON := json.RawMessage(`{"kind":"rate_limited","retry_after_seconds":60}`)
	p := ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{
		From: store.PublishContainerCreated, To: store.PublishFailed, ErrorKind: "rate_limited", Error: errJSON,
	}))
	if p.State != store.PublishFailed || p.ErrorKind != "rate_limited" || !bytes.Equal(p.Error, errJSON) || p.ContainerID != "c1" {
		t.Fatalf("failed record = %+v", p)
	}
	// A retry starts clean.
	p = ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishFailed, To: store.PublishReserved}))
	if p.State != store.PublishReserved || p.ErrorKind != "" || p.Error != nil || p.ContainerID != "" || p.ChildIDs != nil {
		t.Fatalf("retried record = %+v", p)
	}
	// An expired container goes back to reserved too.
	ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishReserved, To: store.PublishContainerCreated, ContainerID: "c2", ChildIDs: []string{"x"}}))
	p = ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishContainerCreated, To: store.PublishReserved}))
	if p.ContainerID != "" || p.ChildIDs != nil {
		t.Fatalf("container not cleared: %+v", p)
	}
	// publish_sent can fail definitively, and reserved can fail before any
	// container exists.
	ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishReserved, To: store.PublishContainerCreated, ContainerID: "c3"}))
	ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishContainerCreated, To: store.PublishSent}))
	p = ok(s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishSent, To: store.PublishFailed, ErrorKind: "media_rejected"}))
	if p.State != store.PublishFailed || p.Error != nil {
		t.Fatalf("publish_sent → failed: %+v", p)
	}
	_, _, err = s.Reserve(ctx, "a", "k2", "d")
	noErr(t, err)
	ok(s.AdvancePublish(ctx, "a", "k2", store.PublishStep{From: store.PublishReserved, To: store.PublishFailed, ErrorKind: "invalid_input"}))
}

func testLedgerCAS(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, _, err := s.Reserve(ctx, "a", "k", "d")
	noErr(t, err)
	_, err = s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishContainerCreated, To: store.PublishSent})
	wantErr(t, err, store.ErrConflict)
	_, err = s.AdvancePublish(ctx, "a", "missing", store.PublishStep{From: store.PublishReserved, To: store.PublishContainerCreated, ContainerID: "c"})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishReserved, To: store.PublishPublished})
	wantErr(t, err, store.ErrInvalid)
	_, err = s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishReserved, To: store.PublishContainerCreated})
	wantErr(t, err, store.ErrInvalid) // no container id
	_, err = s.AdvancePublish(ctx, "a", "k", store.PublishStep{From: store.PublishReserved, To: store.PublishFailed, Error: json.RawMessage(`{nope`)})
	wantErr(t, err, store.ErrInvalid)
	if p := must[store.Publish](t)(s.GetPublish(ctx, "a", "k")); p.State != store.PublishReserved {
		t.Fatalf("refused steps changed the record: %+v", p)
	}
}

func testLedgerListStuck(t *testing.T, s store.Store) {
	ctx := t.Context()
	advance := func(acct, key string, to ...store.PublishState) {
		t.Helper()
		_, _, err := s.Reserve(ctx, acct, key, "d")
		noErr(t, err)
		from := store.PublishReserved
		for _, st := range to {
			_, err := s.AdvancePublish(ctx, acct, key, store.PublishStep{From: from, To: st, ContainerID: "c"})
			noErr(t, err)
			from = st
		}
	}
	advance("a", "sent1", store.PublishContainerCreated, store.PublishSent)
	advance("a", "reserved")
	advance("b", "sent2", store.PublishContainerCreated, store.PublishSent)
	advance("b", "done", store.PublishContainerCreated, store.PublishSent, store.PublishPublished)
	got := must[[]store.Publish](t)(s.ListPublishes(ctx, store.PublishSent))
	var keys []string
	for _, p := range got {
		if p.State != store.PublishSent {
			t.Errorf("listed %s in state %s", p.Key, p.State)
		}
		keys = append(keys, p.AccountID+"/"+p.Key)
	}
	if fmt.Sprint(keys) != "[a/sent1 b/sent2]" {
		t.Fatalf("stuck publishes = %v", keys)
	}
	if got := must[[]store.Publish](t)(s.ListPublishes(ctx, store.PublishFailed)); len(got) != 0 {
		t.Fatalf("failed publishes = %v", got)
	}
}

// Two (here eight) processes racing on one key: one creates the record,
// one moves it to container_created, one sends the publish.
func testLedgerRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	for round := range 5 {
		key := fmt.Sprintf("key%d", round)
		var mu sync.Mutex
		created, won := 0, map[store.PublishState]int{}
		race(n, func(int) {
			_, c, err := s.Reserve(ctx, "a", key, "d")
			if err != nil {
				t.Error(err)
				return
			}
			if c {
				mu.Lock()
				created++
				mu.Unlock()
			}
		})
		steps := []store.PublishStep{
			{From: store.PublishReserved, To: store.PublishContainerCreated, ContainerID: "c"},
			{From: store.PublishContainerCreated, To: store.PublishSent},
		}
		for _, step := range steps {
			race(n, func(i int) {
				_, err := s.AdvancePublish(ctx, "a", key, step)
				switch {
				case err == nil:
					mu.Lock()
					won[step.To]++
					mu.Unlock()
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("racer %d: %v", i, err)
				}
			})
		}
		if created != 1 || won[store.PublishContainerCreated] != 1 || won[store.PublishSent] != 1 {
			t.Fatalf("round %d: created %d times, steps won %v; want exactly one each", round, created, won)
		}
	}
}

// ---------------------------------------------------------------------------
// Journal

func testJournal(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.JournalEntry](t)
	// Entries in the past, so the one stamped now is the newest.
	base := time.Date(2024, 2, 29, 23, 59, 59, 987654321, time.FixedZone("UTC-5", -5*3600))
	e1 := ok(s.AppendJournal(ctx, store.JournalEntry{Time: base, AccountID: "a", Action: "publish",
		InputDigest: "d1", GraphIDs: []string{"m1", "c1"}, Outcome: "ok"}))
	if e1.ID == 0 || fmt.Sprint(e1.GraphIDs) != "[m1 c1]" || e1.InputDigest != "d1" || e1.Outcome != "ok" {
		t.Fatalf("appended %+v", e1)
	}
	sameTime(t, "journal time", e1.Time, base)
	e2 := ok(s.AppendJournal(ctx, store.JournalEntry{Time: base.Add(time.Second), AccountID: "b", Action: "comment", Outcome: "error", ErrorKind: "spam_blocked"}))
	e3 := ok(s.AppendJournal(ctx, store.JournalEntry{Time: base.Add(time.Second), AccountID: "a", Action: "moderate", Outcome: "ok"}))
	before := time.Now()
	e4 := ok(s.AppendJournal(ctx, store.JournalEntry{AccountID: "a", Action: "publish", Outcome: "unknown"}))
	if e4.Time.Before(norm(before)) || e4.Time.After(time.Now()) {
		t.Errorf("default time %v not now", e4.Time)
	}
	if !(e1.ID < e2.ID && e2.ID < e3.ID && e3.ID < e4.ID) {
		t.Errorf("ids not increasing: %d %d %d %d", e1.ID, e2.ID, e3.ID, e4.ID)
	}
	_, err := s.AppendJournal(ctx, store.JournalEntry{AccountID: "a"})
	wantErr(t, err, store.ErrInvalid)

	ids := func(q store.JournalQuery) string {
		t.Helper()
		es, next, err := s.ListJournal(ctx, q)
		noErr(t, err)
		if next != "" {
			t.Errorf("unexpected next page %q", next)
		}
		var out []int64
		for _, e := range es {
			out = append(out, e.ID)
		}
		return fmt.Sprint(out)
	}
	// Newest first; e2 and e3 share a time and the later id comes first.
	if got, want := ids(store.JournalQuery{}), fmt.Sprint([]int64{e4.ID, e3.ID, e2.ID, e1.ID}); got != want {
		t.Errorf("all = %s, want %s", got, want)
	}
	if got, want := ids(store.JournalQuery{AccountID: "a"}), fmt.Sprint([]int64{e4.ID, e3.ID, e1.ID}); got != want {
		t.Errorf("account a = %s, want %s", got, want)
	}
	if got, want := ids(store.JournalQuery{AccountID: "a", Action: "publish"}), fmt.Sprint([]int64{e4.ID, e1.ID}); got != want {
		t.Errorf("account a publishes = %s, want %s", got, want)
	}
	if got, want := ids(store.JournalQuery{Action: "comment"}), fmt.Sprint([]int64{e2.ID}); got != want {
		t.Errorf("comments = %s, want %s", got, want)
	}
	if got := ids(store.JournalQuery{AccountID: "nobody"}); got != "[]" {
		t.Errorf("unknown account = %s", got)
	}
	es, _, err := s.ListJournal(ctx, store.JournalQuery{Action: "comment"})
	noErr(t, err)
	if len(es) != 1 || es[0].ErrorKind != "spam_blocked" || es[0].GraphIDs != nil || es[0].AccountID != "b" {
		t.Errorf("comment entry = %+v", es)
	}
	_, _, err = s.ListJournal(ctx, store.JournalQuery{Cursor: "garbage"})
	wantErr(t, err, store.ErrInvalid)
}

func testJournalPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	// 23 entries over 5 distinct times, so pages split runs of equal times.
	var want []int64
	for i := range 23 {
		e, err := s.AppendJournal(ctx, store.JournalEntry{Time: base.Add(time.Duration(i/5) * time.Millisecond), AccountID: "a", Action: "publish"})
		noErr(t, err)
		want = append(want, e.ID)
		if i%4 == 0 { // noise the filter must skip
			_, err := s.AppendJournal(ctx, store.JournalEntry{Time: base.Add(time.Duration(i/5) * time.Millisecond), AccountID: "b", Action: "publish"})
			noErr(t, err)
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i] > want[j] })
	var got []int64
	cursor, pages := "", 0
	for {
		es, next, err := s.ListJournal(ctx, store.JournalQuery{AccountID: "a", Limit: 4, Cursor: cursor})
		noErr(t, err)
		pages++
		if len(es) > 4 {
			t.Fatalf("page of %d entries with limit 4", len(es))
		}
		for _, e := range es {
			got = append(got, e.ID)
		}
		if next == "" {
			break
		}
		cursor = next
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 6 {
		t.Fatalf("paged ids (%d pages) = %v, want %v", pages, got, want)
	}
}

// ---------------------------------------------------------------------------
// Schedules

func newSchedule(id, acct string, at time.Time) store.Schedule {
	return store.Schedule{ID: id, AccountID: acct, Kind: store.KindPost, PublishAt: at,
		Args: json.RawMessage(`{"image_url":"https://e.x/1.jpg","caption":"hi"}`), IdempotencyKey: "idem-" + id}
}

func testSchedulesCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Schedule](t)
	in := newSchedule("s1", "a", base)
	in.Kind = store.KindCarousel
	in.State = store.RunPublished // ignored
	in.Attempts = 7               // ignored
	got := ok(s.CreateSchedule(ctx, in))
	if got.ID != "s1" || got.AccountID != "a" || got.Kind != store.KindCarousel || got.State != store.RunScheduled ||
		!bytes.Equal(got.Args, in.Args) || got.IdempotencyKey != "idem-s1" || got.Attempts != 0 || got.LeaseOwner != "" {
		t.Fatalf("created %+v", got)
	}
	sameTime(t, "PublishAt", got.PublishAt, base)
	sameTime(t, "LeaseExpiresAt", got.LeaseExpiresAt, time.Time{})
	if again := ok(s.GetSchedule(ctx, "s1")); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Fatalf("Get = %+v\nwant %+v", again, got)
	}
	_, err := s.CreateSchedule(ctx, newSchedule("s1", "b", base))
	wantErr(t, err, store.ErrConflict)
	bad := newSchedule("s9", "a", base)
	bad.Kind = "tweet"
	_, err = s.CreateSchedule(ctx, bad)
	wantErr(t, err, store.ErrInvalid)
	_, err = s.CreateSchedule(ctx, newSchedule("s9", "a", time.Time{}))
	wantErr(t, err, store.ErrInvalid)
	_, err = s.GetSchedule(ctx, "s9")
	wantErr(t, err, store.ErrNotFound)

	// Created out of order; listed by publish time.
	ok(s.CreateSchedule(ctx, newSchedule("s4", "b", base.Add(-time.Hour))))
	ok(s.CreateSchedule(ctx, newSchedule("s3", "a", base.Add(2*time.Hour))))
	ok(s.CreateSchedule(ctx, newSchedule("s2", "a", base.Add(time.Hour))))
	ok(s.CancelSchedule(ctx, "s2"))
	list := func(f store.ScheduleFilter) string {
		t.Helper()
		ss, err := s.ListSchedules(ctx, f)
		noErr(t, err)
		var ids []string
		for _, x := range ss {
			ids = append(ids, x.ID)
		}
		return fmt.Sprint(ids)
	}
	for _, c := range []struct {
		f    store.ScheduleFilter
		want string
	}{
		{store.ScheduleFilter{}, "[s4 s1 s2 s3]"},
		{store.ScheduleFilter{AccountID: "a"}, "[s1 s2 s3]"},
		{store.ScheduleFilter{States: []store.RunState{store.RunScheduled}}, "[s4 s1 s3]"},
		{store.ScheduleFilter{AccountID: "a", States: []store.RunState{store.RunCancelled, store.RunMissed}}, "[s2]"},
		{store.ScheduleFilter{Limit: 2}, "[s4 s1]"},
		{store.ScheduleFilter{AccountID: "zzz"}, "[]"},
	} {
		if got := list(c.f); got != c.want {
			t.Errorf("ListSchedules(%+v) = %s, want %s", c.f, got, c.want)
		}
	}
}

// A schedule keeps the token that created it; listing filters by it, and
// "" (an unscoped caller) lists every creator's.
func testSchedulesCreatedBy(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Schedule](t)
	for i, by := range []string{"team-a", "team-b", "", "team-a"} {
		sc := newSchedule(fmt.Sprintf("s%d", i), "a", base.Add(time.Duration(i)*time.Minute))
		sc.CreatedBy = by
		if got := ok(s.CreateSchedule(ctx, sc)); got.CreatedBy != by {
			t.Fatalf("created by %q, want %q", got.CreatedBy, by)
		}
	}
	other := newSchedule("s9", "b", base)
	other.CreatedBy = "team-a"
	ok(s.CreateSchedule(ctx, other))
	if got := ok(s.GetSchedule(ctx, "s1")); got.CreatedBy != "team-b" {
		t.Fatalf("Get: created by %q", got.CreatedBy)
	}
	for _, c := range []struct {
		f    store.ScheduleFilter
		want string
	}{
		{store.ScheduleFilter{AccountID: "a", CreatedBy: "team-a"}, "[s0 s3]"},
		{store.ScheduleFilter{AccountID: "a", CreatedBy: "team-b"}, "[s1]"},
		{store.ScheduleFilter{CreatedBy: "team-a"}, "[s0 s9 s3]"},
		{store.ScheduleFilter{AccountID: "a"}, "[s0 s1 s2 s3]"},
		{store.ScheduleFilter{AccountID: "a", CreatedBy: "team-c"}, "[]"},
	} {
		ss, err := s.ListSchedules(ctx, c.f)
		noErr(t, err)
		var ids []string
		for _, x := range ss {
			ids = append(ids, x.ID)
		}
		if got := fmt.Sprint(ids); got != c.want {
			t.Errorf("ListSchedules(%+v) = %s, want %s", c.f, got, c.want)
		}
	}
	// The lifecycle keeps the creator.
	must[[]store.Schedule](t)(s.ClaimDue(ctx, base, "w", time.Minute, 1))
	if got := ok(s.CompleteSchedule(ctx, "s0", "w", store.RunOutcome{To: store.RunPublished, MediaID: "m"})); got.CreatedBy != "team-a" {
		t.Fatalf("completed: created by %q", got.CreatedBy)
	}
}

func testScheduleCancel(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Schedule](t)
	ok(s.CreateSchedule(ctx, newSchedule("s1", "a", base)))
	c := ok(s.CancelSchedule(ctx, "s1"))
	if c.State != store.RunCancelled {
		t.Fatalf("cancelled = %+v", c)
	}
	_, err := s.CancelSchedule(ctx, "s1")
	wantErr(t, err, store.ErrConflict)
	_, err = s.CancelSchedule(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)
	// Not claimable once cancelled, and not cancellable while publishing.
	if got := must[[]store.Schedule](t)(s.ClaimDue(ctx, base.Add(time.Hour), "w", time.Minute, 10)); len(got) != 0 {
		t.Fatalf("claimed a cancelled schedule: %+v", got)
	}
	ok(s.CreateSchedule(ctx, newSchedule("s2", "a", base)))
	must[[]store.Schedule](t)(s.ClaimDue(ctx, base, "w", time.Minute, 10))
	_, err = s.CancelSchedule(ctx, "s2")
	wantErr(t, err, store.ErrConflict)
}

func testClaimLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Schedule](t)
	claim := must[[]store.Schedule](t)
	ok(s.CreateSchedule(ctx, newSchedule("s2", "a", base.Add(time.Minute))))
	ok(s.CreateSchedule(ctx, newSchedule("s1", "a", base)))
	ok(s.CreateSchedule(ctx, newSchedule("s3", "a", base.Add(time.Hour))))

	now := base.Add(2 * time.Minute)
	got := claim(s.ClaimDue(ctx, now, "A", 30*time.Second, 10))
	if len(got) != 2 || got[0].ID != "s1" || got[1].ID != "s2" {
		t.Fatalf("claimed %+v, want s1 s2", got)
	}
	for _, c := range got {
		if c.State != store.RunPublishing || c.LeaseOwner != "A" {
			t.Errorf("claimed %+v", c)
		}
		sameTime(t, "lease expiry", c.LeaseExpiresAt, now.Add(30*time.Second))
	}
	if again := claim(s.ClaimDue(ctx, now, "B", time.Minute, 10)); len(again) != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}
	_, err := s.ClaimDue(ctx, now, "", time.Minute, 10)
	wantErr(t, err, store.ErrInvalid)
	_, err = s.ClaimDue(ctx, now, "A", time.Minute, 0)
	wantErr(t, err, store.ErrInvalid)

	// Renewal only by the owner.
	_, err = s.RenewLease(ctx, "s1", "B", now, time.Minute)
	wantErr(t, err, store.ErrConflict)
	r := ok(s.RenewLease(ctx, "s1", "A", now.Add(20*time.Second), time.Minute))
	sameTime(t, "renewed expiry", r.LeaseExpiresAt, now.Add(80*time.Second))
	_, err = s.RenewLease(ctx, "s3", "A", now, time.Minute) // not claimed
	wantErr(t, err, store.ErrConflict)
	_, err = s.RenewLease(ctx, "nope", "A", now, time.Minute)
	wantErr(t, err, store.ErrNotFound)

	// Completion only by the owner, only to a final outcome.
	result := json.RawMessage(`{"media_id":"m1"}`)
	_, err = s.CompleteSchedule(ctx, "s1", "B", store.RunOutcome{To: store.RunPublished, MediaID: "m1"})
	wantErr(t, err, store.ErrConflict)
	_, err = s.CompleteSchedule(ctx, "s1", "A", store.RunOutcome{To: store.RunScheduled})
	wantErr(t, err, store.ErrInvalid)
	done := ok(s.CompleteSchedule(ctx, "s1", "A", store.RunOutcome{To: store.RunPublished, MediaID: "m1", Result: result,
		ErrorKind: "ignored"}))
	if done.State != store.RunPublished || done.MediaID != "m1" || !bytes.Equal(done.Result, result) ||
		done.LeaseOwner != "" || !done.LeaseExpiresAt.IsZero() || done.ErrorKind != "" {
		t.Fatalf("completed %+v", done)
	}
	_, err = s.CompleteSchedule(ctx, "s1", "A", store.RunOutcome{To: store.RunFailed})
	wantErr(t, err, store.ErrConflict)
	_, err = s.CompleteSchedule(ctx, "nope", "A", store.RunOutcome{To: store.RunFailed})
	wantErr(t, err, store.ErrNotFound)

	// Release gives it back without counting an attempt; another owner
	// claims it and records a failure.
	_, err = s.ReleaseSchedule(ctx, "s2", "B")
	wantErr(t, err, store.ErrConflict)
	rel := ok(s.ReleaseSchedule(ctx, "s2", "A"))
	if rel.State != store.RunScheduled || rel.LeaseOwner != "" || !rel.LeaseExpiresAt.IsZero() || rel.Attempts != 0 {
		t.Fatalf("released %+v", rel)
	}
	got = claim(s.ClaimDue(ctx, now, "B", time.Minute, 10))
	if len(got) != 1 || got[0].ID != "s2" || got[0].LeaseOwner != "B" {
		t.Fatalf("reclaimed %+v", got)
	}
	errJSON := json.RawMessage(`{"kind":"media_rejected"}`)
	f := ok(s.CompleteSchedule(ctx, "s2", "B", store.RunOutcome{To: store.RunFailed, ErrorKind: "media_rejected", Error: errJSON}))
	if f.State != store.RunFailed || f.ErrorKind != "media_rejected" || !bytes.Equal(f.Error, errJSON) || f.MediaID != "" {
		t.Fatalf("failed %+v", f)
	}
	// The limit is honoured, in due order.
	for i := range 5 {
		ok(s.CreateSchedule(ctx, newSchedule(fmt.Sprintf("l%d", i), "a", base.Add(-time.Duration(i)*time.Second))))
	}
	got = claim(s.ClaimDue(ctx, now, "C", time.Minute, 2))
	if len(got) != 2 || got[0].ID != "l4" || got[1].ID != "l3" {
		t.Fatalf("limited claim = %+v", got)
	}
}

func testLeaseRecovery(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Schedule](t)
	claim := must[[]store.Schedule](t)
	ok(s.CreateSchedule(ctx, newSchedule("s1", "a", base)))
	ok(s.CreateSchedule(ctx, newSchedule("s2", "a", base)))
	now := base.Add(time.Second)
	if got := claim(s.ClaimDue(ctx, now, "A", time.Minute, 10)); len(got) != 2 {
		t.Fatalf("claimed %d", len(got))
	}
	ok(s.RenewLease(ctx, "s2", "A", now, 10*time.Minute))

	if got := claim(s.RecoverExpiredLeases(ctx, now.Add(59*time.Second))); len(got) != 0 {
		t.Fatalf("recovered live leases: %+v", got)
	}
	got := claim(s.RecoverExpiredLeases(ctx, now.Add(time.Minute))) // expiry is inclusive
	if len(got) != 1 || got[0].ID != "s1" || got[0].State != store.RunScheduled || got[0].Attempts != 1 ||
		got[0].LeaseOwner != "" || !got[0].LeaseExpiresAt.IsZero() {
		t.Fatalf("recovered %+v", got)
	}
	// The old owner lost it.
	_, err := s.CompleteSchedule(ctx, "s1", "A", store.RunOutcome{To: store.RunPublished})
	wantErr(t, err, store.ErrConflict)
	_, err = s.RenewLease(ctx, "s1", "A", now, time.Minute)
	wantErr(t, err, store.ErrConflict)

	later := now.Add(2 * time.Minute)
	got = claim(s.ClaimDue(ctx, later, "B", time.Minute, 10))
	if len(got) != 1 || got[0].ID != "s1" || got[0].Attempts != 1 {
		t.Fatalf("reclaimed %+v", got)
	}
	got = claim(s.RecoverExpiredLeases(ctx, later.Add(time.Hour)))
	if len(got) != 2 || got[0].Attempts+got[1].Attempts != 3 {
		t.Fatalf("second recovery %+v", got)
	}
	if got := claim(s.RecoverExpiredLeases(ctx, later.Add(time.Hour))); len(got) != 0 {
		t.Fatalf("recovered twice: %+v", got)
	}
}

func testMarkMissed(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Schedule](t)
	ok(s.CreateSchedule(ctx, newSchedule("old", "a", base)))
	ok(s.CreateSchedule(ctx, newSchedule("edge", "a", base.Add(5*time.Minute))))
	ok(s.CreateSchedule(ctx, newSchedule("late", "a", base.Add(10*time.Minute))))
	ok(s.CreateSchedule(ctx, newSchedule("busy", "a", base.Add(-time.Minute))))
	ok(s.CreateSchedule(ctx, newSchedule("gone", "a", base.Add(-time.Minute))))
	ok(s.CreateSchedule(ctx, newSchedule("zzz", "a", base.Add(20*time.Minute))))
	ok(s.CancelSchedule(ctx, "gone"))
	if got := must[[]store.Schedule](t)(s.ClaimDue(ctx, base.Add(-time.Minute), "w", time.Hour, 1)); len(got) != 1 || got[0].ID != "busy" {
		t.Fatalf("claimed %+v", got)
	}
	// now = base+20m with a grace of 15m: due before base+5m is missed.
	got := must[[]store.Schedule](t)(s.MarkMissed(ctx, base.Add(5*time.Minute)))
	if len(got) != 1 || got[0].ID != "old" || got[0].State != store.RunMissed {
		t.Fatalf("missed %+v, want only old", got)
	}
	if got := must[[]store.Schedule](t)(s.MarkMissed(ctx, base.Add(5*time.Minute))); len(got) != 0 {
		t.Fatalf("marked twice: %+v", got)
	}
	_, err := s.CancelSchedule(ctx, "old")
	wantErr(t, err, store.ErrConflict)
	claimed := must[[]store.Schedule](t)(s.ClaimDue(ctx, base.Add(15*time.Minute), "w", time.Hour, 10))
	var ids []string
	for _, c := range claimed {
		ids = append(ids, c.ID)
	}
	if fmt.Sprint(ids) != "[edge late]" {
		t.Fatalf("claimable after marking = %v", ids)
	}
	for id, want := range map[string]store.RunState{"busy": store.RunPublishing, "gone": store.RunCancelled, "old": store.RunMissed, "zzz": store.RunScheduled} {
		if got := ok(s.GetSchedule(ctx, id)); got.State != want {
			t.Errorf("%s is %s, want %s", id, got.State, want)
		}
	}
}

// Eight claimers over 200 due schedules: each is claimed exactly once.
func testClaimConcurrency(t *testing.T, s store.Store) {
	ctx := t.Context()
	const total, workers = 200, 8
	for i := range total {
		_, err := s.CreateSchedule(ctx, newSchedule(fmt.Sprintf("s%03d", i), fmt.Sprintf("acct%d", i%3), base.Add(time.Duration(i%17)*time.Second)))
		noErr(t, err)
	}
	now := base.Add(time.Minute)
	var mu sync.Mutex
	owner := map[string]string{}
	dups := 0
	race(workers, func(w int) {
		me := fmt.Sprintf("worker%d", w)
		for {
			got, err := s.ClaimDue(ctx, now, me, time.Minute, 7)
			if err != nil {
				t.Errorf("%s: %v", me, err)
				return
			}
			if len(got) == 0 {
				return
			}
			mu.Lock()
			for _, c := range got {
				if _, seen := owner[c.ID]; seen {
					dups++
				}
				owner[c.ID] = me
			}
			mu.Unlock()
		}
	})
	if dups != 0 || len(owner) != total {
		t.Fatalf("%d schedules claimed, %d twice; want %d once each", len(owner), dups, total)
	}
	all := must[[]store.Schedule](t)(s.ListSchedules(ctx, store.ScheduleFilter{}))
	for _, sc := range all {
		if sc.State != store.RunPublishing || sc.LeaseOwner != owner[sc.ID] {
			t.Errorf("%s: state %s owner %q, claimed by %q", sc.ID, sc.State, sc.LeaseOwner, owner[sc.ID])
		}
	}
}

// A claimer that cannot act as some accounts skips their schedules, and
// still gets the later schedules of the accounts it can act as.
func testClaimSkipsAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Schedule](t)
	claim := must[[]store.Schedule](t)
	for i := range 4 {
		ok(s.CreateSchedule(ctx, newSchedule(fmt.Sprintf("x%d", i), "other", base.Add(time.Duration(i)*time.Second))))
	}
	ok(s.CreateSchedule(ctx, newSchedule("m1", "mine", base.Add(time.Minute))))
	ok(s.CreateSchedule(ctx, newSchedule("y1", "third", base.Add(2*time.Minute))))
	now := base.Add(time.Hour)
	got := claim(s.ClaimDue(ctx, now, "A", time.Minute, 1, "other", "third"))
	if len(got) != 1 || got[0].ID != "m1" {
		t.Fatalf("claimed %+v, want m1", got)
	}
	if got := claim(s.ClaimDue(ctx, now, "A", time.Minute, 10, "other", "third")); len(got) != 0 {
		t.Fatalf("claimed skipped accounts: %+v", got)
	}
	if got := claim(s.ClaimDue(ctx, now, "B", time.Minute, 10)); len(got) != 5 {
		t.Fatalf("unfiltered claim got %d, want 5", len(got))
	}
}

func testListByIDPrefix(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Schedule](t)
	for _, id := range []string{"sch_1", "job_1", "sch_2", "sc", "x%_1", "xa_1"} {
		ok(s.CreateSchedule(ctx, newSchedule(id, "a", base)))
	}
	for prefix, want := range map[string]string{"sch_": "[sch_1 sch_2]", "job_": "[job_1]", "x%_": "[x%_1]", "": "[job_1 sc sch_1 sch_2 x%_1 xa_1]"} {
		ss, err := s.ListSchedules(ctx, store.ScheduleFilter{IDPrefix: prefix})
		noErr(t, err)
		var ids []string
		for _, x := range ss {
			ids = append(ids, x.ID)
		}
		sort.Strings(ids)
		if fmt.Sprint(ids) != want {
			t.Errorf("IDPrefix %q = %v, want %s", prefix, ids, want)
		}
	}
}

// A schedule whose publish was sent (the ledger says so) is not missed: the
// process that sent it died, the post may be live, and resuming decides.
func testMarkMissedSparesSent(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.Schedule](t)
	states := []store.PublishState{"", store.PublishReserved, store.PublishContainerCreated, store.PublishSent, store.PublishPublished, store.PublishFailed}
	for i, st := range states {
		sc := ok(s.CreateSchedule(ctx, newSchedule(fmt.Sprintf("s%d", i), "a", base)))
		if st == "" {
			continue
		}
		_, _, err := s.Reserve(ctx, "a", sc.IdempotencyKey, "d")
		noErr(t, err)
		path := map[store.PublishState][]store.PublishState{
			store.PublishReserved:         nil,
			store.PublishContainerCreated: {store.PublishContainerCreated},
			store.PublishSent:             {store.PublishContainerCreated, store.PublishSent},
			store.PublishPublished:        {store.PublishContainerCreated, store.PublishSent, store.PublishPublished},
			store.PublishFailed:           {store.PublishFailed},
		}[st]
		from := store.PublishReserved
		for _, to := range path {
			_, err := s.AdvancePublish(ctx, "a", sc.IdempotencyKey, store.PublishStep{From: from, To: to, ContainerID: "c1", MediaID: "m1"})
			noErr(t, err)
			from = to
		}
	}
	// Same key on another account does not count.
	_, _, err := s.Reserve(ctx, "b", "idem-s0", "d")
	noErr(t, err)
	got := must[[]store.Schedule](t)(s.MarkMissed(ctx, base.Add(time.Hour)))
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID)
	}
	if fmt.Sprint(ids) != "[s0 s1 s2 s5]" {
		t.Fatalf("missed %v, want [s0 s1 s2 s5] (s3 publish_sent and s4 published spared)", ids)
	}
}

// ---------------------------------------------------------------------------
// Tokens

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.TokenRecord](t)
	cipher := make([]byte, 256)
	for i := range cipher {
		cipher[i] = byte(255 - i) // every byte value, NULs included
	}
	before := time.Now()
	in := store.TokenRecord{AccountID: "a", Username: "alice", LoginFlow: "instagram_login", Ciphertext: cipher,
		ExpiresAt: base, Scopes: []string{"instagram_business_basic", "instagram_business_content_publish"}}
	put := ok(s.PutToken(ctx, in))
	got := ok(s.GetToken(ctx, "a"))
	for _, r := range []store.TokenRecord{put, got} {
		if r.AccountID != "a" || r.Username != "alice" || r.LoginFlow != "instagram_login" || !bytes.Equal(r.Ciphertext, cipher) ||
			fmt.Sprint(r.Scopes) != fmt.Sprint(in.Scopes) {
			t.Fatalf("token %+v", r)
		}
		sameTime(t, "ExpiresAt", r.ExpiresAt, base)
		if r.UpdatedAt.Before(norm(before)) || r.UpdatedAt.After(time.Now()) {
			t.Errorf("UpdatedAt %v not now", r.UpdatedAt)
		}
	}
	// Replace: everything is overwritten, including clearing optional fields.
	got = ok(s.PutToken(ctx, store.TokenRecord{AccountID: "a", Username: "alice2", LoginFlow: "facebook_login", Ciphertext: []byte{1}}))
	if got.Username != "alice2" || got.LoginFlow != "facebook_login" || !bytes.Equal(got.Ciphertext, []byte{1}) ||
		!got.ExpiresAt.IsZero() || got.Scopes != nil {
		t.Fatalf("replaced %+v", got)
	}
	if again := ok(s.GetToken(ctx, "a")); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Fatalf("Get after replace = %+v\nwant %+v", again, got)
	}
	ok(s.PutToken(ctx, store.TokenRecord{AccountID: "0first", Username: "z", LoginFlow: "x", Ciphertext: []byte{2}}))
	list := must[[]store.TokenRecord](t)(s.ListTokens(ctx))
	if len(list) != 2 || list[0].AccountID != "0first" || list[1].AccountID != "a" {
		t.Fatalf("list %+v", list)
	}
	_, err := s.PutToken(ctx, store.TokenRecord{AccountID: "b", Username: "b"})
	wantErr(t, err, store.ErrInvalid)
	noErr(t, s.DeleteToken(ctx, "a"))
	wantErr(t, s.DeleteToken(ctx, "a"), store.ErrNotFound)
	_, err = s.GetToken(ctx, "a")
	wantErr(t, err, store.ErrNotFound)
	if list := must[[]store.TokenRecord](t)(s.ListTokens(ctx)); len(list) != 1 {
		t.Fatalf("list after delete %+v", list)
	}
}

func testMeta(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetMeta(ctx, "key_check")
	wantErr(t, err, store.ErrNotFound)
	noErr(t, s.PutMeta(ctx, "key_check", []byte{0, 1, 2, 0xff}))
	if v := must[[]byte](t)(s.GetMeta(ctx, "key_check")); !bytes.Equal(v, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("meta = %x", v)
	}
	noErr(t, s.PutMeta(ctx, "key_check", []byte("v2")))
	if v := must[[]byte](t)(s.GetMeta(ctx, "key_check")); string(v) != "v2" {
		t.Fatalf("meta after overwrite = %q", v)
	}
	noErr(t, s.PutMeta(ctx, "empty", nil))
	if v := must[[]byte](t)(s.GetMeta(ctx, "empty")); len(v) != 0 {
		t.Fatalf("empty meta = %q", v)
	}
	v, created, err := s.PutMetaIfAbsent(ctx, "key_check", []byte("other"))
	noErr(t, err)
	if created || string(v) != "v2" {
		t.Fatalf("PutMetaIfAbsent on existing = %q, %v", v, created)
	}
	// Racers initialising one value agree on a single winner.
	var mu sync.Mutex
	wins := 0
	seen := map[string]bool{}
	race(8, func(i int) {
		v, created, err := s.PutMetaIfAbsent(ctx, "race", []byte(fmt.Sprint("value", i)))
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if created {
			wins++
		}
		seen[string(v)] = true
	})
	if wins != 1 || len(seen) != 1 {
		t.Fatalf("%d winners, values seen %v", wins, seen)
	}
	_, err = s.GetMeta(ctx, "")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.PutMeta(ctx, "", []byte("x")), store.ErrInvalid)
}

// ---------------------------------------------------------------------------
// Rate limits

func testRateState(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok := must[store.RateState](t)
	_, err := s.GetRateState(ctx, "a")
	wantErr(t, err, store.ErrNotFound)

	t1 := base
	noErr(t, s.RecordUsage(ctx, "a", 40, 12, t1))
	r := ok(s.GetRateState(ctx, "a"))
	if r.AccountID != "a" || r.AppUsagePct != 40 || r.BusinessUsagePct != 12 || !r.BlockedUntil.IsZero() || r.UpdatedAt.IsZero() {
		t.Fatalf("rate state %+v", r)
	}
	sameTime(t, "UsageAt", r.UsageAt, t1)
	// An older observation arriving late does not win.
	noErr(t, s.RecordUsage(ctx, "a", 5, 5, t1.Add(-time.Second)))
	if r := ok(s.GetRateState(ctx, "a")); r.AppUsagePct != 40 {
		t.Fatalf("older usage overwrote newer: %+v", r)
	}
	noErr(t, s.RecordUsage(ctx, "a", 90, 70, t1.Add(time.Second)))
	if r := ok(s.GetRateState(ctx, "a")); r.AppUsagePct != 90 || r.BusinessUsagePct != 70 {
		t.Fatalf("newer usage ignored: %+v", r)
	}

	b1 := base.Add(10 * time.Minute)
	noErr(t, s.BlockUntil(ctx, "a", b1))
	noErr(t, s.BlockUntil(ctx, "a", b1.Add(-time.Minute))) // never shortens
	r = ok(s.GetRateState(ctx, "a"))
	sameTime(t, "BlockedUntil", r.BlockedUntil, b1)
	if r.AppUsagePct != 90 {
		t.Fatalf("block cleared usage: %+v", r)
	}
	noErr(t, s.BlockUntil(ctx, "a", b1.Add(time.Hour)))
	noErr(t, s.RecordUsage(ctx, "a", 1, 1, t1.Add(time.Hour)))
	r = ok(s.GetRateState(ctx, "a"))
	sameTime(t, "BlockedUntil after usage", r.BlockedUntil, b1.Add(time.Hour))
	if r.AppUsagePct != 1 {
		t.Fatalf("usage after block %+v", r)
	}

	// A block may come first.
	noErr(t, s.BlockUntil(ctx, "b", b1))
	r = ok(s.GetRateState(ctx, "b"))
	if r.AppUsagePct != 0 || !r.UsageAt.IsZero() {
		t.Fatalf("block-only state %+v", r)
	}
	sameTime(t, "BlockedUntil of b", r.BlockedUntil, b1)
	wantErr(t, s.RecordUsage(ctx, "", 1, 1, t1), store.ErrInvalid)
	wantErr(t, s.BlockUntil(ctx, "a", time.Time{}), store.ErrInvalid)
}

func testPublishWindow(t *testing.T, s store.Store) {
	ctx := t.Context()
	count := must[int](t)
	now := base
	for _, d := range []time.Duration{-25 * time.Hour, -23 * time.Hour, -time.Hour, 0} {
		noErr(t, s.RecordPublish(ctx, "a", now.Add(d)))
	}
	noErr(t, s.RecordPublish(ctx, "b", now))
	if n := count(s.CountPublishes(ctx, "a", now.Add(-24*time.Hour))); n != 3 {
		t.Errorf("24h count = %d, want 3", n)
	}
	if n := count(s.CountPublishes(ctx, "a", now.Add(-time.Hour))); n != 2 { // since is inclusive
		t.Errorf("1h count = %d, want 2", n)
	}
	if n := count(s.CountPublishes(ctx, "b", now.Add(-24*time.Hour))); n != 1 {
		t.Errorf("b count = %d, want 1", n)
	}
	if n := must[int64](t)(s.PrunePublishes(ctx, now.Add(-24*time.Hour))); n != 1 {
		t.Errorf("pruned %d, want 1", n)
	}
	if n := count(s.CountPublishes(ctx, "a", time.Time{}.Add(time.Hour))); n != 3 {
		t.Errorf("count after prune = %d, want 3", n)
	}
	// Processes record concurrently; nothing is lost.
	race(8, func(i int) {
		for range 5 {
			if err := s.RecordPublish(ctx, "c", now); err != nil {
				t.Error(err)
			}
		}
	})
	if n := count(s.CountPublishes(ctx, "c", now)); n != 40 {
		t.Errorf("concurrent count = %d, want 40", n)
	}
	wantErr(t, s.RecordPublish(ctx, "c", time.Time{}), store.ErrInvalid)
}

// ---------------------------------------------------------------------------
// Hashtag searches

// hashtagNames renders searches as "name@offset-from-base id" for compact
// comparisons.
func hashtagNames(hs []store.HashtagSearch) string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s@%v:%s", h.Name, h.At.Sub(norm(base)), h.HashtagID))
	}
	return fmt.Sprint(out)
}

func testHashtagSearches(t *testing.T, s store.Store) {
	ctx := t.Context()
	list := must[[]store.HashtagSearch](t)
	// The first search is the one that counts: a later one keeps its time
	// but brings the id, an earlier one (another process, out of order)
	// moves the time back, an empty id never erases one.
	steps := []struct {
		name, id string
		at       time.Duration
		want     string
	}{
		{"coffee", "1", 0, "[coffee@0s:1]"},
		{"coffee", "2", time.Hour, "[coffee@0s:2]"},
		{"coffee", "", -time.Hour, "[coffee@-1h0m0s:2]"},
		{"tea", "", 2 * time.Hour, "[coffee@-1h0m0s:2 tea@2h0m0s:]"},
		{"abc", "3", 2 * time.Hour, "[coffee@-1h0m0s:2 abc@2h0m0s:3 tea@2h0m0s:]"}, // same time: by name
	}
	for _, st := range steps {
		noErr(t, s.RecordHashtagSearch(ctx, "a", st.name, st.id, base.Add(st.at)))
		if got := hashtagNames(list(s.HashtagSearches(ctx, "a", base.Add(-24*time.Hour)))); got != st.want {
			t.Fatalf("after %s at %v: %s, want %s", st.name, st.at, got, st.want)
		}
	}
	got := list(s.HashtagSearches(ctx, "a", base))
	if hashtagNames(got) != "[abc@2h0m0s:3 tea@2h0m0s:]" { // since is inclusive and cuts coffee
		t.Fatalf("since base: %s", hashtagNames(got))
	}
	if got[0].AccountID != "a" {
		t.Errorf("AccountID = %q", got[0].AccountID)
	}
	sameTime(t, "At", got[0].At, base.Add(2*time.Hour))
	// Accounts are separate.
	noErr(t, s.RecordHashtagSearch(ctx, "b", "coffee", "9", base.Add(5*time.Hour)))
	if got := hashtagNames(list(s.HashtagSearches(ctx, "b", time.Time{}))); got != "[coffee@5h0m0s:9]" {
		t.Fatalf("account b: %s", got)
	}
	if got := list(s.HashtagSearches(ctx, "nobody", time.Time{})); len(got) != 0 {
		t.Fatalf("unknown account: %+v", got)
	}

	// Pruning forgets what left the window, for every account.
	if n := must[int64](t)(s.PruneHashtagSearches(ctx, base.Add(2*time.Hour))); n != 1 {
		t.Errorf("pruned %d, want 1 (coffee of a)", n)
	}
	if got := hashtagNames(list(s.HashtagSearches(ctx, "a", time.Time{}))); got != "[abc@2h0m0s:3 tea@2h0m0s:]" {
		t.Fatalf("a after prune: %s", got)
	}
	if n := must[int64](t)(s.PruneHashtagSearches(ctx, base.Add(6*time.Hour))); n != 3 {
		t.Errorf("pruned %d, want 3", n)
	}
	// After a prune a name starts over at its new time.
	noErr(t, s.RecordHashtagSearch(ctx, "a", "abc", "", base.Add(8*time.Hour)))
	if got := hashtagNames(list(s.HashtagSearches(ctx, "a", time.Time{}))); got != "[abc@8h0m0s:]" {
		t.Fatalf("a re-searched after prune: %s", got)
	}

	wantErr(t, s.RecordHashtagSearch(ctx, "", "x", "1", base), store.ErrInvalid)
	wantErr(t, s.RecordHashtagSearch(ctx, "a", "", "1", base), store.ErrInvalid)
	wantErr(t, s.RecordHashtagSearch(ctx, "a", "x", "1", time.Time{}), store.ErrInvalid)
}

// Forgetting keeps what Instagram still lists and whatever is newer than
// the list, and only touches the one account.
func testHashtagForget(t *testing.T, s store.Store) {
	ctx := t.Context()
	forget := must[int64](t)
	var many []string
	for i := range 40 { // more than Instagram's 30: the query takes any number
		many = append(many, fmt.Sprintf("17843%012d", i))
	}
	// Instagram lists hashtags by id (recently_searched_hashtags): what is
	// kept is decided by id, and a search that found nothing ("") is never
	// listed.
	for i, x := range [][2]string{{"old", "101"}, {"listed", "102"}, {"late", "103"}, {"tag07", many[7]}, {"nothing", ""}} {
		noErr(t, s.RecordHashtagSearch(ctx, "a", x[0], x[1], base.Add(time.Duration(min(i, 3))*time.Hour)))
	}
	noErr(t, s.RecordHashtagSearch(ctx, "b", "old", "101", base))
	// The list was read at base+2h: "late" (base+2h) may be newer than it.
	tests := []struct {
		keep   []string
		before time.Duration
		gone   int64
		left   string
	}{
		{append([]string{"102"}, many...), 2 * time.Hour, 1, "[listed@1h0m0s:102 late@2h0m0s:103 nothing@3h0m0s: tag07@3h0m0s:17843000000000007]"},
		{[]string{"102", "x'); DROP TABLE hashtag_searches; --"}, 2 * time.Hour, 0, "[listed@1h0m0s:102 late@2h0m0s:103 nothing@3h0m0s: tag07@3h0m0s:17843000000000007]"},
		{[]string{"old", "listed"}, 2 * time.Hour, 1, "[late@2h0m0s:103 nothing@3h0m0s: tag07@3h0m0s:17843000000000007]"}, // names are not ids
		{[]string{many[7]}, 4 * time.Hour, 2, "[tag07@3h0m0s:17843000000000007]"},
		{nil, 4 * time.Hour, 1, "[]"},
	}
	for i, tc := range tests {
		if n := forget(s.ForgetHashtagSearches(ctx, "a", tc.keep, base.Add(tc.before))); n != tc.gone {
			t.Errorf("step %d: forgot %d, want %d", i, n, tc.gone)
		}
		if got := hashtagNames(must[[]store.HashtagSearch](t)(s.HashtagSearches(ctx, "a", time.Time{}))); got != tc.left {
			t.Fatalf("step %d: left %s, want %s", i, got, tc.left)
		}
	}
	if got := must[[]store.HashtagSearch](t)(s.HashtagSearches(ctx, "b", time.Time{})); len(got) != 1 {
		t.Fatalf("forgetting a's searches touched b: %+v", got)
	}
	_, err := s.ForgetHashtagSearches(ctx, "", nil, base)
	wantErr(t, err, store.ErrInvalid)
}

// Processes recording one name at once keep one row with the earliest time.
func testHashtagRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	race(8, func(i int) {
		for j := range 5 {
			at := base.Add(time.Duration(i*5+j) * time.Minute)
			if err := s.RecordHashtagSearch(ctx, "a", "coffee", fmt.Sprint(i), at); err != nil {
				t.Error(err)
			}
		}
	})
	got := must[[]store.HashtagSearch](t)(s.HashtagSearches(ctx, "a", time.Time{}))
	if len(got) != 1 || got[0].Name != "coffee" || got[0].HashtagID == "" {
		t.Fatalf("after the race: %+v", got)
	}
	sameTime(t, "earliest", got[0].At, base)
}

// ---------------------------------------------------------------------------
// Cross-cutting

func testTimeRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	zones := []*time.Location{time.UTC, time.FixedZone("minus", -7*3600-1800), time.FixedZone("plus", 13*3600)}
	times := []time.Time{
		base,
		time.Date(2026, 3, 29, 1, 59, 59, 999999999, zones[1]),
		time.Date(1969, 12, 31, 23, 59, 59, 999999500, zones[0]), // before the epoch
		time.Date(1900, 1, 1, 0, 0, 0, 1000, zones[2]),
		time.Date(2999, 12, 31, 23, 59, 59, 999999000, zones[0]),
		time.Now(), // has a monotonic reading
	}
	for i, tm := range times {
		id := fmt.Sprintf("t%d", i)
		sc, err := s.CreateSchedule(ctx, newSchedule(id, "a", tm))
		noErr(t, err)
		sameTime(t, id+" PublishAt (create)", sc.PublishAt, tm)
		sc = must[store.Schedule](t)(s.GetSchedule(ctx, id))
		sameTime(t, id+" PublishAt (get)", sc.PublishAt, tm)

		tok, err := s.PutToken(ctx, store.TokenRecord{AccountID: id, Username: "u", LoginFlow: "f", Ciphertext: []byte{1}, ExpiresAt: tm})
		noErr(t, err)
		sameTime(t, id+" ExpiresAt (put)", tok.ExpiresAt, tm)
		tok = must[store.TokenRecord](t)(s.GetToken(ctx, id))
		sameTime(t, id+" ExpiresAt (get)", tok.ExpiresAt, tm)

		e, err := s.AppendJournal(ctx, store.JournalEntry{Time: tm, AccountID: id, Action: "publish"})
		noErr(t, err)
		sameTime(t, id+" journal time", e.Time, tm)
		es, _, err := s.ListJournal(ctx, store.JournalQuery{AccountID: id})
		noErr(t, err)
		if len(es) != 1 {
			t.Fatalf("journal of %s: %+v", id, es)
		}
		sameTime(t, id+" journal time (list)", es[0].Time, tm)

		noErr(t, s.RecordUsage(ctx, id, 1, 2, tm))
		noErr(t, s.BlockUntil(ctx, id, tm))
		r := must[store.RateState](t)(s.GetRateState(ctx, id))
		sameTime(t, id+" UsageAt", r.UsageAt, tm)
		sameTime(t, id+" BlockedUntil", r.BlockedUntil, tm)

		noErr(t, s.RecordHashtagSearch(ctx, id, "tag", "1", tm))
		if hs := must[[]store.HashtagSearch](t)(s.HashtagSearches(ctx, id, tm)); len(hs) != 1 {
			t.Errorf("%s: hashtag search at %v not found since itself", id, tm)
		} else {
			sameTime(t, id+" hashtag search", hs[0].At, tm)
		}

		noErr(t, s.RecordPublish(ctx, id, tm))
		// Counting from the stored time itself must include it: the
		// comparison sees the same truncation as the stored value.
		if n := must[int](t)(s.CountPublishes(ctx, id, tm)); n != 1 {
			t.Errorf("%s: publish at %v not counted since itself", id, tm)
		}
	}
	// Claims compare in time order across the whole range, and the lease
	// expiry round-trips too.
	got := must[[]store.Schedule](t)(s.ClaimDue(ctx, times[2], "w", 1500*time.Microsecond, 10))
	if len(got) != 2 || got[0].ID != "t3" || got[1].ID != "t2" {
		t.Fatalf("claimed before the epoch: %+v", got)
	}
	sameTime(t, "lease expiry", got[1].LeaseExpiresAt, times[2].Add(1500*time.Microsecond))
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetSchedule(ctx, "x"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSchedule with a canceled context: %v", err)
	}
	if _, err := s.ClaimDue(ctx, base, "w", time.Minute, 1); err == nil {
		t.Error("ClaimDue with a canceled context succeeded")
	}
	// The store is still usable afterwards.
	if _, err := s.CreateSchedule(t.Context(), newSchedule("after", "a", base)); err != nil {
		t.Fatal(err)
	}
}
