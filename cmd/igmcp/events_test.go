package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The gate between the sandbox's sender and the receiver: deliveries pass
// until it closes, closing waits for the one being handled, and after it
// every delivery is refused (503) so none reaches a closed store.
func TestSandboxGate(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	handled := 0
	g := &gate{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled++
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})}
	serve := func(path string) int {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		return rec.Code
	}
	if code := serve("/"); code != http.StatusOK {
		t.Fatalf("open gate: %d", code)
	}
	slow := make(chan int, 1)
	go func() { slow <- serve("/slow") }()
	<-entered
	closed := make(chan struct{})
	go func() { g.close(); close(closed) }()
	close(release)
	<-closed
	if code := <-slow; code != http.StatusOK {
		t.Fatalf("the delivery in flight at close: %d", code)
	}
	if code := serve("/"); code != http.StatusServiceUnavailable || handled != 2 {
		t.Fatalf("after close: %d, %d handled", code, handled)
	}
}
