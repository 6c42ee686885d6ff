package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/store"
)

// errLeaseLost cancels a publish whose schedule another process now holds.
var errLeaseLost = errors.New("scheduler: lease lost")

// ErrCancelled is what Config.BeforeSend wraps to stop a job before its
// send: the job ends cancelled.
var ErrCancelled = errors.New("scheduler: cancelled before the publish was sent")

// finishTimeout bounds the store writes that record an outcome. They run on
// a context of their own so a shutdown cannot drop the record of a publish
// that has happened.
const finishTimeout = 10 * time.Second

// Run runs the loop until ctx ends, then lets publishes in flight finish for
// up to DrainTimeout, cancels the rest and releases their schedules. It
// returns nil after a shutdown; a Scheduler runs once at a time.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("scheduler: already running")
	}
	defer s.running.Store(false)

	// Publishes run on their own context: the end of ctx starts the drain,
	// it does not cut a media_publish in half.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup

	s.log.Info("scheduler started", "tick", s.cfg.Tick, "lease", s.cfg.Lease, "grace", s.cfg.Grace, "concurrency", s.cfg.Concurrency)
	ticker := time.NewTicker(s.cfg.Tick)
	defer ticker.Stop()
	var lastMaintenance time.Time
	for {
		// Expired leases and missed schedules are looked for once per tick;
		// claims also happen whenever a slot frees or a job arrives, so a
		// backlog drains at the speed of publishing, not of the tick.
		if now := s.cfg.Now(); now.Sub(lastMaintenance) >= s.cfg.Tick {
			s.maintain(ctx)
			lastMaintenance = now
		}
		s.claim(ctx, work, &wg)
		select {
		case <-ctx.Done():
			return s.drain(&wg, stopWork)
		case <-ticker.C:
		case <-s.wake:
		}
	}
}

func (s *Scheduler) drain(wg *sync.WaitGroup, stopWork context.CancelFunc) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(s.cfg.DrainTimeout):
		s.log.Info("cancelling publishes still in flight at shutdown; their schedules are released")
		stopWork()
		<-done
	}
	s.log.Info("scheduler stopped")
	return nil
}

// maintain recovers schedules of dead processes and marks missed ones. Every
// process does it; both are single UPDATEs, so concurrent runs do each row
// once.
func (s *Scheduler) maintain(ctx context.Context) {
	now := s.cfg.Now()
	recovered, err := s.cfg.Store.RecoverExpiredLeases(ctx, now)
	if err != nil && ctx.Err() == nil {
		s.log.Error("recovering expired leases", "err", err)
	}
	for _, sc := range recovered {
		s.log.Warn("lease expired, schedule will be resumed", "schedule", sc.ID, "account", sc.AccountID, "attempts", sc.Attempts)
	}
	missed, err := s.cfg.Store.MarkMissed(ctx, now.Add(-s.cfg.Grace))
	if err != nil && ctx.Err() == nil {
		s.log.Error("marking missed schedules", "err", err)
	}
	for _, sc := range missed {
		s.log.Warn("schedule missed: no server ran within the grace window", "schedule", sc.ID, "account", sc.AccountID,
			"publish_at", sc.PublishAt, "grace", s.cfg.Grace)
	}
}

// claim leases as many due schedules as there are free slots and starts a
// publish for each.
func (s *Scheduler) claim(ctx, work context.Context, wg *sync.WaitGroup) {
	free := cap(s.slots) - len(s.slots)
	if free <= 0 || ctx.Err() != nil {
		return
	}
	claimed, err := s.cfg.Store.ClaimDue(ctx, s.cfg.Now(), s.cfg.Owner, s.cfg.Lease, free, s.skipped()...)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("claiming due schedules", "err", err)
		}
		return
	}
	for _, sc := range claimed {
		s.slots <- struct{}{} // never blocks: at most free were claimed, and only this goroutine takes slots
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				<-s.slots
				s.poke()
			}()
			s.execute(work, sc)
		}()
	}
}

// skipped lists the accounts whose schedules are left to other processes
// for now.
func (s *Scheduler) skipped() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	var out []string
	for acct, until := range s.skip {
		if now.Before(until) {
			out = append(out, acct)
		} else {
			delete(s.skip, acct)
		}
	}
	return out
}

// verdict is what happens to a claimed schedule after an attempt.
type verdict int

const (
	complete    verdict = iota // record outcome (published or failed)
	release                    // give it back untouched: shutdown
	skipAccount                // not this process's account: give it back and leave the account alone
)

// execute publishes one claimed schedule while keeping its lease alive.
func (s *Scheduler) execute(ctx context.Context, sc store.Schedule) {
	ctx, cancel := context.WithCancelCause(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		s.keepLease(ctx, cancel, sc.ID)
	}()
	v, out := s.attempt(ctx, sc)
	lost := errors.Is(context.Cause(ctx), errLeaseLost)
	cancel(nil)
	<-renewed

	log := s.log.With("schedule", sc.ID, "account", sc.AccountID)
	if lost && v != complete {
		// Another process holds it now and publishes it with the same
		// idempotency key. (An outcome reached anyway is still offered to
		// the store below: the owner check refuses it if it is too late.)
		log.Warn("lease lost while publishing; another process took the schedule over")
		return
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer fcancel()
	switch v {
	case release, skipAccount:
		if v == skipAccount {
			s.mu.Lock()
			s.skip[sc.AccountID] = s.cfg.Now().Add(s.cfg.SkipFor)
			s.mu.Unlock()
			log.Info("this process cannot act as the schedule's account; leaving it to others", "for", s.cfg.SkipFor)
		}
		if _, err := s.cfg.Store.ReleaseSchedule(fctx, sc.ID, s.cfg.Owner); err != nil && !errors.Is(err, store.ErrConflict) {
			log.Error("releasing schedule (its lease will expire instead)", "err", err)
		}
	case complete:
		var err error
		for try := range 3 {
			if try > 0 {
				time.Sleep(time.Duration(try) * 200 * time.Millisecond)
			}
			_, err = s.cfg.Store.CompleteSchedule(fctx, sc.ID, s.cfg.Owner, out)
			if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
				break
			}
		}
		switch {
		case errors.Is(err, store.ErrConflict):
			log.Warn("lease expired before the outcome was recorded; the process that took over resumes with the same key", "outcome", out.To)
		case err != nil:
			// The lease expires, another attempt resumes under the same key
			// and finds the publish done in the ledger.
			log.Error("recording the outcome failed", "outcome", out.To, "err", err)
		case out.To == store.RunPublished:
			log.Info("published", "media", out.MediaID, "late", s.cfg.Now().Sub(sc.PublishAt).Round(time.Millisecond))
		case out.To == store.RunCancelled:
			log.Info("cancelled before the send; nothing was published")
		default:
			log.Warn("publish failed", "kind", out.ErrorKind)
		}
	}
}

// keepLease renews the lease every Lease/3 until ctx ends; when the lease
// is gone (recovered by another process after a stall), it cancels the
// publish with errLeaseLost.
func (s *Scheduler) keepLease(ctx context.Context, cancel context.CancelCauseFunc, id string) {
	t := time.NewTicker(max(s.cfg.Lease/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := s.cfg.Store.RenewLease(ctx, id, s.cfg.Owner, s.cfg.Now(), s.cfg.Lease)
		switch {
		case err == nil:
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			cancel(errLeaseLost)
			return
		case ctx.Err() == nil:
			// The database hiccuped: try again next time; the lease
			// has two more renewals' worth of slack.
			s.log.Warn("renewing lease", "schedule", id, "err", err)
		}
	}
}

// attempt publishes sc, retrying failures called retryable for up to
// RetryFor within the claim. Every try runs with the schedule's key, so a
// try after an ambiguous failure resumes the previous one.
func (s *Scheduler) attempt(ctx context.Context, sc store.Schedule) (verdict, store.RunOutcome) {
	// The input rules were checked when it was scheduled, and Run checks
	// them again; a stored post that no longer decodes (the rules changed
	// between versions) cannot be helped by retrying.
	r, err := publish.DecodeRequest(string(sc.Kind), sc.Args, sc.IdempotencyKey)
	if err != nil {
		return complete, failed(err)
	}
	giveUp := s.cfg.Now().Add(s.cfg.RetryFor)
	for try := 1; ; try++ {
		res, err := s.publishOnce(ctx, sc, r)
		if err == nil {
			return complete, s.succeeded(res)
		}
		if errors.Is(err, ErrCancelled) {
			return complete, store.RunOutcome{To: store.RunCancelled}
		}
		if ctx.Err() != nil {
			return release, store.RunOutcome{}
		}
		if errors.Is(err, errNotMine) {
			return skipAccount, store.RunOutcome{}
		}
		fe := failure.Classify(err)
		if !fe.Retryable {
			return complete, failed(fe)
		}
		delay := min(s.cfg.RetryBase<<min(try-1, 16), time.Minute)
		if ra := time.Duration(fe.RetryAfter) * time.Second; ra > delay {
			delay = ra
		}
		if delay > s.cfg.MaxRetryDelay || s.cfg.Now().Add(delay).After(giveUp) {
			return complete, failed(fe)
		}
		s.log.Info("retrying publish", "schedule", sc.ID, "kind", fe.Kind, "in", delay, "try", try)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return release, store.RunOutcome{}
		case <-t.C:
		}
	}
}

// errNotMine marks an account this process cannot act as.
var errNotMine = errors.New("scheduler: account not served by this process")

func (s *Scheduler) publishOnce(ctx context.Context, sc store.Schedule, r publish.Request) (*publish.Result, error) {
	acct, err := s.cfg.Accounts.Resolve(ctx, sc.AccountID)
	if err != nil {
		// Resolve answers invalid_input for an account this process does
		// not act as, and auth_expired when it acts as none at all (no
		// token, an empty token store). Either way another process sharing
		// the store may publish it, so the schedule is left, not failed.
		// A token Instagram rejects is not this: it resolves, and the
		// publish fails with Instagram's auth_expired.
		if k := failure.Classify(err).Kind; k == failure.InvalidInput || k == failure.AuthExpired {
			return nil, fmt.Errorf("%w: %v", errNotMine, err)
		}
		return nil, err
	}
	o := publish.Options{Wait: s.cfg.PublishWait}
	if s.cfg.BeforeSend != nil {
		o.BeforeSend = func(ctx context.Context) error { return s.cfg.BeforeSend(ctx, sc.ID) }
	}
	return s.cfg.Publisher.Run(ctx, &publish.Account{ID: acct.ID, Username: acct.Username, Login: acct.Login, Graph: acct.Client}, r, o)
}

func (s *Scheduler) succeeded(res *publish.Result) store.RunOutcome {
	if res == nil || res.Status != publish.StatusPublished {
		// Still processing after PublishWait: retrying here would only
		// wait again, so hand the container to the user.
		cid := ""
		if res != nil {
			cid = res.ContainerID
		}
		e := failure.New(failure.ContainerNotReady, fmt.Sprintf("Instagram was still processing container %s when the scheduler stopped waiting (%s).", cid, s.cfg.PublishWait))
		e.Action = fmt.Sprintf("Poll get_container_status with container_id %s and call publish_container when it is FINISHED.", cid)
		return failed(e)
	}
	b, err := json.Marshal(res)
	if err != nil {
		b = nil // a Result always marshals; keep the media id regardless
	}
	return store.RunOutcome{To: store.RunPublished, MediaID: res.MediaID, Result: b}
}

// failed records the docs/reference.md §4 error object.
func failed(err error) store.RunOutcome {
	fe := failure.Classify(err)
	b, _ := json.Marshal(fe) // plain struct: always marshals
	return store.RunOutcome{To: store.RunFailed, ErrorKind: string(fe.Kind), Error: b}
}
