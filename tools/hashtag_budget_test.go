package tools_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/tools"
)

// hashtagClock is the one clock of the fake Graph API and the budgets, so
// the times Instagram counts and the times recorded agree to the second.
type hashtagClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *hashtagClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *hashtagClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func budgetOf(t *testing.T, res map[string]any) (used float64, counted bool) {
	t.Helper()
	b, ok := res["budget"].(map[string]any)
	if !ok {
		t.Fatalf("no budget in %v", res)
	}
	return b["used"].(float64), b["counted"].(bool)
}

// Two processes on one store count each other's searches: what one
// searched is free for the other without a Graph call, the 30th slot taken
// by one is refused by the other before any search reaches Instagram, and
// the refusal's retry_after_seconds comes from the other's recorded time.
func TestSearchHashtag_BudgetSharedThroughStore(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	clk := &hashtagClock{t: t0}
	dir := filepath.Join(t.TempDir(), "data")
	a := newEnv(t, envOpts{fake: fakegraph.Options{Now: clk.Now},
		media: tools.Deps{Hashtags: &tools.HashtagBudget{Now: clk.Now, Store: openStore(t, dir)}}})
	b := newEnvOn(t, a.fake, a.base, envOpts{fake: fakegraph.Options{Accounts: []fakegraph.Account{a.account}},
		media: tools.Deps{Hashtags: &tools.HashtagBudget{Now: clk.Now, Store: openStore(t, dir)}}})
	search := func(e *testEnv, name string) map[string]any {
		t.Helper()
		return mustOK(t, e.call(t, "search_hashtag", map[string]any{"hashtag": name}))
	}
	searches := func() int { return a.fake.CountCalls("GET", "/ig_hashtag_search") }

	search(b, "b0") // B's first search, at t0, before A has any
	clk.Set(t0.Add(time.Hour))
	var res map[string]any
	for i := 1; i <= 19; i++ {
		res = search(a, fmt.Sprintf("a%d", i))
	}
	if used, _ := budgetOf(t, res); used != 20 {
		t.Fatalf("A after 19 searches: used %v, want 20 (B's b0 included)", used)
	}

	// B already synced before A searched: only the store tells it.
	before := searches()
	res = search(b, "a5")
	if used, counted := budgetOf(t, res); used != 20 || counted || res["hashtag_id"] != a.fake.HashtagID("a5") {
		t.Fatalf("B searching A's hashtag: %v", res)
	}
	if searches() != before {
		t.Fatal("B searched Instagram for a hashtag A had already searched")
	}
	for i := 1; i <= 10; i++ {
		res = search(b, fmt.Sprintf("b%d", i))
	}
	if used, counted := budgetOf(t, res); used != 30 || !counted {
		t.Fatalf("B's 30th hashtag: %v", res)
	}

	// A is refused without a search call; the oldest search is B's b0.
	clk.Set(t0.Add(2 * time.Hour))
	before = searches()
	errObj := mustErr(t, a.call(t, "search_hashtag", map[string]any{"hashtag": "one_more"}), "rate_limited")
	if searches() != before {
		t.Fatal("A's refused search reached Instagram")
	}
	if want := float64((7*24 - 2) * 3600); errObj["retry_after_seconds"] != want {
		t.Fatalf("retry_after_seconds = %v, want %v (b0 leaves the window)", errObj["retry_after_seconds"], want)
	}
	if used, counted := budgetOf(t, search(a, "b7")); used != 30 || counted || searches() != before {
		t.Fatalf("A searching B's hashtag: used %v counted %v, %d search calls", used, counted, searches()-before)
	}
	if got := len(a.fake.HashtagSearches(a.account.ID)); got != 30 {
		t.Fatalf("Instagram counted %d hashtags, want 30", got)
	}
}

// A restarted server (a new budget) over the same store knows when its
// searches were made: retry_after_seconds is exact instead of the 24 h it
// must assume without the store, and the slot frees when it said.
func TestSearchHashtag_RetryAfterRestart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		withStore  bool
		wantRetry  float64
		whyDefault string
		// sent: without the store Instagram's list gives only ids, so the
		// new name may be one of them and only Instagram can refuse it.
		sent int
	}{
		{"store", true, 4 * 24 * 3600, "", 0}, // tag0 at t0 leaves the window at t0+7d; now is t0+3d
		{"memory only", false, 24 * 3600, "Instagram's list has no times", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			clk := &hashtagClock{t: t0}
			dir := filepath.Join(t.TempDir(), "data")
			first := newEnv(t, envOpts{fake: fakegraph.Options{Now: clk.Now},
				media: tools.Deps{Hashtags: &tools.HashtagBudget{Now: clk.Now, Store: openStore(t, dir)}}})
			for i := range 30 {
				clk.Set(t0.Add(time.Duration(i) * time.Hour))
				mustOK(t, first.call(t, "search_hashtag", map[string]any{"hashtag": fmt.Sprintf("tag%d", i)}))
			}

			// The restart: a new process, a new budget, the same database.
			clk.Set(t0.Add(3 * 24 * time.Hour))
			restarted := &tools.HashtagBudget{Now: clk.Now}
			if tc.withStore {
				restarted.Store = openStore(t, dir)
			}
			e := newEnvOn(t, first.fake, first.base, envOpts{fake: fakegraph.Options{Accounts: []fakegraph.Account{first.account}},
				media: tools.Deps{Hashtags: restarted}})
			searches := e.fake.CountCalls("GET", "/ig_hashtag_search")
			errObj := mustErr(t, e.call(t, "search_hashtag", map[string]any{"hashtag": "brand_new"}), "rate_limited")
			if errObj["retry_after_seconds"] != tc.wantRetry {
				t.Fatalf("retry_after_seconds = %v, want %v %s", errObj["retry_after_seconds"], tc.wantRetry, tc.whyDefault)
			}
			if n := e.fake.CountCalls("GET", "/ig_hashtag_search") - searches; n != tc.sent {
				t.Fatalf("%d searches reached Instagram, want %d", n, tc.sent)
			}

			// Just after tag0 left Instagram's window, the new hashtag fits.
			clk.Set(t0.Add(7*24*time.Hour + time.Second))
			res := mustOK(t, e.call(t, "search_hashtag", map[string]any{"hashtag": "brand_new"}))
			if used, counted := budgetOf(t, res); used != 30 || !counted || res["hashtag_id"] != e.fake.HashtagID("brand_new") {
				t.Fatalf("after the window: %v", res)
			}
		})
	}
}
