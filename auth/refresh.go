package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Why a token cannot be renewed now.
var (
	ErrTokenExpired = errors.New("the token has expired and can no longer be renewed")
	ErrTokenTooNew  = errors.New("Instagram renews a token only once it is at least 24 hours old")
	ErrNoApp        = errors.New("renewing a Facebook Login token needs the Meta app (INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET)")
	ErrNotRenewed   = errors.New("Facebook answered with the same token and expiry (it renews a token at most about once a day)")
	ErrNeverExpires = errors.New("the token does not expire: nothing to renew")
)

// dueAt is when a record should be renewed: Before ahead of its expiry
// (at most half of its lifetime), never before Instagram's minimum age.
// ok is false when it never needs (or can never get) a renewal.
func (p RefreshPolicy) dueAt(rec Record) (time.Time, bool) {
	if rec.Expiry.IsZero() {
		if rec.Login == LoginInstagram {
			// expiry unknown (a token brought by the user): a renewal tells it
			return rec.IssuedAt.Add(p.MinAge), true
		}
		return time.Time{}, false // Facebook: debug_token said it never expires
	}
	before := p.Before
	if !rec.IssuedAt.IsZero() {
		if life := rec.Expiry.Sub(rec.IssuedAt); life/2 < before {
			before = life / 2
		}
	}
	at := rec.Expiry.Add(-before)
	if rec.Login == LoginInstagram && !rec.IssuedAt.IsZero() {
		if min := rec.IssuedAt.Add(p.MinAge); at.Before(min) {
			at = min
		}
	}
	if !at.Before(rec.Expiry) {
		return time.Time{}, false // e.g. a 1-hour token: it expires before it may be renewed
	}
	return at, true
}

// nextRefresh is when the refresher acts on e next (the due time, or later
// after a failure).
func (r *Registry) nextRefresh(e *entry, now time.Time) (time.Time, bool) {
	rec := e.record()
	at, ok := r.policy.dueAt(rec)
	if !ok {
		return time.Time{}, false
	}
	e.mu.Lock()
	retry := e.retryAt
	e.mu.Unlock()
	if retry.After(at) {
		at = retry
	}
	if !rec.Expiry.IsZero() && !at.Before(rec.Expiry) && !now.Before(rec.Expiry) {
		return time.Time{}, false // expired: only a new login helps
	}
	return at, true
}

// canRefresh says whether a renewal may be attempted at now, and if not,
// when it may (zero: never).
func (r *Registry) canRefresh(rec Record, now time.Time) (time.Time, error) {
	switch {
	case !rec.Expiry.IsZero() && !now.Before(rec.Expiry):
		return time.Time{}, ErrTokenExpired
	case rec.Login == LoginInstagram && !rec.IssuedAt.IsZero() && now.Sub(rec.IssuedAt) < r.policy.MinAge:
		return rec.IssuedAt.Add(r.policy.MinAge), fmt.Errorf("%w (possible from %s)", ErrTokenTooNew, rec.IssuedAt.Add(r.policy.MinAge).UTC().Format(time.RFC3339))
	case rec.Login == LoginFacebook && !r.cfg.OAuth.HasAppSecret():
		return now.Add(24 * time.Hour), ErrNoApp
	case rec.Login == LoginFacebook && rec.Expiry.IsZero():
		return time.Time{}, ErrNeverExpires
	}
	return now, nil
}

// refresh renews e's token and stores it. One renewal per account runs at
// a time; a renewal another process stored meanwhile is adopted instead.
// manual renews even when not due (igmcp auth refresh).
func (r *Registry) refresh(ctx context.Context, e *entry, manual bool) error {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	now := r.now()
	if r.reloadEntry(ctx, e) && !manual {
		if at, ok := r.policy.dueAt(e.record()); !ok || now.Before(at) {
			return nil // another process renewed it
		}
	}
	rec := e.record()
	if next, err := r.canRefresh(rec, now); err != nil {
		e.mu.Lock()
		e.retryAt, e.lastErr = next, err.Error()
		if next.IsZero() {
			e.retryAt = now.Add(100 * 365 * 24 * time.Hour)
		}
		e.mu.Unlock()
		return err
	}
	g, err := r.cfg.OAuth.Refresh(ctx, rec.Login, rec.Token)
	if err == nil && g.Token == rec.Token && !g.Expiry.After(rec.Expiry) {
		err = ErrNotRenewed
	}
	if err != nil {
		e.mu.Lock()
		e.failures++
		e.lastErr = err.Error()
		backoff := r.policy.RetryMin << min(e.failures-1, 16)
		if backoff > r.policy.RetryMax || backoff <= 0 {
			backoff = r.policy.RetryMax
		}
		if errors.Is(err, ErrNotRenewed) {
			backoff = 24 * time.Hour
		}
		e.retryAt = now.Add(backoff)
		e.mu.Unlock()
		return err
	}
	next := rec
	next.Token, next.IssuedAt = g.Token, now.UTC()
	if !g.Expiry.IsZero() {
		next.Expiry = g.Expiry
	}
	if rec.Login == LoginFacebook {
		// keep the stored scopes current: a permission revoked since the
		// login shows up here (best effort)
		if info, err := r.cfg.OAuth.DebugToken(ctx, g.Token); err == nil {
			if len(next.Scopes) > 0 {
				next.Scopes = slices.DeleteFunc(slices.Clone(next.Scopes), func(s string) bool { return !slices.Contains(info.Scopes, s) })
			} else {
				next.Scopes = info.ScopesFor(rec.AccountID)
			}
			if !info.Expiry.IsZero() {
				next.Expiry = info.Expiry
			}
		}
	}
	stored, err := r.cfg.Tokens.Put(ctx, next)
	if err != nil {
		// the new token works: use it, and keep trying to store it
		e.set(next, now)
		e.mu.Lock()
		e.failures++
		e.lastErr = "renewed, but storing the new token failed: " + err.Error()
		e.retryAt = now.Add(r.policy.RetryMin)
		e.mu.Unlock()
		return fmt.Errorf("storing the renewed token: %w", err)
	}
	e.set(stored, now)
	r.log.Info("token renewed", "account", rec.AccountID, "login", string(rec.Login), "expires", stored.Expiry.UTC().Format(time.RFC3339))
	return nil
}

// RefreshNow renews the named account's token at once (igmcp auth
// refresh) and returns the stored record.
func (r *Registry) RefreshNow(ctx context.Context, account string) (Record, error) {
	e, err, retry := r.lookup(account)
	if err != nil && retry {
		if rerr := r.Reload(ctx); rerr == nil {
			e, err, _ = r.lookup(account)
		}
	}
	if err != nil {
		return Record{}, err
	}
	err = r.refresh(ctx, e, true)
	return e.record(), err
}

// Records lists the stored records (igmcp auth status, refresh).
func (r *Registry) Records() []Record {
	var out []Record
	for _, e := range r.sorted() {
		out = append(out, e.record())
	}
	return out
}

// Info describes one account for `igmcp auth status`.
func (r *Registry) Info(accountID string) (AccountInfo, bool) {
	r.mu.Lock()
	e := r.entries[accountID]
	r.mu.Unlock()
	if e == nil {
		return AccountInfo{}, false
	}
	return r.info(e, r.now()), true
}

// Run renews tokens in the background until ctx ends: it re-reads the
// store every Policy.Poll, renews each token when due, and backs off after
// failures. The server calls it once, in a goroutine.
func (r *Registry) Run(ctx context.Context) {
	for {
		if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("cannot re-read the token store", "err", err)
		}
		now := r.now()
		next := now.Add(r.policy.Poll)
		for _, e := range r.sorted() {
			if ctx.Err() != nil {
				return
			}
			at, ok := r.nextRefresh(e, now)
			if !ok {
				continue
			}
			if !now.Before(at) {
				if err := r.refresh(ctx, e, false); err != nil && ctx.Err() == nil {
					r.log.Warn("token renewal failed", "account", e.id, "err", err)
				}
				if at, ok = r.nextRefresh(e, now); !ok {
					continue
				}
			}
			if at.Before(next) {
				next = at
			}
		}
		wait := max(min(next.Sub(r.now()), r.policy.Poll), time.Millisecond)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// Kick makes Run look at the accounts now (after a login in-process, or
// in tests after moving a clock).
func (r *Registry) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}
