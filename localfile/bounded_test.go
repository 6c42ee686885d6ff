package localfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A step that does not finish in time is abandoned with ErrTimeout; when it
// finishes later, its cleanup runs (a late open must not leak a descriptor).
func TestBounded_TimeoutThenCleanup(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	cleaned := make(chan struct{})
	err := bounded(time.Millisecond, func() error { <-release; return nil }, func() { close(cleaned) })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("bounded = %v, want ErrTimeout", err)
	}
	close(release)
	select {
	case <-cleaned:
	case <-time.After(20 * time.Second):
		t.Fatal("cleanup of the abandoned step did not run")
	}
	if err := bounded(time.Minute, func() error { return os.ErrPermission }, nil); !errors.Is(err, os.ErrPermission) {
		t.Fatalf("bounded passed %v", err)
	}
}

// The open keeps a file only if it is the one the Lstat saw.
func TestOpenRegular_RefusesASwappedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jpg"), filepath.Join(dir, "b.jpg")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	seenA, err := os.Lstat(a)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := openRegular(b, seenA); !errors.Is(err, ErrChanged) {
		if f != nil {
			_ = f.Close()
		}
		t.Fatalf("openRegular(b, stat of a) = %v, want ErrChanged", err)
	}
	f, err := openRegular(a, seenA)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
}
