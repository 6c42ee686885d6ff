package learned_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/igmcp/igmcp/learned"
	"github.com/igmcp/igmcp/store"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), store.Config{DataDir: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ptr[T any](v T) *T { return &v }

var at = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

func TestSaveLoad(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	f, err := learned.Load(ctx, st, "1234", "1784")
	if err != nil || f.Known() || f.ReadAfterWrite != nil || f.ImageReady != nil {
		t.Fatalf("Load of nothing = %+v, %v", f, err)
	}
	in := learned.Facts{ReadAfterWrite: ptr(false), ImageReady: ptr(1500 * time.Millisecond), ImageStatusReads: ptr(2),
		APIVersion: "v25.0", MeasuredAt: at}
	if err := learned.Save(ctx, st, "1234", "1784", in); err != nil {
		t.Fatal(err)
	}
	got, err := learned.Load(ctx, st, "1234", "1784")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Known() || got.ReadAfterWrite == nil || *got.ReadAfterWrite || got.ImageReady == nil || *got.ImageReady != 1500*time.Millisecond ||
		got.ImageStatusReads == nil || *got.ImageStatusReads != 2 || got.APIVersion != "v25.0" || !got.MeasuredAt.Equal(at) {
		t.Fatalf("Load = %+v", got)
	}
	// What is stored, by name, is the documented encoding.
	obs, err := st.Observations(ctx, "1234", "1784")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"read_after_write": "false", "image_ready_ms": "1500", "image_status_reads": "2", "api_version": "v25.0"}
	if len(obs) != len(want) {
		t.Fatalf("stored %+v", obs)
	}
	for _, o := range obs {
		if want[o.Name] != o.Value {
			t.Errorf("stored %s = %q, want %q", o.Name, o.Value, want[o.Name])
		}
	}
	// Another app (or none configured) and another account know nothing.
	for _, k := range [][2]string{{"", "1784"}, {"1234", "1785"}} {
		if f, _ := learned.Load(ctx, st, k[0], k[1]); f.Known() {
			t.Errorf("Load(%q, %q) = %+v", k[0], k[1], f)
		}
	}
}

func TestPartialAndNewer(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	if err := learned.Save(ctx, st, "", "1784", learned.Facts{ReadAfterWrite: ptr(true), MeasuredAt: at}); err != nil {
		t.Fatal(err)
	}
	got, _ := learned.Load(ctx, st, "", "1784")
	if got.ReadAfterWrite == nil || !*got.ReadAfterWrite || got.ImageReady != nil || got.ImageStatusReads != nil || got.APIVersion != "" {
		t.Fatalf("partial = %+v", got)
	}
	// A newer probe replaces what it measured again.
	later := at.Add(time.Hour)
	if err := learned.Save(ctx, st, "", "1784", learned.Facts{ReadAfterWrite: ptr(false), ImageReady: ptr(time.Duration(0)), MeasuredAt: later}); err != nil {
		t.Fatal(err)
	}
	got, _ = learned.Load(ctx, st, "", "1784")
	if got.ReadAfterWrite == nil || *got.ReadAfterWrite || got.ImageReady == nil || *got.ImageReady != 0 {
		t.Fatalf("after a newer probe = %+v", got)
	}
	// MeasuredAt is the oldest fact's time: everything is at least that old.
	if !got.MeasuredAt.Equal(later) {
		t.Errorf("MeasuredAt = %v, want %v", got.MeasuredAt, later)
	}
	// An older probe arriving late changes nothing.
	if err := learned.Save(ctx, st, "", "1784", learned.Facts{ReadAfterWrite: ptr(true), MeasuredAt: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := learned.Load(ctx, st, "", "1784"); got.ReadAfterWrite == nil || *got.ReadAfterWrite {
		t.Fatalf("an older probe overwrote a newer one: %+v", got)
	}
}

func TestUnreadableValuesLeftOut(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	for name, v := range map[string]string{"read_after_write": "maybe", "image_ready_ms": "-5", "image_status_reads": "two", "future_fact": "x"} {
		if err := st.PutObservation(ctx, store.Observation{AccountID: "1784", Name: name, Value: v, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := learned.Load(ctx, st, "", "1784")
	if err != nil || got.Known() || got.ReadAfterWrite != nil || got.ImageReady != nil || got.ImageStatusReads != nil {
		t.Fatalf("Load of unreadable values = %+v, %v", got, err)
	}
}

func TestSaveNeedsTime(t *testing.T) {
	if err := learned.Save(t.Context(), openStore(t), "", "1784", learned.Facts{ReadAfterWrite: ptr(true)}); err == nil {
		t.Fatal("Save without MeasuredAt succeeded")
	}
}
