package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/store"
)

// Keys igmcp makes itself; a caller's idempotency_key may not use these
// prefixes (schedules and jobs publish under schedule:<id> and job:<id>).
const (
	autoKeyPrefix      = "auto:"
	containerKeyPrefix = "container:"
)

var reservedKeyPrefixes = []string{autoKeyPrefix, containerKeyPrefix, "schedule:", "job:"}

// defaultSendGrace is how long a publish_sent record may be in flight in
// another call or process before a FINISHED container proves the publish was
// lost rather than slow. Meta answers media_publish in seconds.
const defaultSendGrace = 2 * time.Minute

// WithSendGrace changes defaultSendGrace; zero keeps the default.
func WithSendGrace(d time.Duration) Option {
	return func(p *Publisher) {
		if d > 0 {
			p.sendGrace = d
		}
	}
}

// CheckIdempotencyKey validates a caller's key.
func CheckIdempotencyKey(key string) error {
	if len(key) > 200 {
		return failure.Invalid("idempotency_key", "idempotency_key is at most 200 characters")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return failure.Invalid("idempotency_key", "idempotency_key must not contain control characters")
		}
	}
	for _, pre := range reservedKeyPrefixes {
		if strings.HasPrefix(key, pre) {
			return failure.Invalid("idempotency_key", "idempotency_key must not start with %q (reserved)", pre)
		}
	}
	return nil
}

// Run publishes r exactly once per (account, IdempotencyKey): a repeat
// returns the recorded result, and a call interrupted at any step (even by
// a crash) resumes where it stopped. It is the one way to publish a post:
// it checks the request (key, input rules, local file; not again when
// Validate passed), then the media (preflight) and the quota, all before
// any container is created.
func (p *Publisher) Run(ctx context.Context, a *Account, r Request, o Options) (*Result, error) {
	c, err := r.checkOnce()
	if err != nil {
		return nil, err
	}
	if err := r.ValidateFor(a); err != nil {
		return nil, err
	}
	if c.file != nil && !c.file.Video && p.local.Stager == nil {
		return nil, NoStagingError(c.file.Field)
	}
	digest, err := c.digest(r.Kind, o)
	if err != nil {
		return nil, err
	}
	key := r.IdempotencyKey
	if key == "" {
		key = autoKeyPrefix + randomID()
	}
	// Preflight (IGMCP_PREFLIGHT) looks at the media given by URL once,
	// before any container (check judged local files already); a key
	// already published replays without fetching anything.
	var warnings []string
	if p.preflight != nil {
		if rec, err := p.store.GetPublish(ctx, a.ID, key); err != nil || rec.State != store.PublishPublished {
			if warnings, err = p.preflight(ctx, urlMedia(c.kind.media())); err != nil {
				return nil, err
			}
		}
	}
	if err := p.checkQuota(ctx, a); err != nil {
		return nil, err
	}
	b := &builder{p: p, a: a, progress: o.Progress, local: p.localMedia(o), file: c.file}
	job := keyedRun{
		key: key, digest: digest, caption: c.kind.caption(), firstComment: c.kind.firstComment(), story: r.Kind == KindStory,
		build: func(ctx context.Context, deadline time.Time) (*graph.Container, []string, mediaKind, error) {
			b.deadline = deadline
			return c.kind.build(ctx, b)
		},
	}
	res, err := p.runKeyed(ctx, a, job, o)
	if res != nil && len(warnings) > 0 {
		res.Warnings = append(warnings, res.Warnings...)
	}
	return res, err
}

func urlMedia(ms []preflight.Media) []preflight.Media {
	var out []preflight.Media
	for _, m := range ms {
		if m.URL != "" {
			out = append(out, m)
		}
	}
	return out
}

// PublishContainer publishes a container created earlier (a draft, or a Reel
// that outlasted wait_seconds). It is safe to repeat: the container's publish
// is recorded under its id, so a repeat answers from the ledger.
func (p *Publisher) PublishContainer(ctx context.Context, a *Account, containerID string, o Options) (*Result, error) {
	if !numericRE.MatchString(containerID) {
		return nil, failure.Invalid("container_id", "container_id is the numeric id returned by a publishing tool")
	}
	key := containerKeyPrefix + containerID
	if rec, err := p.store.GetPublish(ctx, a.ID, key); err == nil && rec.State == store.PublishPublished {
		return replay(rec)
	}
	job := keyedRun{
		key: key, digest: key, anyCaption: true,
		build: func(ctx context.Context, _ time.Time) (*graph.Container, []string, mediaKind, error) {
			c, _, err := a.Graph.GetContainer(ctx, containerID)
			if err == nil && c.StatusCode != graph.StatusPublished {
				err = p.checkQuota(ctx, a)
			}
			return c, nil, kindVideo, err
		},
	}
	o.Draft = false
	return p.runKeyed(ctx, a, job, o)
}

type buildFunc func(ctx context.Context, deadline time.Time) (*graph.Container, []string, mediaKind, error)

type keyedRun struct {
	key, digest           string
	caption, firstComment string
	build                 buildFunc
	// story: a Story is not among the feed media and has no caption: a
	// lost publish's media id is looked for among the live stories.
	story bool
	// anyCaption: the caption is not known (publish_container of a
	// container made earlier), so a lost publish is matched by time alone.
	anyCaption bool
}

// runKeyed drives one ledger record from wherever it stands to an outcome.
func (p *Publisher) runKeyed(ctx context.Context, a *Account, job keyedRun, o Options) (*Result, error) {
	unlock, held, ok := p.inflight.lock(a.ID+"\x00"+job.key, job.digest)
	if !ok {
		// Another post under the key is refused as such even while the
		// first one runs: retrying it could never succeed.
		if held != job.digest {
			return nil, KeyReused()
		}
		return nil, inFlight()
	}
	defer unlock()
	rec, _, err := p.store.Reserve(ctx, a.ID, job.key, job.digest)
	if errors.Is(err, store.ErrConflict) {
		return nil, KeyReused()
	}
	if err != nil {
		return nil, storeError(err)
	}
	t := &tracker{p: p, a: a, rec: rec, job: job}
	deadline := time.Now().Add(o.Wait)
	// Each pass either ends or moves the record one step; a lost
	// compare-and-set (another process moved it) re-reads and goes round.
	for range 6 {
		switch t.rec.State {
		case store.PublishPublished:
			return replay(t.rec)
		case store.PublishFailed:
			if t.rec.ErrorKind == string(failure.OutcomeUnknown) && t.rec.ContainerID != "" {
				// recorded by earlier versions: a send whose outcome was open
				return p.settle(ctx, t, t.rec.ContainerID, time.Time{}, nil, false, deadline, o)
			}
			// A recorded failure published nothing: the same key may try
			// again, from a new container.
			if err := t.step(ctx, store.PublishStep{To: store.PublishReserved}); err != nil {
				if errors.Is(err, errMoved) {
					continue
				}
				return nil, err
			}
		case store.PublishReserved:
			top, children, kind, err := job.build(ctx, deadline)
			if err != nil {
				p.journal(ctx, a, job, "failed", err, containerIDs(top, children))
				t.fail(ctx, err)
				return nil, err
			}
			if err := t.step(ctx, store.PublishStep{To: store.PublishContainerCreated, ContainerID: top.ID, ChildIDs: children}); err != nil {
				if errors.Is(err, errMoved) {
					continue
				}
				return nil, err
			}
			return p.complete(ctx, t, top, kind, deadline, o)
		case store.PublishContainerCreated:
			c, _, err := a.Graph.GetContainer(ctx, t.rec.ContainerID)
			if err != nil {
				return nil, err
			}
			return p.complete(ctx, t, c, kindVideo, deadline, o)
		case store.PublishSent:
			// A send whose outcome was never recorded: a crash, a lost
			// answer, or another call that is sending right now.
			return p.settle(ctx, t, t.rec.ContainerID, time.Time{}, nil, false, deadline, o)
		}
	}
	return nil, inFlight()
}

// maxNotReady is how many "not ready" answers (9007/2207027) to
// media_publish one call takes before it gives up: the first try of an
// image is expected to get one now and then; more, after the container
// read FINISHED, mean Instagram's status and its publish disagree.
const maxNotReady = 3

// complete waits for the container, then (unless this is a draft or the
// wait ran out) claims the send in the ledger, publishes and records. An
// image whose status is unknown (the creation did not answer it: no
// read-after-write) is not read first: images are usually ready at once,
// so media_publish is tried right away. "Not ready" is a refusal that
// publishes nothing; the container is then polled, and sent again once it
// reads FINISHED.
func (p *Publisher) complete(ctx context.Context, t *tracker, c *graph.Container, kind mediaKind, deadline time.Time, o Options) (*Result, error) {
	a := t.a
	res := &Result{ContainerID: c.ID, ChildContainerIDs: t.rec.ChildIDs}
	st := c
	try := kind == kindImage && c.StatusCode == "" && !o.Draft
	if try && len(t.rec.ChildIDs) == 0 { // an album waited for its items already
		if err := p.awaitImages(ctx, a, deadline); err != nil {
			return nil, err
		}
	}
	for refused := 0; ; {
		if !try {
			var err error
			if st, err = p.wait(ctx, a, st, kind, deadline, o.Progress); err != nil && !errors.Is(err, errStillProcessing) {
				// Cancellation and read failures leave the container
				// recorded: the same key resumes it. Only Instagram's
				// verdicts end the record.
				if k := failure.Classify(err).Kind; k != failure.Transient && k != failure.RateLimited {
					t.fail(ctx, err)
				}
				return nil, err
			}
			switch st.StatusCode {
			case graph.StatusFinished:
			case graph.StatusPublished:
				// Published earlier (a lost answer, another process, or
				// another tool): never again. The media id comes from the
				// ledger or the account's recent media.
				return p.adoptPublished(ctx, t, res, time.Time{})
			case graph.StatusInProgress, "":
				res.Status = StatusProcessing
				res.NextAction = fmt.Sprintf("Instagram is still processing container %s: poll get_container_status until FINISHED, then call publish_container with this container_id.", c.ID)
				return res, nil
			default:
				err := terminalError(st, "")
				t.fail(ctx, err)
				p.journal(ctx, a, t.job, "failed", err, containerIDs(c, t.rec.ChildIDs))
				return nil, err
			}
			if o.Draft {
				res.Status = StatusDraft
				res.NextAction = fmt.Sprintf("Container %s is ready: call publish_container with this container_id to publish it (within 24 hours).", c.ID)
				return res, nil
			}
		}
		try = false
		// Only the call that moves container_created → publish_sent may
		// send: two callers (or processes) racing on one key cannot both
		// publish.
		if err := t.step(ctx, store.PublishStep{To: store.PublishSent}); err != nil {
			if errors.Is(err, errMoved) {
				return nil, inFlight()
			}
			return nil, err
		}
		if o.BeforeSend != nil {
			if err := o.BeforeSend(ctx); err != nil {
				t.fail(ctx, err) // claimed, never sent: nothing was published
				return nil, err
			}
		}
		out, err := p.send(ctx, t, c.ID, false, deadline, o)
		var nr *notReadyError
		if !errors.As(err, &nr) {
			return out, err
		}
		if refused++; refused >= maxNotReady {
			return nil, nr.err
		}
		st = &graph.Container{ID: c.ID, StatusCode: graph.StatusInProgress}
	}
}

// notReadyError: Instagram answered media_publish "not ready"; nothing was
// published and the ledger records are back in container_created.
type notReadyError struct{ err error }

func (e *notReadyError) Error() string { return e.err.Error() }
func (e *notReadyError) Unwrap() error { return e.err }

// send sends media_publish for the container once. It first takes the
// container's own ledger record (container:<id>) to publish_sent, so that
// whatever key a caller publishes under (publish_container uses that one)
// only one caller at a time may send it, and a send whose outcome is open
// holds the others back until it is settled. resend: the last send is
// known to be lost (see settle). A first send answered "not ready" puts
// both records back to container_created and returns *notReadyError.
func (p *Publisher) send(ctx context.Context, t *tracker, containerID string, resend bool, deadline time.Time, o Options) (*Result, error) {
	res := &Result{ContainerID: containerID, ChildContainerIDs: t.rec.ChildIDs}
	if resend {
		if o.BeforeSend != nil {
			// The first send's outcome stays open: the record keeps saying so.
			if err := o.BeforeSend(ctx); err != nil {
				return nil, err
			}
		}
		if err := t.claim(ctx, containerID, true); err != nil {
			return p.afterLostClaim(ctx, t, res, err, resend, deadline, o)
		}
	}
	ct, err := p.containerRecord(ctx, t, containerID)
	if err != nil {
		return nil, err
	}
	if ct != t {
		if err := ct.claim(ctx, containerID, resend); err != nil {
			return p.afterLostClaim(ctx, t, res, err, resend, deadline, o)
		}
	}
	// Other callers time this send from our claims (graceEnd): once half
	// the grace has gone by since them — this caller stalled after
	// claiming (a loaded machine, a lost lease) — another may soon
	// conclude that the send never arrived and send itself. Not sent so
	// late, then: it is settled like an open send, which sends the
	// container (under a fresh claim) only after it read FINISHED for the
	// whole grace.
	claimed := t.rec.UpdatedAt
	if ct.rec.UpdatedAt.After(claimed) {
		claimed = ct.rec.UpdatedAt
	}
	sendBy := claimed.Add(p.sendGrace / 2)
	if !time.Now().Before(sendBy) {
		p.log.Warn("claimed media_publish too long ago to send it now; settling through the container's status", "account", t.a.ID, "container", containerID, "claimed", claimed)
		return p.settle(ctx, t, containerID, time.Time{}, nil, resend, deadline, o)
	}
	done, warn, err := p.publishOnce(ctx, t.a, containerID, sendBy)
	switch {
	case err == nil:
		res.Status, res.MediaID, res.Permalink = StatusPublished, done.MediaID, done.Permalink
		res.Warnings = append(res.Warnings, warn...)
		p.firstComment(ctx, t, res)
		return p.finishPublished(ctx, t, res)
	case ambiguous(err):
		p.log.Warn("media_publish answer lost; settling through the container's status", "account", t.a.ID, "container", containerID, "err", err)
		return p.settle(ctx, t, containerID, time.Now(), err, resend, deadline, o)
	case isNotReady(err) && !resend:
		// Refused as not ready: nothing was published, so the container
		// may be claimed and sent again once it reads FINISHED.
		recs := []*tracker{t}
		if ct != t {
			recs = []*tracker{ct, t} // the container's first: t may have been taken over
		}
		for _, r := range recs {
			if uerr := r.unsend(ctx, containerID); errors.Is(uerr, errMoved) {
				return nil, inFlight()
			} else if uerr != nil {
				return nil, uerr
			}
		}
		return nil, &notReadyError{err}
	default:
		// Instagram refused it: nothing was published.
		t.fail(ctx, err)
		ct.fail(ctx, err)
		p.journal(ctx, t.a, t.job, "failed", err, containerIDs(&graph.Container{ID: containerID}, t.rec.ChildIDs))
		return nil, err
	}
}

// afterLostClaim: the container is published already, or another caller
// holds its send (errMoved), which is then settled like a send of ours —
// re-sent at most once in this call.
func (p *Publisher) afterLostClaim(ctx context.Context, t *tracker, res *Result, err error, resent bool, deadline time.Time, o Options) (*Result, error) {
	switch {
	case errors.Is(err, errPublished):
		return p.adoptPublished(ctx, t, res, t.rec.UpdatedAt)
	case errors.Is(err, errMoved):
		return p.settle(ctx, t, res.ContainerID, time.Time{}, nil, resent, deadline, o)
	}
	return nil, err
}

// containerRecord is the tracker of the container's own ledger record
// (t itself when t publishes under the container's key).
func (p *Publisher) containerRecord(ctx context.Context, t *tracker, containerID string) (*tracker, error) {
	key := containerKeyPrefix + containerID
	if t.job.key == key {
		return t, nil
	}
	rec, _, err := p.store.Reserve(ctx, t.a.ID, key, key)
	if err != nil {
		return nil, storeError(err)
	}
	return &tracker{p: p, a: t.a, rec: rec, job: keyedRun{key: key, digest: key}}, nil
}

// adoptPublished records a container Instagram already published.
func (p *Publisher) adoptPublished(ctx context.Context, t *tracker, res *Result, since time.Time) (*Result, error) {
	res.Status = StatusPublished
	if rec, err := p.store.GetPublish(ctx, t.a.ID, containerKeyPrefix+res.ContainerID); err == nil && rec.State == store.PublishPublished {
		res.MediaID, res.Permalink = rec.MediaID, rec.Permalink
	} else {
		if since.IsZero() {
			since = t.rec.CreatedAt
		}
		done, warns := p.findMedia(ctx, t.a, t.job, since)
		res.MediaID, res.Permalink = done.MediaID, done.Permalink
		res.Warnings = append(res.Warnings, warns...)
	}
	res.Warnings = append(res.Warnings, "The container was already published; it was not published again.")
	p.resumeFirstComment(ctx, t, res)
	if t.rec.State != store.PublishSent && t.rec.State != store.PublishPublished {
		// to publish_sent, so that the outcome can be recorded
		if err := t.claim(ctx, res.ContainerID, false); err != nil && !errors.Is(err, errMoved) && !errors.Is(err, errPublished) {
			return nil, err
		}
	}
	return p.finishPublished(ctx, t, res)
}

// finishPublished records the outcome (the result to replay, the container
// index, the journal).
func (p *Publisher) finishPublished(ctx context.Context, t *tracker, res *Result) (*Result, error) {
	ctx = context.WithoutCancel(ctx) // the post is live: record it whatever the caller does
	body, _ := json.Marshal(res)
	if t.rec.State == store.PublishSent {
		err := t.step(ctx, store.PublishStep{To: store.PublishPublished, MediaID: res.MediaID, Permalink: res.Permalink, Result: body})
		if err != nil && t.rec.State != store.PublishPublished { // else another caller recorded it
			p.log.Error("could not record a published post", "account", t.a.ID, "container", res.ContainerID, "media", res.MediaID, "err", err)
		}
	}
	if !strings.HasPrefix(t.job.key, containerKeyPrefix) {
		p.indexContainer(ctx, t.a, res, body)
	}
	ids := containerIDs(&graph.Container{ID: res.ContainerID}, res.ChildContainerIDs)
	if res.MediaID != "" {
		ids = append(ids, res.MediaID)
	}
	p.journal(ctx, t.a, t.job, "published", nil, ids)
	return res, nil
}

// indexContainer records the publish under the container's id too, so
// publish_container on it answers from the ledger.
func (p *Publisher) indexContainer(ctx context.Context, a *Account, res *Result, body []byte) {
	key := containerKeyPrefix + res.ContainerID
	rec, _, err := p.store.Reserve(ctx, a.ID, key, key)
	for _, step := range []store.PublishStep{
		{From: store.PublishReserved, To: store.PublishContainerCreated, ContainerID: res.ContainerID},
		{From: store.PublishContainerCreated, To: store.PublishSent},
		{From: store.PublishSent, To: store.PublishPublished, MediaID: res.MediaID, Permalink: res.Permalink, Result: body},
	} {
		if err != nil || rec.State != step.From {
			continue
		}
		rec, err = p.store.AdvancePublish(ctx, a.ID, key, step)
	}
	if err != nil {
		p.log.Warn("could not index the published container", "container", res.ContainerID, "err", err)
	}
}

// resumeFirstComment finishes a publish adopted after a lost answer or a
// crash: the first comment may or may not have been posted before the
// process died, so the media's comments decide, and it is posted only if it
// is not there. If they cannot be read it is not posted (a missing comment
// is better than a doubled one) and a warning says so.
func (p *Publisher) resumeFirstComment(ctx context.Context, t *tracker, res *Result) {
	if t.job.firstComment == "" || res.MediaID == "" {
		return
	}
	comments, _, err := t.a.Graph.ListComments(ctx, res.MediaID, &graph.ListCommentsOptions{Limit: 50})
	if err != nil {
		res.Warnings = append(res.Warnings, "Could not check whether the first comment was already posted, so it was not posted again: "+failure.Classify(err).Message)
		return
	}
	for _, c := range comments {
		if strings.TrimSpace(c.Text) == strings.TrimSpace(t.job.firstComment) && (t.a.Username == "" || c.Username == "" || strings.EqualFold(c.Username, t.a.Username)) {
			res.FirstCommentID = c.ID
			return
		}
	}
	p.firstComment(ctx, t, res)
}

func (p *Publisher) firstComment(ctx context.Context, t *tracker, res *Result) {
	if t.job.firstComment == "" {
		return
	}
	cm, _, err := t.a.Graph.CreateComment(ctx, res.MediaID, t.job.firstComment)
	if err != nil {
		// The post is live: a failed comment must not look like a failed
		// publish, or the agent would publish again.
		res.Warnings = append(res.Warnings, "The post is published but the first comment failed: "+failure.Classify(err).Message)
		p.journalEntry(ctx, store.JournalEntry{AccountID: t.a.ID, Action: "comment", GraphIDs: []string{res.MediaID}, Outcome: "failed", ErrorKind: string(failure.Classify(err).Kind)})
		return
	}
	res.FirstCommentID = cm.ID
	p.journalEntry(ctx, store.JournalEntry{AccountID: t.a.ID, Action: "comment", GraphIDs: []string{res.MediaID, cm.ID}, Outcome: "ok"})
}

func (p *Publisher) journal(ctx context.Context, a *Account, job keyedRun, outcome string, err error, ids []string) {
	e := store.JournalEntry{AccountID: a.ID, Action: "publish", InputDigest: job.digest, GraphIDs: ids, Outcome: outcome}
	if err != nil {
		e.ErrorKind = string(failure.Classify(err).Kind)
	}
	p.journalEntry(ctx, e)
}

func (p *Publisher) journalEntry(ctx context.Context, e store.JournalEntry) {
	if _, err := p.store.AppendJournal(context.WithoutCancel(ctx), e); err != nil {
		p.log.Error("could not append to the journal", "action", e.Action, "err", err)
	}
}

func containerIDs(top *graph.Container, children []string) []string {
	ids := append([]string(nil), nonEmpty(children)...)
	if top != nil && top.ID != "" {
		ids = append(ids, top.ID)
	}
	return ids
}

// tracker moves one ledger record by compare-and-set.
type tracker struct {
	p   *Publisher
	a   *Account
	rec store.Publish
	job keyedRun
}

// errMoved: the record is no longer where we left it (another caller moved
// it); t.rec holds its current state.
var errMoved = errors.New("ledger record moved")

func (t *tracker) step(ctx context.Context, s store.PublishStep) error {
	s.From = t.rec.State
	rec, err := t.p.store.AdvancePublish(context.WithoutCancel(ctx), t.a.ID, t.job.key, s)
	if errors.Is(err, store.ErrConflict) {
		if cur, gerr := t.p.store.GetPublish(context.WithoutCancel(ctx), t.a.ID, t.job.key); gerr == nil {
			t.rec = cur
		}
		return errMoved
	}
	if err != nil {
		return storeError(err)
	}
	t.rec = rec
	return nil
}

// errPublished: the record is published already.
var errPublished = errors.New("ledger record published")

// claim moves the record to publish_sent — the right to send media_publish
// for containerID — by compare-and-set steps. A record in publish_sent
// belongs to an open send and is taken over only when resend says that
// send is known to be lost. errMoved: another caller moved it first.
func (t *tracker) claim(ctx context.Context, containerID string, resend bool) error {
	children := t.rec.ChildIDs // the step to reserved clears them
	for range 5 {
		var step store.PublishStep
		switch t.rec.State {
		case store.PublishSent:
			if !resend || t.rec.ContainerID != containerID {
				return errMoved
			}
			resend = false
			step = store.PublishStep{To: store.PublishFailed, ErrorKind: "not_published"}
		case store.PublishFailed:
			step = store.PublishStep{To: store.PublishReserved}
		case store.PublishReserved:
			step = store.PublishStep{To: store.PublishContainerCreated, ContainerID: containerID, ChildIDs: children}
		case store.PublishContainerCreated:
			if t.rec.ContainerID != containerID {
				// another caller rebuilt the key around a new container:
				// it owns the send now
				return errMoved
			}
			step = store.PublishStep{To: store.PublishSent}
		default:
			return errPublished
		}
		if err := t.step(ctx, step); err != nil {
			return err
		}
		if t.rec.State == store.PublishSent {
			return nil
		}
	}
	return errMoved
}

// unsend takes a record in publish_sent whose send Instagram refused as
// not ready (nothing was published) back to container_created, by the
// only path the ledger has (failed, then reserved), so the container may
// be claimed and sent again. errMoved: another caller moved it meanwhile
// (it then owns the key; this caller must not send).
func (t *tracker) unsend(ctx context.Context, containerID string) error {
	children := t.rec.ChildIDs // the step to reserved clears them
	for _, step := range []store.PublishStep{
		{To: store.PublishFailed, ErrorKind: string(failure.ContainerNotReady)},
		{To: store.PublishReserved},
		{To: store.PublishContainerCreated, ContainerID: containerID, ChildIDs: children},
	} {
		if err := t.step(ctx, step); err != nil {
			return err
		}
	}
	return nil
}

// fail records a failure, with the structured error to replay.
func (t *tracker) fail(ctx context.Context, err error) {
	if t.rec.State == store.PublishFailed || t.rec.State == store.PublishPublished {
		return
	}
	fe := failure.Classify(err)
	body, _ := json.Marshal(fe)
	if serr := t.step(ctx, store.PublishStep{To: store.PublishFailed, ErrorKind: string(fe.Kind), Error: body}); serr != nil {
		t.p.log.Error("could not record a failed publish", "account", t.a.ID, "key", t.job.key, "err", serr)
	}
}

func replay(rec store.Publish) (*Result, error) {
	var res Result
	if err := json.Unmarshal(rec.Result, &res); err != nil {
		res = Result{Status: StatusPublished, ContainerID: rec.ContainerID, MediaID: rec.MediaID, Permalink: rec.Permalink}
	}
	res.Replayed = true
	return &res, nil
}

func inFlight() error {
	e := failure.New(failure.Transient, "A publish with this idempotency_key is already in progress.")
	e.RetryAfter = 30
	e.Action = "Call again with the same idempotency_key in 30 seconds to get its result; do not use a new key, that would publish twice."
	return e
}

func storeError(err error) error {
	e := failure.New(failure.Transient, "igmcp's durable store failed: "+err.Error())
	e.RetryAfter = 10
	e.Action = "Retry the same call with the same idempotency_key shortly; if it persists, check IGMCP_DATA_DIR / IGMCP_DATABASE_URL."
	return e
}

// inflight serialises calls on one key within this process; the ledger's
// compare-and-set guards across processes.
type inflight struct {
	mu   sync.Mutex
	keys map[string]string // key → digest of the call holding it
}

// lock takes key for a call publishing digest; when another call holds it,
// it answers that call's digest.
func (f *inflight) lock(key, digest string) (func(), string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if held, busy := f.keys[key]; busy {
		return nil, held, false
	}
	if f.keys == nil {
		f.keys = map[string]string{}
	}
	f.keys[key] = digest
	return func() {
		f.mu.Lock()
		delete(f.keys, key)
		f.mu.Unlock()
	}, "", true
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
