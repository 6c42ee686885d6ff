package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
)

// What several replicas share beyond publishing: MCP tasks, confirmation
// dialogs, and the signals of the bus.
var replicaTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"TasksCreateGet", testTasksCreateGet},
	{"TasksInvalid", testTasksInvalid},
	{"TasksListPaging", testTasksListPaging},
	{"TasksCancelOnce", testTasksCancelOnce},
	{"TasksPrune", testTasksPrune},
	{"ConfirmationsSingleUse", testConfirmationsSingleUse},
	{"ConfirmationsRace", testConfirmationsRace},
	{"ConfirmationsPrune", testConfirmationsPrune},
	{"SignalsReachWatchers", testSignalsReachWatchers},
	{"JobCancelledByItsWorker", testJobCancelledByItsWorker},
}

func testTasksCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now()
	in := store.Task{ID: "job_aaaa", Owner: "team-a", AccountID: "17841400000000001", Protocol: "2025-11-25",
		Tool: "publish_reel", TTL: time.Hour, PollInterval: 5 * time.Second,
		ProgressToken: json.RawMessage(`"tok-1"`), SessionID: "mcp-session-1"}
	got := must[store.Task](t)(s.CreateTask(ctx, in))
	read := must[store.Task](t)(s.GetTask(ctx, "job_aaaa"))
	for what, tk := range map[string]store.Task{"created": got, "read": read} {
		if tk.ID != in.ID || tk.Owner != in.Owner || tk.AccountID != in.AccountID || tk.Protocol != in.Protocol ||
			tk.Tool != in.Tool || tk.TTL != time.Hour || tk.PollInterval != 5*time.Second ||
			string(tk.ProgressToken) != `"tok-1"` || tk.SessionID != in.SessionID || tk.Status != "" || tk.Result != nil {
			t.Errorf("%s task = %+v, want the fields of %+v", what, tk, in)
		}
		if tk.CreatedAt.Before(norm(before)) || tk.CreatedAt.After(time.Now()) || !tk.ExpiresAt.Equal(tk.CreatedAt.Add(time.Hour)) ||
			!tk.CancelRequestedAt.IsZero() || tk.CreatedAt.Location() != time.UTC {
			t.Errorf("%s task times: created %v expires %v cancel %v", what, tk.CreatedAt, tk.ExpiresAt, tk.CancelRequestedAt)
		}
	}
	// A call answered at once keeps its result byte for byte.
	result := `{"content":[{"type":"text","text":"d\u00e9j\u00e0"}],"isError":true}`
	done := must[store.Task](t)(s.CreateTask(ctx, store.Task{ID: "task_b", Protocol: "2025-11-25", Tool: "create_post",
		TTL: time.Minute, PollInterval: time.Second, Status: store.TaskFailed, Result: json.RawMessage(result)}))
	if done.Status != store.TaskFailed || string(done.Result) != result || done.ProgressToken != nil {
		t.Errorf("answered task = %+v", done)
	}
	_, err := s.CreateTask(ctx, in)
	wantErr(t, err, store.ErrConflict)
	_, err = s.GetTask(ctx, "job_missing")
	wantErr(t, err, store.ErrNotFound)
}

func testTasksInvalid(t *testing.T, s store.Store) {
	ok := store.Task{ID: "x", Protocol: "2025-11-25", Tool: "create_post", TTL: time.Minute, PollInterval: time.Second}
	for name, mut := range map[string]func(*store.Task){
		"no id":          func(k *store.Task) { k.ID = "" },
		"no protocol":    func(k *store.Task) { k.Protocol = "" },
		"no tool":        func(k *store.Task) { k.Tool = "" },
		"no ttl":         func(k *store.Task) { k.TTL = 0 },
		"no poll":        func(k *store.Task) { k.PollInterval = 0 },
		"bad status":     func(k *store.Task) { k.Status = "working" },
		"bad token":      func(k *store.Task) { k.ProgressToken = json.RawMessage(`{`) },
		"bad result":     func(k *store.Task) { k.Result = json.RawMessage(`[`) },
		"sub-millis ttl": func(k *store.Task) { k.TTL = time.Microsecond },
	} {
		k := ok
		mut(&k)
		if _, err := s.CreateTask(t.Context(), k); err == nil {
			t.Errorf("%s: stored %+v", name, k)
		} else {
			wantErr(t, err, store.ErrInvalid)
		}
	}
	if _, err := s.GetTask(t.Context(), "x"); err == nil {
		t.Error("an invalid task was stored")
	}
}

// One owner's tasks come newest first, page by page, without the other
// owner's and (with Now) without the expired ones.
func testTasksListPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("job_%02d", i)
		must[store.Task](t)(s.CreateTask(ctx, store.Task{ID: id, Owner: "a", Protocol: "2025-11-25", Tool: "create_post",
			TTL: time.Hour, PollInterval: time.Second}))
		want = append([]string{id}, want...)
		must[store.Task](t)(s.CreateTask(ctx, store.Task{ID: "other_" + id, Owner: "b", Protocol: "2025-11-25", Tool: "create_post",
			TTL: time.Hour, PollInterval: time.Second}))
		time.Sleep(2 * time.Millisecond) // distinct creation times, so "newest first" has one answer
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		ts, next, err := s.ListTasks(ctx, store.TaskFilter{Owner: "a", Limit: 2, Cursor: cursor})
		noErr(t, err)
		for _, k := range ts {
			got = append(got, k.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages: %v, want %v", got, want)
	}
	future, _, err := s.ListTasks(ctx, store.TaskFilter{Owner: "a", Now: time.Now().Add(2 * time.Hour)})
	noErr(t, err)
	if len(future) != 0 {
		t.Errorf("expired tasks listed: %d", len(future))
	}
	_, _, err = s.ListTasks(ctx, store.TaskFilter{Owner: "a", Cursor: "nonsense"})
	wantErr(t, err, store.ErrInvalid)
}

func testTasksCancelOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	must[store.Task](t)(s.CreateTask(ctx, store.Task{ID: "job_c", Protocol: "2026-07-28", Tool: "publish_reel", TTL: time.Hour, PollInterval: time.Second}))
	first := base
	k := must[store.Task](t)(s.RequestTaskCancel(ctx, "job_c", first))
	sameTime(t, "first cancel", k.CancelRequestedAt, first)
	k = must[store.Task](t)(s.RequestTaskCancel(ctx, "job_c", first.Add(time.Hour)))
	sameTime(t, "repeated cancel", k.CancelRequestedAt, first)
	sameTime(t, "read back", must[store.Task](t)(s.GetTask(ctx, "job_c")).CancelRequestedAt, first)
	_, err := s.RequestTaskCancel(ctx, "job_missing", first)
	wantErr(t, err, store.ErrNotFound)
}

func testTasksPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	must[store.Task](t)(s.CreateTask(ctx, store.Task{ID: "short", Protocol: "2025-11-25", Tool: "create_post", TTL: time.Millisecond, PollInterval: time.Second}))
	must[store.Task](t)(s.CreateTask(ctx, store.Task{ID: "long", Protocol: "2025-11-25", Tool: "create_post", TTL: time.Hour, PollInterval: time.Second}))
	n := must[int64](t)(s.PruneTasks(ctx, time.Now().Add(time.Minute)))
	if n != 1 {
		t.Errorf("pruned %d, want 1", n)
	}
	_, err := s.GetTask(ctx, "short")
	wantErr(t, err, store.ErrNotFound)
	must[store.Task](t)(s.GetTask(ctx, "long"))
}

// An answer approves its own dialog once: not a second time, not for
// another token, tool or arguments, not after expiry.
func testConfirmationsSingleUse(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	c := store.Confirmation{Nonce: "n1", Owner: "team-a", Tool: "create_post", Digest: "d1", ExpiresAt: now.Add(10 * time.Minute)}
	noErr(t, s.PutConfirmation(ctx, c))
	wantErr(t, s.PutConfirmation(ctx, c), store.ErrConflict)
	for name, other := range map[string]store.Confirmation{
		"other owner":  {Nonce: "n1", Owner: "team-b", Tool: c.Tool, Digest: c.Digest},
		"other tool":   {Nonce: "n1", Owner: c.Owner, Tool: "publish_reel", Digest: c.Digest},
		"other digest": {Nonce: "n1", Owner: c.Owner, Tool: c.Tool, Digest: "d2"},
		"other nonce":  {Nonce: "n2", Owner: c.Owner, Tool: c.Tool, Digest: c.Digest},
	} {
		if ok := must[bool](t)(s.ConsumeConfirmation(ctx, other, now)); ok {
			t.Errorf("%s consumed the answer", name)
		}
	}
	if ok := must[bool](t)(s.ConsumeConfirmation(ctx, c, now.Add(11*time.Minute))); ok {
		t.Error("an expired dialog was consumed")
	}
	if ok := must[bool](t)(s.ConsumeConfirmation(ctx, c, now)); !ok {
		t.Fatal("the right answer was not consumed")
	}
	if ok := must[bool](t)(s.ConsumeConfirmation(ctx, c, now)); ok {
		t.Error("an answer was consumed twice")
	}
	for name, bad := range map[string]store.Confirmation{
		"no nonce":   {Tool: "t", Digest: "d", ExpiresAt: now},
		"no tool":    {Nonce: "x", Digest: "d", ExpiresAt: now},
		"no digest":  {Nonce: "x", Tool: "t", ExpiresAt: now},
		"no expires": {Nonce: "x", Tool: "t", Digest: "d"},
	} {
		if err := s.PutConfirmation(ctx, bad); err == nil {
			t.Errorf("%s: stored", name)
		} else {
			wantErr(t, err, store.ErrInvalid)
		}
	}
}

// Sixteen calls racing with one answer: exactly one proceeds.
func testConfirmationsRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	c := store.Confirmation{Nonce: "race", Tool: "create_post", Digest: "d", ExpiresAt: now.Add(time.Minute)}
	noErr(t, s.PutConfirmation(ctx, c))
	var won, failed atomic.Int32
	race(16, func(int) {
		ok, err := s.ConsumeConfirmation(ctx, c, now)
		if err != nil {
			failed.Add(1)
		}
		if ok {
			won.Add(1)
		}
	})
	if won.Load() != 1 || failed.Load() != 0 {
		t.Errorf("%d calls consumed the answer (%d errors), want exactly 1", won.Load(), failed.Load())
	}
}

func testConfirmationsPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	noErr(t, s.PutConfirmation(ctx, store.Confirmation{Nonce: "old", Tool: "t", Digest: "d", ExpiresAt: now.Add(-time.Minute)}))
	noErr(t, s.PutConfirmation(ctx, store.Confirmation{Nonce: "new", Tool: "t", Digest: "d", ExpiresAt: now.Add(time.Hour)}))
	if n := must[int64](t)(s.PruneConfirmations(ctx, now)); n != 1 {
		t.Errorf("pruned %d, want 1", n)
	}
	if ok := must[bool](t)(s.ConsumeConfirmation(ctx, store.Confirmation{Nonce: "new", Tool: "t", Digest: "d"}, now)); !ok {
		t.Error("the unexpired dialog went with the pruned one")
	}
}

// A signal reaches the store's own watchers with its kind and key; events
// keep coming as before on the same channel.
func testSignalsReachWatchers(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := must[<-chan store.EventNotice](t)(s.WatchEvents(ctx))
	noErr(t, s.Signal(ctx, store.NoticeJob, "job_x"))
	noErr(t, s.Signal(ctx, store.NoticePublished, "17841400000000001"))
	stored := must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{ev("a", "comments", 1)}))
	wantErr(t, s.Signal(ctx, store.NoticeEvent, "x"), store.ErrInvalid)
	var signals, events []string
	deadline := time.After(30 * time.Second)
	for len(signals) < 2 || len(events) < 1 {
		select {
		case n := <-ch:
			if n.Kind == store.NoticeEvent {
				events = append(events, fmt.Sprintf("%d %s %s", n.ID, n.AccountID, n.Field))
			} else {
				signals = append(signals, n.Kind+" "+n.Key)
			}
		case <-deadline:
			t.Fatalf("after 30 s: signals %v, events %v", signals, events)
		}
	}
	if fmt.Sprint(signals) != "[job job_x published 17841400000000001]" {
		t.Errorf("signals %v, in order", signals)
	}
	if want := fmt.Sprintf("%d a comments", stored[0].ID); fmt.Sprint(events) != "["+want+"]" {
		t.Errorf("events %v, want [%s]", events, want)
	}
}

// A job whose worker stopped it before the send (its task was cancelled)
// ends cancelled from publishing, and only under the worker's lease; the
// outcome is final.
func testJobCancelledByItsWorker(t *testing.T, s store.Store) {
	ctx := t.Context()
	must[store.Schedule](t)(s.CreateSchedule(ctx, newSchedule("job_1", "a", base)))
	claimed := must[[]store.Schedule](t)(s.ClaimDue(ctx, base, "w1", time.Minute, 1))
	if len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	_, err := s.CompleteSchedule(ctx, "job_1", "w2", store.RunOutcome{To: store.RunCancelled})
	wantErr(t, err, store.ErrConflict)
	got := must[store.Schedule](t)(s.CompleteSchedule(ctx, "job_1", "w1", store.RunOutcome{To: store.RunCancelled}))
	if got.State != store.RunCancelled || got.LeaseOwner != "" || !got.LeaseExpiresAt.IsZero() || got.MediaID != "" {
		t.Errorf("cancelled job = %+v", got)
	}
	_, err = s.CompleteSchedule(ctx, "job_1", "w1", store.RunOutcome{To: store.RunPublished, MediaID: "1"})
	wantErr(t, err, store.ErrConflict)
	_, err = s.CompleteSchedule(ctx, "job_1", "w1", store.RunOutcome{To: store.RunMissed})
	wantErr(t, err, store.ErrInvalid)
	if !store.RunPublishing.CanMove(store.RunCancelled) {
		t.Error("the state diagram lacks publishing → cancelled")
	}
}
