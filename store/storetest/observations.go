package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
)

var observationTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Observations", testObservations},
	{"ObservationsNewestWins", testObservationsNewestWins},
	{"ObservationsInvalid", testObservationsInvalid},
	{"ObservationsRace", testObservationsRace},
	{"CheckWritable", testCheckWritable},
}

func testObservations(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got := must[[]store.Observation](t)(s.Observations(ctx, "app1", "acct1")); len(got) != 0 {
		t.Fatalf("observations of a new store = %v", got)
	}
	for _, o := range []store.Observation{
		{AppID: "app1", AccountID: "acct1", Name: "read_after_write", Value: "false", At: base},
		{AppID: "app1", AccountID: "acct1", Name: "image_ready_ms", Value: "1500", At: base.Add(time.Second)},
		{AppID: "app1", AccountID: "acct2", Name: "read_after_write", Value: "true", At: base},
		{AppID: "", AccountID: "acct1", Name: "read_after_write", Value: "true", At: base},
		{AppID: "app2", AccountID: "acct1", Name: "read_after_write", Value: "true", At: base},
	} {
		noErr(t, s.PutObservation(ctx, o))
	}
	got := must[[]store.Observation](t)(s.Observations(ctx, "app1", "acct1"))
	if len(got) != 2 {
		t.Fatalf("observations of app1/acct1 = %v, want 2", got)
	}
	// ordered by name
	if got[0].Name != "image_ready_ms" || got[0].Value != "1500" || got[0].AppID != "app1" || got[0].AccountID != "acct1" {
		t.Errorf("first = %+v", got[0])
	}
	sameTime(t, "image_ready_ms at", got[0].At, base.Add(time.Second))
	if got[1].Name != "read_after_write" || got[1].Value != "false" {
		t.Errorf("second = %+v", got[1])
	}
	sameTime(t, "read_after_write at", got[1].At, base)
	// Apps and accounts do not see each other's measurements; "" is an app
	// id of its own (no INSTAGRAM_APP_ID configured).
	for _, k := range [][2]string{{"", "acct1"}, {"app2", "acct1"}, {"app1", "acct2"}} {
		got := must[[]store.Observation](t)(s.Observations(ctx, k[0], k[1]))
		if len(got) != 1 || got[0].Value != "true" {
			t.Errorf("observations of %q/%q = %+v, want one true", k[0], k[1], got)
		}
	}
}

func testObservationsNewestWins(t *testing.T, s store.Store) {
	ctx := t.Context()
	put := func(v string, at time.Time) {
		t.Helper()
		noErr(t, s.PutObservation(ctx, store.Observation{AppID: "a", AccountID: "x", Name: "n", Value: v, At: at}))
	}
	check := func(want string, at time.Time) {
		t.Helper()
		got := must[[]store.Observation](t)(s.Observations(ctx, "a", "x"))
		if len(got) != 1 || got[0].Value != want {
			t.Fatalf("observations = %+v, want one %q", got, want)
		}
		sameTime(t, "at", got[0].At, at)
	}
	put("first", base)
	put("newer", base.Add(time.Minute))
	check("newer", base.Add(time.Minute))
	// A measurement taken earlier but arriving later does not win.
	put("late", base.Add(30*time.Second))
	check("newer", base.Add(time.Minute))
	// The same instant: the one written last (a repeated run) wins.
	put("again", base.Add(time.Minute))
	check("again", base.Add(time.Minute))
}

func testObservationsInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, o := range []store.Observation{
		{AppID: "a", Name: "n", Value: "v", At: base},       // no account
		{AppID: "a", AccountID: "x", Value: "v", At: base},  // no name
		{AppID: "a", AccountID: "x", Name: "n", Value: "v"}, // no time
	} {
		wantErr(t, s.PutObservation(ctx, o), store.ErrInvalid)
	}
	if got := must[[]store.Observation](t)(s.Observations(ctx, "a", "x")); len(got) != 0 {
		t.Fatalf("refused observations were stored: %v", got)
	}
}

func testObservationsRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	race(8, func(i int) {
		o := store.Observation{AppID: "a", AccountID: "x", Name: "n", Value: fmt.Sprint(i), At: base.Add(time.Duration(i) * time.Second)}
		if err := s.PutObservation(ctx, o); err != nil {
			t.Error(err)
		}
	})
	got := must[[]store.Observation](t)(s.Observations(ctx, "a", "x"))
	if len(got) != 1 || got[0].Value != "7" {
		t.Fatalf("after the race = %+v, want the newest (7)", got)
	}
}

func testCheckWritable(t *testing.T, s store.Store) {
	ctx := t.Context()
	noErr(t, s.CheckWritable(ctx))
	noErr(t, s.CheckWritable(ctx)) // repeatable: nothing was kept
	if got := must[[]store.Observation](t)(s.Observations(ctx, "", "")); len(got) != 0 {
		t.Fatalf("the write check left %v behind", got)
	}
}
