package store_test

import (
	"strings"
	"testing"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
)

// A role that may read the tables but not write them: the store opens, as
// the schema is current, and CheckWritable says it cannot write. (A role
// that may not even CREATE in the schema fails at Open, in the migration.)
func TestCheckWritableReadOnlyRole(t *testing.T) {
	requirePG(t)
	ctx := t.Context()
	owner := pg.FreshURL(t)
	openCfg(t, store.Config{DatabaseURL: owner}) // creates and migrates the schema
	ro, err := store.Open(ctx, store.Config{DatabaseURL: storetest.ReadOnlyRole(t, owner, true)})
	if err != nil {
		t.Fatalf("open as the read-only role: %v", err)
	}
	defer ro.Close()
	if _, err := ro.Observations(ctx, "a", "x"); err != nil {
		t.Fatalf("the read-only role cannot read: %v", err)
	}
	err = ro.CheckWritable(ctx)
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("CheckWritable as a read-only role = %v, want permission denied", err)
	}
}
