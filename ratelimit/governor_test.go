package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func buc(id string, pct, regainMin int) graph.Usage {
	return graph.Usage{BUC: map[string][]graph.BUCUsage{id: {{Type: "instagram", CallCount: pct, EstimatedTimeToRegainAccess: regainMin}}}}
}

func TestBlockedAfterLimitUntilRegain(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	g := New(Config{Now: c.now})
	l := g.For("a")
	done, err := l.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	done(400, buc("a", 100, 7), &graph.Error{Code: 80002, HTTPStatus: 400})
	_, err = l.Acquire(t.Context())
	var th *graph.ThrottledError
	if !errors.As(err, &th) || th.RetryAfter != 7*time.Minute {
		t.Fatalf("want throttled for 7m, got %v", err)
	}
	// Another account is not affected by this account's limit.
	if d, err := g.For("b").Acquire(t.Context()); err != nil {
		t.Fatalf("account b blocked: %v", err)
	} else {
		d(200, graph.Usage{}, nil)
	}
	c.add(7 * time.Minute)
	if d, err := l.Acquire(t.Context()); err != nil {
		t.Fatalf("still blocked after regain time: %v", err)
	} else {
		d(200, graph.Usage{}, nil)
	}
}

func TestAppLimitBlocksEveryAccount(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	g := New(Config{Now: c.now, DefaultBlock: time.Minute})
	d, _ := g.For("a").Acquire(t.Context())
	d(400, graph.Usage{}, &graph.Error{Code: 4, HTTPStatus: 400})
	var th *graph.ThrottledError
	if _, err := g.For("b").Acquire(t.Context()); !errors.As(err, &th) || th.RetryAfter != time.Minute {
		t.Fatalf("app limit did not block account b: %v", err)
	}
}

func TestSpamBlockIsNotARateLimit(t *testing.T) {
	g := New(Config{})
	d, _ := g.For("a").Acquire(t.Context())
	d(400, graph.Usage{}, &graph.Error{Code: 4, Subcode: 2207051, HTTPStatus: 400})
	if d, err := g.For("a").Acquire(t.Context()); err != nil {
		t.Fatalf("spam block throttled the account: %v", err)
	} else {
		d(200, graph.Usage{}, nil)
	}
}

func TestSpacingAboveThreshold(t *testing.T) {
	g := New(Config{MaxSpacing: time.Second})
	cases := map[int]time.Duration{0: 0, 79: 0, 80: 0, 90: 500 * time.Millisecond, 100: time.Second}
	for pct, want := range cases {
		if got := g.spacing(pct); got != want {
			t.Errorf("spacing(%d) = %v, want %v", pct, got, want)
		}
	}
	// Over MaxWait the call is refused with the wait, not held.
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	g = New(Config{Now: c.now, MaxSpacing: time.Hour, MaxWait: time.Second})
	l := g.For("a")
	d, _ := l.Acquire(t.Context())
	d(200, buc("a", 99, 0), nil)
	d, err := l.Acquire(t.Context()) // first spaced call starts now
	if err != nil {
		t.Fatal(err)
	}
	d(200, buc("a", 99, 0), nil)
	var th *graph.ThrottledError
	if _, err := l.Acquire(t.Context()); !errors.As(err, &th) || th.RetryAfter < time.Minute {
		t.Fatalf("want refusal with a long wait, got %v", err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	g := New(Config{MaxConcurrent: 3})
	l := g.For("a")
	var inFlight, peak atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := l.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			inFlight.Add(-1)
			d(200, graph.Usage{}, nil)
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak concurrency %d, want at most 3 (and some parallelism)", p)
	}
	if s := g.Status("a"); s.InFlight != 0 {
		t.Fatalf("slots leaked: %+v", s)
	}
}

func TestAcquireHonoursCancel(t *testing.T) {
	g := New(Config{MaxConcurrent: 1})
	l := g.For("a")
	d, _ := l.Acquire(t.Context())
	defer d(200, graph.Usage{}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

// Two governors (two processes) sharing one store: a block seen by one holds
// back the other without it spending a call.
func TestSharedAcrossProcesses(t *testing.T) {
	st, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	g1 := New(Config{Now: c.now, Shared: st})
	g2 := New(Config{Now: c.now, Shared: st})
	d, err := g1.For("a").Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	d(400, buc("a", 100, 9), &graph.Error{Code: 80002, HTTPStatus: 400})
	var th *graph.ThrottledError
	if _, err := g2.For("a").Acquire(t.Context()); !errors.As(err, &th) || th.RetryAfter != 9*time.Minute {
		t.Fatalf("process 2 not held back: %v", err)
	}
	if s := g2.Status("a"); s.UsagePercent != 100 {
		t.Fatalf("shared usage: %+v", s)
	}
}

// TestErrorsThatBlock: which Graph errors hold calls back, and whose: the
// app's limits (4, 341) every account, the account's limits only that
// account; anything else (spam blocks, the publishing quota, token and
// transient errors) nobody.
func TestErrorsThatBlock(t *testing.T) {
	tests := []struct {
		name          string
		err           *graph.Error
		account, apps bool
	}{
		{"app 4", &graph.Error{Code: 4, HTTPStatus: 400}, true, true},
		{"app 341", &graph.Error{Code: 341, HTTPStatus: 400}, true, true},
		{"user 17", &graph.Error{Code: 17, Subcode: 2446079, HTTPStatus: 400}, true, false},
		{"page 32", &graph.Error{Code: 32, HTTPStatus: 400}, true, false},
		{"custom 613", &graph.Error{Code: 613, Subcode: 1996, HTTPStatus: 400}, true, false},
		{"pages BUC 80001", &graph.Error{Code: 80001, HTTPStatus: 400}, true, false},
		{"instagram BUC 80002", &graph.Error{Code: 80002, HTTPStatus: 400}, true, false},
		{"spam 4/2207051", &graph.Error{Code: 4, Subcode: 2207051, HTTPStatus: 400}, false, false},
		{"policy 368", &graph.Error{Code: 368, IsTransient: true, HTTPStatus: 400}, false, false},
		{"publish quota 9/2207042", &graph.Error{Code: 9, Subcode: 2207042, HTTPStatus: 400}, false, false},
		{"token 190", &graph.Error{Code: 190, Subcode: 463, HTTPStatus: 400}, false, false},
		{"unknown 1", &graph.Error{Code: 1, HTTPStatus: 400}, false, false},
		{"500", &graph.Error{HTTPStatus: 500}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			g := New(Config{Now: c.now, DefaultBlock: time.Minute})
			d, err := g.For("a").Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			d(400, graph.Usage{}, tt.err)
			for id, want := range map[string]bool{"a": tt.account, "b": tt.apps} {
				d, err := g.For(id).Acquire(t.Context())
				var th *graph.ThrottledError
				if blocked := errors.As(err, &th); blocked != want || (blocked && th.RetryAfter != time.Minute) {
					t.Errorf("account %s: err = %v, want blocked %v for 1m", id, err, want)
				}
				if err == nil {
					d(200, graph.Usage{}, nil)
				}
			}
		})
	}
}
