package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
)

// publishOnce sends media_publish once. media_publish is not idempotent:
// a failure that may have published (see ambiguous) is settled by the
// caller, never by sending again here.
func (p *Publisher) publishOnce(ctx context.Context, a *Account, containerID string, sendBy time.Time) (Published, []string, error) {
	// The request must be on its way by sendBy (a limiter's wait, a slow
	// dial): after it, others may take the send for lost. A deadline that
	// cuts it short is a transport error: ambiguous, settled by status.
	sendCtx, cancel := context.WithDeadline(ctx, sendBy)
	m, _, err := a.Graph.Publish(sendCtx, a.ID, containerID)
	cancel()
	if err != nil {
		if fe := failure.Classify(err); fe.Kind == failure.PublishLimitReached {
			p.quotaExhausted(a)
			if e, qerr := p.quotaEntry(ctx, a); qerr == nil && e.total > 0 {
				return Published{}, nil, p.limitReached(ctx, a, max(e.usage, e.total), e.total, e.window, fe)
			}
		}
		return Published{}, nil, err
	}
	done := Published{MediaID: m.ID, Permalink: m.Permalink}
	var warns []string
	if done.Permalink == "" {
		// Instagram may ignore read-after-write; one read fills it in.
		if md, _, gerr := a.Graph.GetMedia(ctx, m.ID, "id", "permalink"); gerr == nil {
			done.Permalink = md.Permalink
		} else {
			warns = append(warns, "Published, but the permalink could not be read: "+failure.Classify(gerr).Message)
		}
	}
	p.countPublish(ctx, a)
	return done, warns, nil
}

// settle finds out what became of a send of the container whose answer was
// lost (cause, its answer arriving at since), or of a send recorded in the
// ledger whose outcome never was (cause nil: a crash, or another caller
// sending now). The container's status decides, read with backoff:
// PUBLISHED is the post. FINISHED is no proof that the send was lost — Meta
// may put a request into effect seconds after its answer was lost — so
// media_publish is sent again only after the container has read FINISHED
// for the whole send grace since the last send (its claim in the ledger or
// its lost answer, whichever is later), at most once per call (resent), and
// never after a spam block. When the caller's wait ends first the outcome
// is unknown, with the time the grace ends.
func (p *Publisher) settle(ctx context.Context, t *tracker, containerID string, since time.Time, cause error, resent bool, deadline time.Time, o Options) (*Result, error) {
	res := &Result{ContainerID: containerID, ChildContainerIDs: t.rec.ChildIDs}
	findSince := t.rec.UpdatedAt // no earlier than the send in question was claimed
	if !since.IsZero() && since.Before(findSince) {
		findSince = since
	}
	delay := p.poll.Video.Initial
	readErrors := 0
	for {
		graceEnd, err := p.graceEnd(ctx, t, containerID, since)
		if err != nil {
			return nil, err
		}
		if t.rec.State == store.PublishPublished { // settled by another caller
			return replay(t.rec)
		}
		readAt := time.Now()
		c, _, err := t.a.Graph.GetContainer(ctx, containerID)
		switch {
		case err != nil:
			readErrors++
			if ctx.Err() != nil || readErrors >= p.maxPollErrors {
				return nil, p.unknown(ctx, t, containerID, graceEnd, cause, err)
			}
		case c.StatusCode == graph.StatusPublished:
			if cause != nil {
				p.countPublish(ctx, t.a)
				res.Warnings = append(res.Warnings, "The publish answer was lost; the container reads PUBLISHED, so the post is live and was not published again.")
			}
			return p.adoptPublished(ctx, t, res, findSince)
		case c.StatusCode == graph.StatusFinished && !readAt.Before(graceEnd):
			// FINISHED for the whole grace: the send never took effect.
			if resent || (cause != nil && failure.Classify(cause).Kind == failure.SpamBlocked) {
				return nil, p.notPublished(ctx, t, containerID, cause)
			}
			return p.send(ctx, t, containerID, true, deadline, o)
		case c.StatusCode == graph.StatusError || c.StatusCode == graph.StatusExpired:
			err := terminalError(c, "")
			return nil, p.notPublished(ctx, t, containerID, err)
		default:
			readErrors = 0
		}
		now := time.Now()
		if !now.Before(deadline) {
			return nil, p.unknown(ctx, t, containerID, graceEnd, cause, nil)
		}
		sleep := min(delay, deadline.Sub(now))
		if wait := graceEnd.Sub(now); wait > 0 && wait < sleep {
			sleep = wait // look again as soon as the grace is over
		}
		if err := sleepCtx(ctx, sleep); err != nil {
			return nil, p.unknown(ctx, t, containerID, graceEnd, cause, nil)
		}
		delay = p.poll.Video.next(delay)
	}
}

// graceEnd is when the last send of the container stops counting as
// possibly in flight: the send grace after the latest of since, the
// caller's record and the container's record while it is in publish_sent.
// It re-reads t's record (another caller may have settled it).
func (p *Publisher) graceEnd(ctx context.Context, t *tracker, containerID string, since time.Time) (time.Time, error) {
	last := since
	rec, err := p.store.GetPublish(ctx, t.a.ID, t.job.key)
	if err != nil {
		return time.Time{}, storeError(err)
	}
	t.rec = rec
	if rec.UpdatedAt.After(last) {
		last = rec.UpdatedAt
	}
	if key := containerKeyPrefix + containerID; key != t.job.key {
		if crec, err := p.store.GetPublish(ctx, t.a.ID, key); err == nil && crec.State == store.PublishSent && crec.UpdatedAt.After(last) {
			last = crec.UpdatedAt
		}
	}
	return last.Add(p.sendGrace), nil
}

// notPublished records a send settled as certainly not published (its
// container read FINISHED for the whole grace, or ended in ERROR/EXPIRED):
// the caller's record and the container's record fail with err, so the
// same key may try again.
func (p *Publisher) notPublished(ctx context.Context, t *tracker, containerID string, err error) error {
	if err == nil {
		err = failure.New(failure.Transient, fmt.Sprintf("media_publish of container %s never took effect: the container stayed FINISHED for the whole send grace.", containerID))
	}
	fe := failure.Classify(err)
	if fe.Kind == failure.Transient && fe.Action == "" {
		cp := *fe
		cp.Action = "Call again with the same idempotency_key: nothing was published."
		fe = &cp
	}
	t.fail(ctx, fe)
	if ct, cerr := p.containerRecord(ctx, t, containerID); cerr == nil && ct != t && ct.rec.State == store.PublishSent {
		ct.fail(ctx, fe)
	}
	p.journal(ctx, t.a, t.job, "failed", fe, containerIDs(&graph.Container{ID: containerID}, t.rec.ChildIDs))
	return fe
}

// unknown ends a settle that ran out of time (or of status reads) while a
// send may still take effect. The records stay in publish_sent: the same
// key settles it later, and nothing sends the container again before the
// grace is over.
func (p *Publisher) unknown(ctx context.Context, t *tracker, containerID string, graceEnd time.Time, cause, readErr error) error {
	at := graceEnd.UTC().Add(time.Second - time.Nanosecond).Truncate(time.Second).Format(time.RFC3339)
	why := "an earlier media_publish of it is still unsettled"
	if cause != nil {
		why = "its answer was lost (" + failure.Classify(cause).Message + ")"
	}
	msg := fmt.Sprintf("media_publish of container %s was sent and %s. Instagram may still publish it until %s, so it was not sent again.", containerID, why, at)
	if readErr != nil {
		msg += " Its status could not be read: " + failure.Classify(readErr).Message
	}
	e := failure.New(failure.OutcomeUnknown, msg)
	e.Action = fmt.Sprintf("Do not publish this content under a new key. At %s or later call get_container_status with container_id %s: PUBLISHED means the post is live; FINISHED means it was never published. Either way, repeating this call with the same idempotency_key (or publish_container) then finishes it, once.", at, containerID)
	p.journal(ctx, t.a, t.job, "unknown", e, containerIDs(&graph.Container{ID: containerID}, t.rec.ChildIDs))
	return e
}

// findMedia looks for the media a lost publish created. The container
// reads PUBLISHED, so that media is live and among the account's newest:
// the candidates are those published since the attempt began (less a
// margin for clock skew), of our caption when we know it. Exactly one
// candidate is ours; more, or none, and the id is left unknown rather than
// guessed. Stories are not among the feed media: they are looked for among
// the live stories.
func (p *Publisher) findMedia(ctx context.Context, a *Account, job keyedRun, since time.Time) (Published, []string) {
	list, what := a.Graph.RecentMedia, "recent media"
	if job.story {
		list, what = a.Graph.RecentStories, "live stories"
	}
	media, _, err := list(ctx, a.ID, 10)
	if err != nil {
		return Published{}, []string{fmt.Sprintf("The media id is unknown (the account's %s could not be read); list them to find it.", what)}
	}
	var found []graph.Media
	for _, m := range media {
		ts, terr := time.Parse(graphTime, m.Timestamp)
		if terr == nil && ts.Before(since.Add(-2*time.Minute)) {
			continue
		}
		if job.story || job.anyCaption || strings.TrimSpace(m.Caption) == strings.TrimSpace(job.caption) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		return Published{}, []string{fmt.Sprintf("The media id could not be determined for sure; list the account's %s to find it.", what)}
	}
	return Published{MediaID: found[0].ID, Permalink: found[0].Permalink}, nil
}

// ambiguous reports whether a failed media_publish may still have published.
// A Graph 4xx that rejects the request (not ready, quota, auth, bad id, rate
// limit) did nothing; a lost answer, a 5xx, a transient code or a spam block
// (after which posts have been seen to go live) may have.
func ambiguous(err error) bool {
	var te *graph.TransportError
	if errors.As(err, &te) {
		return true
	}
	var de *graph.DecodeError
	if errors.As(err, &de) {
		return true // a 2xx we could not read: most likely published
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		if ge.HTTPStatus >= 500 {
			return true
		}
		switch failure.Classify(ge).Kind {
		case failure.Transient, failure.SpamBlocked, failure.Upstream:
			return true
		}
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
