package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
)

var eventTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"EventsAppend", testEventsAppend},
	{"EventsDedup", testEventsDedup},
	{"EventsInvalid", testEventsInvalid},
	{"EventsList", testEventsList},
	{"EventsPaging", testEventsPaging},
	{"EventsBigBatch", testEventsBigBatch},
	{"StoryInsights", testStoryInsights},
	{"EventsPrune", testEventsPrune},
	{"EventsRace", testEventsRace},
	{"EventsOppositeOrders", testEventsOppositeOrders},
	{"EventsWatch", testEventsWatch},
}

// ev builds an event whose key is its account, field and n.
func ev(account, field string, n int) store.Event {
	return store.Event{
		Key:       fmt.Sprintf("%s/%s/%d", account, field, n),
		AccountID: account,
		Field:     field,
		Time:      base.Add(time.Duration(n) * time.Second),
		Value:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
	}
}

func eventKeys(es []store.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Key
	}
	return out
}

func testEventsAppend(t *testing.T, s store.Store) {
	ctx := t.Context()
	received := base.Add(time.Hour)
	// Value keeps Meta's bytes as they were: escapes, spacing, key order.
	value := `{"id": "17865799348089039", "text":"Sch\u00f6n \ud83d\ude00", "from":{"username":"x","id":"1"}}`
	in := store.Event{
		Key: "k1", AccountID: "17841400000000001", Field: "comments",
		MediaID: "17900000000000001", CommentID: "17865799348089039", ParentID: "17865799348089000",
		FromID: "1784100000000009", FromUsername: "commenter", Text: "Schön 😀 <b>not html</b>",
		Time: base, ReceivedAt: received, Value: json.RawMessage(value),
	}
	got := must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{in}))
	if len(got) != 1 || got[0].ID <= 0 {
		t.Fatalf("AppendEvents = %+v", got)
	}
	want := in
	want.ID = got[0].ID
	want.Time, want.ReceivedAt = norm(base), norm(received)
	list, next := mustList(t, s, store.EventQuery{})
	if next != "" || len(list) != 1 {
		t.Fatalf("ListEvents = %+v, next %q", list, next)
	}
	for what, e := range map[string]store.Event{"returned": got[0], "listed": list[0]} {
		sameTime(t, what+" Time", e.Time, base)
		sameTime(t, what+" ReceivedAt", e.ReceivedAt, received)
		e.Time, e.ReceivedAt = want.Time, want.ReceivedAt
		if fmt.Sprintf("%+v", e) != fmt.Sprintf("%+v", want) || string(e.Value) != value {
			t.Errorf("%s event:\n got %+v\nwant %+v", what, e, want)
		}
	}

	// Defaults: ReceivedAt is now, Time is ReceivedAt.
	before := time.Now()
	d := must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{{Key: "k2", AccountID: "a", Field: "mentions", Value: json.RawMessage(`{}`)}}))
	if len(d) != 1 || d[0].ReceivedAt.Before(norm(before)) || d[0].ReceivedAt.After(time.Now()) || !d[0].Time.Equal(d[0].ReceivedAt) {
		t.Fatalf("defaults: %+v", d)
	}
	if d[0].ID <= got[0].ID {
		t.Errorf("ids do not increase: %d then %d", got[0].ID, d[0].ID)
	}
	if got := must[[]store.Event](t)(s.AppendEvents(ctx, nil)); len(got) != 0 {
		t.Errorf("appending nothing stored %+v", got)
	}
}

// A redelivered key is stored once, whether it comes again in a later call
// or twice in one batch; the new ones of a mixed batch are stored.
func testEventsDedup(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{ev("a", "comments", 1), ev("a", "comments", 2), ev("a", "comments", 1)}))
	if got := fmt.Sprint(eventKeys(first)); got != "[a/comments/1 a/comments/2]" {
		t.Fatalf("first batch stored %s", got)
	}
	dup := ev("a", "comments", 2)
	dup.Value = json.RawMessage(`{"n":"changed"}`) // same key: the first one stays
	second := must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{ev("a", "comments", 3), dup, ev("a", "comments", 1), ev("a", "comments", 4)}))
	if got := fmt.Sprint(eventKeys(second)); got != "[a/comments/3 a/comments/4]" {
		t.Fatalf("second batch stored %s", got)
	}
	if second[0].ID <= first[1].ID || second[1].ID <= second[0].ID {
		t.Errorf("ids: %d %d then %d %d", first[0].ID, first[1].ID, second[0].ID, second[1].ID)
	}
	again := must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{ev("a", "comments", 4)}))
	if len(again) != 0 {
		t.Fatalf("a full redelivery stored %+v", again)
	}
	list, _ := mustList(t, s, store.EventQuery{})
	if got := fmt.Sprint(eventKeys(list)); got != "[a/comments/4 a/comments/3 a/comments/2 a/comments/1]" {
		t.Fatalf("stored %s", got)
	}
	if string(list[2].Value) != `{"n":2}` {
		t.Errorf("the redelivery replaced the value: %s", list[2].Value)
	}
}

// One invalid event stores nothing of its batch.
func testEventsInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	bad := map[string]func(e *store.Event){
		"no key":        func(e *store.Event) { e.Key = "" },
		"no account":    func(e *store.Event) { e.AccountID = "" },
		"no field":      func(e *store.Event) { e.Field = "" },
		"no value":      func(e *store.Event) { e.Value = nil },
		"invalid value": func(e *store.Event) { e.Value = json.RawMessage(`{"a":`) },
	}
	for name, spoil := range bad {
		e := ev("a", "comments", 9)
		spoil(&e)
		_, err := s.AppendEvents(ctx, []store.Event{ev("a", "comments", 1), e})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantErr(t, err, store.ErrInvalid)
	}
	if list, _ := mustList(t, s, store.EventQuery{}); len(list) != 0 {
		t.Fatalf("invalid batches stored %v", eventKeys(list))
	}
}

func testEventsList(t *testing.T, s store.Store) {
	ctx := t.Context()
	var in []store.Event
	for i, af := range [][2]string{{"a", "comments"}, {"b", "comments"}, {"a", "mentions"}, {"a", "comments"}, {"b", "story_insights"}, {"a", "messages"}} {
		in = append(in, ev(af[0], af[1], i))
	}
	must[[]store.Event](t)(s.AppendEvents(ctx, in))
	tests := []struct {
		q    store.EventQuery
		want string
	}{
		{store.EventQuery{}, "[a/messages/5 b/story_insights/4 a/comments/3 a/mentions/2 b/comments/1 a/comments/0]"},
		{store.EventQuery{AccountID: "a"}, "[a/messages/5 a/comments/3 a/mentions/2 a/comments/0]"},
		{store.EventQuery{Field: "comments"}, "[a/comments/3 b/comments/1 a/comments/0]"},
		{store.EventQuery{AccountID: "a", Field: "comments"}, "[a/comments/3 a/comments/0]"},
		{store.EventQuery{AccountID: "b", Field: "mentions"}, "[]"},
		{store.EventQuery{AccountID: "a' OR '1'='1"}, "[]"},
	}
	for _, tc := range tests {
		got, next := mustList(t, s, tc.q)
		if fmt.Sprint(eventKeys(got)) != tc.want || next != "" {
			t.Errorf("ListEvents(%+v) = %v next %q, want %s", tc.q, eventKeys(got), next, tc.want)
		}
	}
	for _, c := range []string{"x", "-1", "0", "1.5", "9999999999999999999999"} {
		_, _, err := s.ListEvents(ctx, store.EventQuery{Cursor: c})
		wantErr(t, err, store.ErrInvalid)
	}
}

func testEventsPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	var in []store.Event
	for i := range 7 {
		in = append(in, ev("a", "comments", i))
	}
	must[[]store.Event](t)(s.AppendEvents(ctx, in))
	// An event of another account between pages does not disturb paging.
	var pages []string
	cursor := ""
	for i := 0; ; i++ {
		got, next := mustList(t, s, store.EventQuery{AccountID: "a", Limit: 3, Cursor: cursor})
		pages = append(pages, fmt.Sprint(eventKeys(got)))
		if i == 0 {
			must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{ev("a", "comments", 100)}))
		}
		if next == "" {
			break
		}
		cursor = next
	}
	want := "[[a/comments/6 a/comments/5 a/comments/4] [a/comments/3 a/comments/2 a/comments/1] [a/comments/0]]"
	if fmt.Sprint(pages) != want {
		t.Fatalf("pages %v, want %s", pages, want)
	}
	// Limits: 0 is 50, more than 1000 is 1000.
	if got, next := mustList(t, s, store.EventQuery{Limit: 0}); len(got) != 8 || next != "" {
		t.Errorf("default limit: %d events, next %q", len(got), next)
	}
}

// A batch larger than one INSERT statement is stored whole, in order.
func testEventsBigBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	var in []store.Event
	for i := range 1100 {
		in = append(in, ev("a", "comments", i%1050)) // 50 repeats
	}
	got := must[[]store.Event](t)(s.AppendEvents(ctx, in))
	if len(got) != 1050 {
		t.Fatalf("stored %d of 1050", len(got))
	}
	ids := map[int64]bool{}
	for i, e := range got {
		if e.Key != fmt.Sprintf("a/comments/%d", i) || e.ID <= 0 || ids[e.ID] {
			t.Fatalf("stored[%d] = %s id %d", i, e.Key, e.ID)
		}
		ids[e.ID] = true
	}
	list, next := mustList(t, s, store.EventQuery{Limit: 5000})
	if len(list) != 1000 || next == "" {
		t.Fatalf("capped page: %d, next %q", len(list), next)
	}
}

func testStoryInsights(t *testing.T, s store.Store) {
	ctx := t.Context()
	story := func(key, account, media, value string) store.Event {
		return store.Event{Key: key, AccountID: account, Field: "story_insights", MediaID: media, Value: json.RawMessage(value)}
	}
	must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{
		story("s1", "a", "m1", `{"media_id":"m1","reach":10}`),
		story("s2", "b", "m1", `{"media_id":"m1","reach":99}`), // another account's claim
		{Key: "c1", AccountID: "a", Field: "comments", MediaID: "m1", Value: json.RawMessage(`{}`)},
		story("s3", "a", "m2", `{"media_id":"m2","reach":5}`),
	}))
	must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{story("s4", "a", "m1", `{"media_id":"m1","reach":12}`)}))
	must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{{Key: "c2", AccountID: "a", Field: "comments", MediaID: "m1", Value: json.RawMessage(`{}`)}}))

	got := must[store.Event](t)(s.LatestStoryInsights(ctx, "a", "m1"))
	if got.Key != "s4" || string(got.Value) != `{"media_id":"m1","reach":12}` {
		t.Errorf("latest of a/m1 = %+v", got)
	}
	if got := must[store.Event](t)(s.LatestStoryInsights(ctx, "b", "m1")); got.Key != "s2" {
		t.Errorf("latest of b/m1 = %+v", got)
	}
	_, err := s.LatestStoryInsights(ctx, "a", "m3")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.LatestStoryInsights(ctx, "b", "m2")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.LatestStoryInsights(ctx, "", "m1")
	wantErr(t, err, store.ErrInvalid)
	_, err = s.LatestStoryInsights(ctx, "a", "")
	wantErr(t, err, store.ErrInvalid)
}

func testEventsPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := func(e store.Event, h int) store.Event {
		e.ReceivedAt = base.Add(time.Duration(h) * time.Hour)
		return e
	}
	must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{
		at(ev("a", "comments", 1), 1), at(ev("a", "story_insights", 2), 1),
		at(ev("a", "mentions", 3), 2), at(ev("a", "comments", 4), 3),
	}))
	n := must[int64](t)(s.PruneEvents(ctx, base.Add(3*time.Hour), "story_insights", "x'); DROP TABLE events; --"))
	if n != 2 {
		t.Errorf("pruned %d, want 2", n)
	}
	list, _ := mustList(t, s, store.EventQuery{})
	left := eventKeys(list)
	sort.Strings(left)
	if got := fmt.Sprint(left); got != "[a/comments/4 a/story_insights/2]" {
		t.Fatalf("left %s", got)
	}
	if n := must[int64](t)(s.PruneEvents(ctx, base.Add(4*time.Hour))); n != 2 {
		t.Errorf("pruned %d, want 2", n)
	}
}

// Processes storing overlapping redeliveries at once store each key once,
// and exactly one of them reports it stored.
func testEventsRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	var mu sync.Mutex
	reported := map[string]int{}
	race(8, func(i int) {
		for j := range 10 {
			var batch []store.Event
			for k := range 5 {
				batch = append(batch, ev("a", "comments", (i+j+k)%40))
			}
			if i%2 == 1 {
				// Opposite orders: a store that locked keys in input
				// order could deadlock here.
				slices.Reverse(batch)
			}
			got, err := s.AppendEvents(ctx, batch)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for _, e := range got {
				reported[e.Key]++
			}
			mu.Unlock()
		}
	})
	list, _ := mustList(t, s, store.EventQuery{Limit: 1000})
	if len(list) != len(reported) {
		t.Errorf("stored %d events, reported %d", len(list), len(reported))
	}
	for k, n := range reported {
		if n != 1 {
			t.Errorf("%s reported stored %d times", k, n)
		}
	}
	seen := map[string]bool{}
	for _, e := range list {
		if seen[e.Key] {
			t.Errorf("%s stored twice", e.Key)
		}
		seen[e.Key] = true
	}
}

// Large batches sharing their keys in opposite orders, at once, all
// succeed: no deadlock between the writers.
func testEventsOppositeOrders(t *testing.T, s store.Store) {
	ctx := t.Context()
	for round := range 5 {
		race(4, func(i int) {
			var batch []store.Event
			for k := range 200 {
				batch = append(batch, ev("a", "comments", round*1000+k))
			}
			if i%2 == 1 {
				slices.Reverse(batch)
			}
			if _, err := s.AppendEvents(ctx, batch); err != nil {
				t.Error(err)
			}
		})
	}
	if list, _ := mustList(t, s, store.EventQuery{Limit: 1000}); len(list) != 1000 {
		t.Fatalf("stored %d of 1000", len(list))
	}
}

// A watcher hears of exactly the events stored after it started, and its
// channel closes when its context ends.
func testEventsWatch(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{ev("a", "comments", 0)}))
	ch := must[<-chan store.EventNotice](t)(s.WatchEvents(ctx))
	stored := must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{ev("a", "comments", 1), ev("b", "mentions", 2)}))
	must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{ev("a", "comments", 1)})) // a redelivery: no notice
	stored = append(stored, must[[]store.Event](t)(s.AppendEvents(ctx, []store.Event{ev("a", "story_insights", 3)}))...)
	WantNotices(t, ch, stored)
	// Nothing more comes (the redelivery), and the channel closes.
	cancel()
	for n := range ch {
		t.Errorf("unexpected notice %+v", n)
	}
}

func mustList(t *testing.T, s store.Store, q store.EventQuery) ([]store.Event, string) {
	t.Helper()
	es, next, err := s.ListEvents(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	return es, next
}

// WantNotices waits (up to 30 s) for a notice of each stored event, in any
// order, and fails on a missing, wrong or repeated one among them.
func WantNotices(t testing.TB, ch <-chan store.EventNotice, stored []store.Event) {
	t.Helper()
	var want, got []string
	for _, e := range stored {
		want = append(want, fmt.Sprintf("%d %s %s", e.ID, e.AccountID, e.Field))
	}
	deadline := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case n := <-ch:
			got = append(got, fmt.Sprintf("%d %s %s", n.ID, n.AccountID, n.Field))
		case <-deadline:
			t.Fatalf("notices after 30 s: %v, want %v", got, want)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("notices %v, want %v", got, want)
	}
}
