// Package ratelimit is the per-account rate-limit governor: it reads Meta's
// usage headers from every answer, slows an account down as it nears its
// allowance, refuses calls outright (without spending one) while a limit is
// in force, and bounds how many calls an account has in flight.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
)

// Config tunes the governor. Zero values take the defaults.
type Config struct {
	// MaxConcurrent bounds the calls in flight per account (carousel
	// children included). Default 10: a full carousel's items go out in one
	// wave, and no more (Meta documents no concurrency limit; this keeps one
	// busy account from monopolising the app's budget).
	MaxConcurrent int
	// SlowAbove is the usage percentage from which calls are spaced out.
	// Default 80.
	SlowAbove int
	// MaxSpacing is the gap between calls just below 100 %; the gap grows
	// linearly from 0 at SlowAbove. Default 10 s.
	MaxSpacing time.Duration
	// MaxWait is the longest a call is held back for spacing; beyond it the
	// call is refused with the time to wait. Default 30 s.
	MaxWait time.Duration
	// DefaultBlock is how long an account is held back after a rate-limit
	// error that gave no estimate. Default 5 min.
	DefaultBlock time.Duration
	// Now is the clock (tests).
	Now func() time.Time
	// Shared, when set, is the store several igmcp processes share: usage
	// and blocks seen by one process hold back the others too.
	Shared Shared
	// SyncEvery is how often an account's shared state is re-read.
	// Default 5 s.
	SyncEvery time.Duration
}

// Shared is the cross-process rate state (store.Store implements it).
type Shared interface {
	RecordUsage(ctx context.Context, accountID string, appPct, businessPct int, at time.Time) error
	BlockUntil(ctx context.Context, accountID string, until time.Time) error
	GetRateState(ctx context.Context, accountID string) (store.RateState, error)
}

func (c *Config) defaults() {
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 10
	}
	if c.SlowAbove <= 0 || c.SlowAbove >= 100 {
		c.SlowAbove = 80
	}
	if c.MaxSpacing <= 0 {
		c.MaxSpacing = 10 * time.Second
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 30 * time.Second
	}
	if c.DefaultBlock <= 0 {
		c.DefaultBlock = 5 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SyncEvery <= 0 {
		c.SyncEvery = 5 * time.Second
	}
}

// Governor holds the state of every account, plus the app-wide state that
// X-App-Usage and app-level errors (graph.Error.IsAppRateLimit) describe.
type Governor struct {
	cfg      Config
	mu       sync.Mutex
	accounts map[string]*account
	app      state
}

type state struct {
	percent      int       // latest usage percentage seen
	blockedUntil time.Time // no call before this
	reason       string
}

type account struct {
	sem         chan struct{}
	state       state
	usageAt     time.Time // when state.percent was observed
	nextAllowed time.Time // spacing: earliest start of the next call
	synced      time.Time // last read of the shared state
}

// New builds a Governor.
func New(cfg Config) *Governor {
	cfg.defaults()
	return &Governor{cfg: cfg, accounts: map[string]*account{}}
}

// For returns the Limiter of one account; clients of the same account share
// its budget.
func (g *Governor) For(accountID string) graph.Limiter {
	return limiter{g: g, id: accountID}
}

// Status is what the governor knows of an account.
type Status struct {
	UsagePercent int
	BlockedUntil time.Time
	InFlight     int
}

// Status reports an account's state.
func (g *Governor) Status(accountID string) Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.account(accountID)
	st := Status{UsagePercent: max(a.state.percent, g.app.percent), InFlight: len(a.sem)}
	st.BlockedUntil = a.state.blockedUntil
	if g.app.blockedUntil.After(st.BlockedUntil) {
		st.BlockedUntil = g.app.blockedUntil
	}
	return st
}

func (g *Governor) account(id string) *account {
	a, ok := g.accounts[id]
	if !ok {
		a = &account{sem: make(chan struct{}, g.cfg.MaxConcurrent)}
		g.accounts[id] = a
	}
	return a
}

type limiter struct {
	g  *Governor
	id string
}

func (l limiter) Acquire(ctx context.Context) (func(int, graph.Usage, error), error) {
	g := l.g
	g.sync(ctx, l.id)
	g.mu.Lock()
	a := g.account(l.id)
	now := g.cfg.Now()
	if err := g.blocked(a, now); err != nil {
		g.mu.Unlock()
		return nil, err
	}
	// Reserve a start time: calls of a busy account are spaced so the
	// usage drifts down instead of crossing 100 %.
	start := now
	if spacing := g.spacing(max(a.state.percent, g.app.percent)); spacing > 0 {
		if a.nextAllowed.After(start) {
			start = a.nextAllowed
		}
		if start.Sub(now) > g.cfg.MaxWait {
			g.mu.Unlock()
			return nil, &graph.ThrottledError{RetryAfter: start.Sub(now), Reason: fmt.Sprintf("the account is at %d%% of its Instagram rate limit", max(a.state.percent, g.app.percent))}
		}
		a.nextAllowed = start.Add(spacing)
	}
	g.mu.Unlock()

	if wait := start.Sub(now); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func(status int, u graph.Usage, err error) {
		once.Do(func() {
			<-a.sem
			g.observe(l.id, a, u, err)
		})
	}, nil
}

// sync merges what other processes recorded, at most every SyncEvery.
func (g *Governor) sync(ctx context.Context, id string) {
	if g.cfg.Shared == nil {
		return
	}
	g.mu.Lock()
	a := g.account(id)
	due := g.cfg.Now().Sub(a.synced) >= g.cfg.SyncEvery
	if due {
		a.synced = g.cfg.Now()
	}
	g.mu.Unlock()
	if !due {
		return
	}
	st, err := g.cfg.Shared.GetRateState(ctx, id)
	if err != nil {
		return // nothing shared yet, or the store is down: local state stands
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if st.UsageAt.After(a.usageAt) {
		a.state.percent, a.usageAt = st.BusinessUsagePct, st.UsageAt
		g.app.percent = max(g.app.percent, st.AppUsagePct)
	}
	block(&a.state, st.BlockedUntil, "another igmcp process saw this account reach its Instagram rate limit")
}

// blocked refuses a call while a limit is in force (caller holds g.mu).
func (g *Governor) blocked(a *account, now time.Time) error {
	for _, st := range []state{a.state, g.app} {
		if now.Before(st.blockedUntil) {
			return &graph.ThrottledError{RetryAfter: st.blockedUntil.Sub(now), Reason: st.reason}
		}
	}
	return nil
}

func (g *Governor) spacing(percent int) time.Duration {
	if percent < g.cfg.SlowAbove {
		return 0
	}
	if percent >= 100 {
		return g.cfg.MaxSpacing
	}
	return time.Duration(float64(g.cfg.MaxSpacing) * float64(percent-g.cfg.SlowAbove) / float64(100-g.cfg.SlowAbove))
}

// observe records what an answer said about the budget, and shares it.
func (g *Governor) observe(id string, a *account, u graph.Usage, err error) {
	g.mu.Lock()
	before := a.state.blockedUntil
	g.observeLocked(a, u, err)
	now, st, app := g.cfg.Now(), a.state, g.app.percent
	g.mu.Unlock()
	if g.cfg.Shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if len(u.BUC) > 0 || u.App != nil {
		_ = g.cfg.Shared.RecordUsage(ctx, id, app, st.percent, now)
	}
	if st.blockedUntil.After(before) {
		_ = g.cfg.Shared.BlockUntil(ctx, id, st.blockedUntil)
	}
}

func (g *Governor) observeLocked(a *account, u graph.Usage, err error) {
	now := g.cfg.Now()
	if len(u.BUC) > 0 {
		a.state.percent, a.usageAt = bucPercent(u), now
	}
	if u.App != nil {
		g.app.percent = max(u.App.CallCount, u.App.TotalCPUTime, u.App.TotalTime)
	}
	regain := u.RegainAccessIn()
	switch {
	case regain > 0 && len(u.BUC) > 0:
		block(&a.state, now.Add(regain), "Instagram says this account must wait before calling again")
	case len(u.BUC) > 0 && a.state.percent >= 100:
		// At the limit without an estimate: the next call would only earn
		// an error, so hold the account back for a while.
		block(&a.state, now.Add(g.cfg.DefaultBlock), "the account has used 100% of its Instagram rate limit")
	}
	var ge *graph.Error
	if !errors.As(err, &ge) || !ge.IsRateLimit() {
		return // a spam block, like any other refusal, is not a rate limit
	}
	wait := regain
	if wait <= 0 {
		wait = g.cfg.DefaultBlock
	}
	if ge.IsAppRateLimit() {
		// (#4), (#341): the app's limit: every account of this app waits.
		block(&g.app, now.Add(wait), fmt.Sprintf("the Meta app's request limit is reached (code %d)", ge.Code))
		return
	}
	block(&a.state, now.Add(wait), fmt.Sprintf("the account's Instagram rate limit is reached (code %d)", ge.Code))
}

func block(st *state, until time.Time, reason string) {
	if until.After(st.blockedUntil) {
		st.blockedUntil, st.reason = until, reason
	}
}

func bucPercent(u graph.Usage) int {
	p := 0
	for _, entries := range u.BUC {
		for _, e := range entries {
			p = max(p, e.CallCount, e.TotalCPUTime, e.TotalTime)
		}
	}
	return p
}
