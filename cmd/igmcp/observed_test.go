package main

import (
	"context"
	"testing"
	"time"

	"github.com/igmcp/igmcp/learned"
	"github.com/igmcp/igmcp/store"
)

// The publisher gets what a probe recorded for the app and account, and
// nothing measured on another Graph API version or for another app.
func TestObservedFeedsThePublisher(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ready := 1500 * time.Millisecond
	raw := false
	if err := learned.Save(t.Context(), st, "app1", "1784", learned.Facts{
		ReadAfterWrite: &raw, ImageReady: &ready, APIVersion: "v25.0", MeasuredAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		app, version, account string
		want                  time.Duration // 0: nothing
	}{
		{"app1", "v25.0", "1784", ready},
		{"app1", "", "1784", ready},
		{"app1", "v26.0", "1784", 0},
		{"app2", "v25.0", "1784", 0},
		{"app1", "v25.0", "1785", 0},
	} {
		o := observed(st, tc.app, tc.version)(t.Context(), tc.account)
		switch {
		case tc.want == 0 && o.ImageReady != nil:
			t.Errorf("%+v: ImageReady %v, want none", tc, *o.ImageReady)
		case tc.want != 0 && (o.ImageReady == nil || *o.ImageReady != tc.want):
			t.Errorf("%+v: ImageReady %v, want %v", tc, o.ImageReady, tc.want)
		}
	}
}
