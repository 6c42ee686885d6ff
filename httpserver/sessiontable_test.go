package httpserver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for the session table.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestTable(l SessionLimits) (*sessionTable, *clock, *[]string) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	var mu sync.Mutex
	dropped := &[]string{}
	t := newSessionTable(l, func(s *session) { mu.Lock(); defer mu.Unlock(); *dropped = append(*dropped, s.id) })
	t.now = c.Now
	t.close() // no timer: the tests sweep by hand
	return t, c, dropped
}

func mustAdd(t *testing.T, tb *sessionTable, id, owner string) {
	t.Helper()
	if err := tb.reserve(owner); err != nil {
		t.Fatalf("reserve %s: %v", id, err)
	}
	tb.add(id, owner, false)
}

// A session with a running request or tool call is never reaped, however
// long the call; it is once idle for the TTL after the call.
func TestSessionTable_BusyIsNotReaped(t *testing.T) {
	t.Parallel()
	tb, clk, dropped := newTestTable(SessionLimits{IdleTTL: time.Minute})
	mustAdd(t, tb, "busy", "a")
	mustAdd(t, tb, "idle", "a")
	tb.begin("busy")
	clk.Add(20 * time.Minute)
	tb.sweep()
	if tb.count() != 1 || len(*dropped) != 1 || (*dropped)[0] != "idle" {
		t.Fatalf("after the sweep: %d sessions, dropped %v", tb.count(), *dropped)
	}
	tb.end("busy")
	clk.Add(59 * time.Second)
	tb.sweep()
	if tb.count() != 1 {
		t.Fatal("reaped before its idle TTL")
	}
	clk.Add(time.Second)
	tb.sweep()
	if tb.count() != 0 || len(*dropped) != 2 {
		t.Fatalf("not reaped after its idle TTL: %d, %v", tb.count(), *dropped)
	}
}

// At its cap a token's own session idle for a while makes room; a session
// just set up does not, and neither does another token's.
func TestSessionTable_PerTokenEviction(t *testing.T) {
	t.Parallel()
	tb, clk, dropped := newTestTable(SessionLimits{IdleTTL: 10 * time.Minute, PerToken: 2, Total: 10})
	mustAdd(t, tb, "a1", "a")
	clk.Add(time.Second)
	mustAdd(t, tb, "a2", "a")
	mustAdd(t, tb, "b1", "b")
	if err := tb.reserve("a"); !errors.Is(err, errTooManyForToken) {
		t.Fatalf("at the cap with fresh sessions: %v", err)
	}
	clk.Add(2 * time.Minute)
	tb.begin("a1") // a1 is in use: a2 is the one to go
	if err := tb.reserve("a"); err != nil {
		t.Fatal(err)
	}
	tb.add("a3", "a", false)
	if len(*dropped) != 1 || (*dropped)[0] != "a2" || !tb.owned("a1", "a") || !tb.owned("b1", "b") {
		t.Fatalf("evicted %v", *dropped)
	}
	if tb.owned("a1", "b") || tb.owned("nope", "a") {
		t.Fatal("owned answers for another token or a made-up id")
	}
}

// Reaping a session closes its streams.
func TestSessionTable_ReapClosesStreams(t *testing.T) {
	t.Parallel()
	tb, clk, _ := newTestTable(SessionLimits{IdleTTL: time.Minute})
	mustAdd(t, tb, "s", "a")
	ctx, cancel := context.WithCancel(context.Background())
	defer tb.stream("s", cancel)()
	clk.Add(time.Hour)
	tb.sweep()
	if ctx.Err() == nil {
		t.Fatal("the stream of a reaped session is still open")
	}
}
