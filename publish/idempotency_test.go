package publish_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/store"
)

func TestSameKeySameResult_AcrossRestart(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		a := r.accounts[0]
		req := post("hello")
		req.IdempotencyKey = "k1"
		first, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second})
		if err != nil || first.Status != publish.StatusPublished {
			t.Fatalf("first: %v %+v", err, first)
		}
		r.open(t) // a new process on the same data
		calls := len(r.fake.Calls())
		again, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second})
		if err != nil || again.MediaID != first.MediaID || !again.Replayed {
			t.Fatalf("repeat: %v %+v (first %s)", err, again, first.MediaID)
		}
		if n := len(r.fake.Calls()) - calls; n > 1 { // at most the quota read of a new process
			t.Fatalf("replay made %d Graph calls", n)
		}
		if got, sends := len(r.fake.Published(a.ID)), oneSendPerContainer(t, r); got != 1 || sends != 1 {
			t.Fatalf("published %d, media_publish sent %d times", got, sends)
		}
		// The same key for other content is refused, not published.
		other := post("different")
		other.IdempotencyKey = "k1"
		if _, err := r.pub.Run(t.Context(), a, other, publish.Options{}); kindOf(err) != failure.InvalidInput {
			t.Fatalf("key reuse: %v", err)
		}
	})
}

func TestConcurrentSameKey_OnePost(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{Latency: 20 * time.Millisecond}, ratelimit.Config{})
		a := r.accounts[0]
		req := post("race")
		req.IdempotencyKey = "race-key"
		var wg sync.WaitGroup
		results := make([]*publish.Result, 8)
		errs := make([]error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = r.pub.Run(context.Background(), a, req, publish.Options{Wait: 5 * time.Second})
			}()
		}
		wg.Wait()
		if sends := oneSendPerContainer(t, r); sends != 1 {
			t.Fatalf("media_publish sent %d times, want 1", sends)
		}
		if got := len(r.fake.Published(a.ID)); got != 1 {
			t.Fatalf("published %d, want 1", got)
		}
		for i := range 8 {
			if errs[i] != nil {
				if fe := failure.Classify(errs[i]); !fe.Retryable {
					t.Fatalf("loser got a non-retryable error: %v", errs[i])
				}
				continue
			}
			if results[i].MediaID != r.fake.Published(a.ID)[0].ID {
				t.Fatalf("result %d has media %s", i, results[i].MediaID)
			}
		}
	})
}

// barrier holds the first n arrivals until all n have arrived (or the
// deadline passes, and then reached reports false).
type barrier struct {
	mu      sync.Mutex
	n       int
	arrived int
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	held := b.arrived <= b.n
	b.mu.Unlock()
	if held {
		select {
		case <-b.all:
		case <-time.After(30 * time.Second): // hang guard: reached() then fails the test
		}
	}
}

func (b *barrier) reached() bool {
	select {
	case <-b.all:
		return true
	default:
		return false
	}
}

// heldStore holds every move of key to publish_sent at a barrier.
type heldStore struct {
	publish.Store
	key  string
	gate *barrier
}

func (h heldStore) AdvancePublish(ctx context.Context, accountID, key string, step store.PublishStep) (store.Publish, error) {
	if key == h.key && step.To == store.PublishSent {
		h.gate.wait()
	}
	return h.Store.AdvancePublish(ctx, accountID, key, step)
}

// Two processes (two publishers on one database) publish one key and are
// both held just before the move to publish_sent, the compare-and-set that
// decides who sends: exactly one media_publish goes out, and the other
// answers "in flight" without sending. Ignoring a lost compare-and-set
// there fails this test.
func TestTwoProcessesSameKey_HeldBeforeSend(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		a := r.accounts[0]
		other, err := store.Open(context.Background(), store.Config{DataDir: r.dir})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		req := post("two processes")
		req.IdempotencyKey = "shared"
		gate := newBarrier(2)
		pubs := []*publish.Publisher{
			publish.New(heldStore{r.store, req.IdempotencyKey, gate}, publish.WithPollPolicy(fastPolls)),
			publish.New(heldStore{other, req.IdempotencyKey, gate}, publish.WithPollPolicy(fastPolls)),
		}
		results := make([]*publish.Result, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, p := range pubs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = p.Run(context.Background(), a, req, publish.Options{Wait: 5 * time.Second})
			}()
		}
		wg.Wait()
		if !gate.reached() {
			t.Fatal("the two publishers were never both held before publish_sent: the race was not reached")
		}
		if sends := oneSendPerContainer(t, r); sends != 1 {
			t.Fatalf("media_publish sent %d times, want 1", sends)
		}
		posts := r.fake.Published(a.ID)
		if len(posts) != 1 {
			t.Fatalf("%d posts", len(posts))
		}
		won, lost := 0, 0
		for i := range 2 {
			switch fe := failure.Classify(errs[i]); {
			case errs[i] == nil && results[i].MediaID == posts[0].ID:
				won++
			case errs[i] != nil && fe.Kind == failure.Transient && fe.Retryable && strings.Contains(fe.Message, "in progress"):
				lost++
			default:
				t.Errorf("publisher %d: %+v %v", i, results[i], errs[i])
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("%d won, %d answered in flight; want one each", won, lost)
		}
		// The loser repeats its call: the recorded post, nothing sent.
		for i := range 2 {
			if errs[i] != nil {
				res, err := pubs[i].Run(context.Background(), a, req, publish.Options{Wait: 5 * time.Second})
				if err != nil || !res.Replayed || res.MediaID != posts[0].ID || r.fake.CountCalls("POST", "/media_publish") != 1 {
					t.Fatalf("repeat: %+v %v", res, err)
				}
			}
		}
	})
}

// A crash after media_publish was sent (the ledger says publish_sent, the
// answer was never recorded) resumes through the container's status.
func TestResumeAfterCrashInPublishSent(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		a := r.accounts[0]
		// The publish goes live but its answer is lost, and every status read
		// fails: the outcome stays unknown.
		r.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Action: fakegraph.FaultPublishThenFail, Nth: 1})
		r.fake.Inject(fakegraph.Fault{Method: "GET", Action: fakegraph.FaultHTTP500, Nth: 0, Times: 0})
		req := post("crash")
		req.Post.FirstComment = "first!"
		req.IdempotencyKey = "crash-key"
		if _, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second}); kindOf(err) != failure.OutcomeUnknown {
			t.Fatalf("want outcome_unknown, got %v", err)
		}
		// The record stays in publish_sent: the send's outcome is open.
		rec, err := r.store.GetPublish(t.Context(), a.ID, "crash-key")
		if err != nil || rec.State != store.PublishSent {
			t.Fatalf("ledger: %+v %v", rec, err)
		}
		// Restart with Instagram reachable again: the same key settles the
		// outcome without publishing again.
		r.fake.ClearFaults()
		r.open(t)
		res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second})
		if err != nil || res.Status != publish.StatusPublished {
			t.Fatalf("resume: %v %+v", err, res)
		}
		pub := r.fake.Published(a.ID)
		if len(pub) != 1 || res.MediaID != pub[0].ID {
			t.Fatalf("published %v, result %s", pub, res.MediaID)
		}
		if n := r.fake.CountCalls("POST", "/media_publish"); n != 1 {
			t.Fatalf("media_publish sent %d times", n)
		}
		// The first comment, never posted before the crash, is posted on
		// resume — once: a repeat finds it among the media's comments.
		if res.FirstCommentID == "" || r.fake.CountCalls("POST", "/comments") != 1 {
			t.Fatalf("first comment %q, %d posted", res.FirstCommentID, r.fake.CountCalls("POST", "/comments"))
		}
	})
}

// A record left in publish_sent by a process that died between claiming the
// send and sending it: within the grace nothing is sent (the send may still
// take effect) and the outcome is unknown until the time the grace ends,
// which the error names; after it, a FINISHED container proves the publish
// never reached Instagram, and the same key publishes it, once.
func TestResumeSentButNeverDelivered(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		r.grace = time.Hour
		a := r.accounts[0]
		req := post("lost send")
		req.IdempotencyKey = "lost-send"
		c, _, err := a.Graph.CreateContainer(t.Context(), a.ID, &graph.ContainerRequest{ImageURL: req.Post.ImageURL, Caption: req.Post.Caption})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.store.Reserve(t.Context(), a.ID, req.IdempotencyKey, digest(t, req)); err != nil {
			t.Fatal(err)
		}
		var claimed store.Publish
		for _, step := range []store.PublishStep{
			{From: store.PublishReserved, To: store.PublishContainerCreated, ContainerID: c.ID},
			{From: store.PublishContainerCreated, To: store.PublishSent},
		} {
			if claimed, err = r.store.AdvancePublish(t.Context(), a.ID, req.IdempotencyKey, step); err != nil {
				t.Fatal(err)
			}
		}
		r.open(t)
		_, err = r.pub.Run(t.Context(), a, req, publish.Options{Wait: 200 * time.Millisecond})
		fe := failureOf(err)
		if fe == nil || fe.Kind != failure.OutcomeUnknown || fe.Retryable || !strings.Contains(fe.Action, "get_container_status") {
			t.Fatalf("within the grace: want outcome_unknown saying when to look, got %v", err)
		}
		when, perr := time.Parse(time.RFC3339, regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`).FindString(fe.Action))
		if grace := claimed.UpdatedAt.Add(time.Hour); perr != nil || when.Before(grace) || when.Sub(grace) > time.Second {
			t.Fatalf("action %q: want the end of the grace, %s", fe.Action, grace.UTC())
		}
		if n := r.fake.CountCalls("POST", "/media_publish"); n != 0 {
			t.Fatalf("media_publish sent %d times inside the grace", n)
		}
		r.grace = 50 * time.Millisecond // long over since the claim: the container is sent again
		r.open(t)
		res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second})
		if err != nil || res.Status != publish.StatusPublished || res.ContainerID != c.ID {
			t.Fatalf("after grace: %v %+v", err, res)
		}
		again, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second})
		if err != nil || again.MediaID != res.MediaID || len(r.fake.Published(a.ID)) != 1 {
			t.Fatalf("repeat: %v %+v, published %d", err, again, len(r.fake.Published(a.ID)))
		}
		if sends := oneSendPerContainer(t, r); sends != 1 {
			t.Fatalf("media_publish sent %d times", sends)
		}
	})
}

func TestFailedKeyMayRetry(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		a := r.accounts[0]
		r.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media", Nth: 1, Action: fakegraph.FaultGraphError,
			GraphError: &fakegraph.ErrorSpec{HTTPStatus: 400, Code: 36003, Subcode: 2207009, Message: "aspect ratio"}})
		req := post("retry me")
		req.IdempotencyKey = "retry"
		if _, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second}); kindOf(err) != failure.MediaRejected {
			t.Fatalf("first: %v", err)
		}
		res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second})
		if err != nil || res.Status != publish.StatusPublished {
			t.Fatalf("retry: %v %+v", err, res)
		}
		entries, _, err := r.store.ListJournal(t.Context(), store.JournalQuery{AccountID: a.ID, Action: "publish"})
		if err != nil || len(entries) != 2 || entries[0].Outcome != "published" || entries[1].Outcome != "failed" || entries[1].ErrorKind != "media_rejected" {
			t.Fatalf("journal: %+v %v", entries, err)
		}
	})
}

// The quota is read from Instagram at run time (never hard-coded) and a
// publish that would exceed it is refused before any container is created,
// with the wait worked out from the oldest post of the rolling window.
func TestQuotaRefusedBeforeContainer(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{QuotaTotal: 2}, ratelimit.Config{})
		a := r.accounts[0]
		for i := range 2 {
			if _, err := r.pub.Run(t.Context(), a, post(fmt.Sprintf("p%d", i)), publish.Options{Wait: time.Second}); err != nil {
				t.Fatal(err)
			}
		}
		// A second process sharing the store sees the same count.
		other, err := store.Open(t.Context(), store.Config{DataDir: r.dir})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		p2 := publish.New(other, publish.WithPollPolicy(fastPolls))
		containers := r.fake.CountCalls("POST", "/media")
		for _, p := range []*publish.Publisher{r.pub, p2} {
			_, err := p.Run(t.Context(), a, post("third"), publish.Options{Wait: time.Second})
			fe := failure.Classify(err)
			if fe == nil || fe.Kind != failure.PublishLimitReached || !fe.Retryable {
				t.Fatalf("want publish_limit_reached, got %v", err)
			}
			// Both posts were just made: the first slot frees in about 24 h.
			if fe.RetryAfter < 23*3600 || fe.RetryAfter > 24*3600 {
				t.Fatalf("retry_after_seconds %d, want about a day", fe.RetryAfter)
			}
		}
		if n := r.fake.CountCalls("POST", "/media"); n != containers {
			t.Fatalf("%d containers created for refused publishes", n-containers)
		}
	})
}

// A process that died after the first comment was posted but before the
// outcome was recorded: the resume finds the comment and does not post it
// again.
func TestResumeDoesNotDoubleTheFirstComment(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		a := r.accounts[0]
		req := post("commented")
		req.Post.FirstComment = "already here"
		req.IdempotencyKey = "commented"
		c, _, err := a.Graph.CreateContainer(t.Context(), a.ID, &graph.ContainerRequest{ImageURL: req.Post.ImageURL, Caption: req.Post.Caption})
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := a.Graph.Publish(t.Context(), a.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		commentID := r.fake.AddComment(m.ID, a.Username, "already here")
		if _, _, err := r.store.Reserve(t.Context(), a.ID, req.IdempotencyKey, digest(t, req)); err != nil {
			t.Fatal(err)
		}
		for _, step := range []store.PublishStep{
			{From: store.PublishReserved, To: store.PublishContainerCreated, ContainerID: c.ID},
			{From: store.PublishContainerCreated, To: store.PublishSent},
		} {
			if _, err := r.store.AdvancePublish(t.Context(), a.ID, req.IdempotencyKey, step); err != nil {
				t.Fatal(err)
			}
		}
		r.open(t)
		res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second})
		if err != nil || res.MediaID != m.ID || res.FirstCommentID != commentID {
			t.Fatalf("resume: %v %+v (media %s, comment %s)", err, res, m.ID, commentID)
		}
		if n := r.fake.CountCalls("POST", "/comments"); n != 0 {
			t.Fatalf("first comment posted again (%d)", n)
		}
		if sends := oneSendPerContainer(t, r); sends != 1 {
			t.Fatalf("media_publish sent %d times (once by the test)", sends)
		}
	})
}
