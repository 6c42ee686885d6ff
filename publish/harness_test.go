package publish_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/store"
)

var fastPolls = publish.PollPolicy{
	Image: publish.Backoff{Initial: 2 * time.Millisecond, Max: 10 * time.Millisecond, Factor: 1.5},
	Video: publish.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.6},
}

var fastRetry = graph.RetryPolicy{MaxTries: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: time.Second}

// rig is the production pipeline (Graph client, governor, publisher, store)
// around a fake Graph API.
type rig struct {
	// grace is the publisher's send grace (IGMCP_SEND_GRACE), short in
	// tests; set it before open.
	grace    time.Duration
	fake     *fakegraph.Server
	base     string
	store    store.Store
	dir      string
	governor *ratelimit.Governor
	pub      *publish.Publisher
	accounts []*publish.Account
}

// variant is one simulated Graph API the engine must be right against
// (fakegraph/README.md): the pessimistic default — no read-after-write, a
// status that reads FINISHED for a while after a publish, a second
// media_publish that posts again — and the optimistic one.
type variant struct {
	name string
	set  func(*fakegraph.Options)
}

var variants = []variant{
	{"pessimistic", func(o *fakegraph.Options) {
		if o.StatusLag == 0 {
			o.StatusLag = testStatusLag
		}
	}},
	{"optimistic", func(o *fakegraph.Options) { o.Optimistic = true }},
}

// testStatusLag is the pessimistic fake's status lag in tests: its 2 s
// default scaled down with the send grace (testGrace), inside which it
// must stay as 2 s stays inside the 2-minute IGMCP_SEND_GRACE.
const testStatusLag = 100 * time.Millisecond

// eachVariant runs fn as one parallel subtest per variant.
func eachVariant(t *testing.T, fn func(t *testing.T, v variant)) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			fn(t, v)
		})
	}
}

// rig is newRig against the variant's fake.
func (v variant) rig(t testing.TB, fo fakegraph.Options, gc ratelimit.Config) *rig {
	v.set(&fo)
	return newRig(t, fo, gc)
}

func newRig(t testing.TB, fo fakegraph.Options, gc ratelimit.Config) *rig {
	t.Helper()
	fake := fakegraph.New(fo)
	base, stop := fake.Start()
	t.Cleanup(stop)
	r := &rig{grace: testGrace, fake: fake, base: base, dir: t.TempDir(), governor: ratelimit.New(gc)}
	r.open(t)
	accts := fo.Accounts
	if len(accts) == 0 {
		accts = []fakegraph.Account{fakegraph.DefaultAccount}
	}
	for _, a := range accts {
		c, err := graph.NewClient(graph.WithBaseURL(base), graph.WithRetryPolicy(fastRetry),
			graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: a.Token})),
			graph.WithLimiter(r.governor.For(a.ID)))
		if err != nil {
			t.Fatal(err)
		}
		r.accounts = append(r.accounts, &publish.Account{ID: a.ID, Username: a.Username, Graph: c})
	}
	return r
}

// open (re)opens the durable store and a fresh publisher, as a restarted
// process would.
func (r *rig) open(t testing.TB) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: r.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r.store = st
	r.pub = publish.New(st, publish.WithPollPolicy(fastPolls), publish.WithSendGrace(r.grace))
}

// testGrace is the send grace of test publishers: long next to the fake's
// answers (milliseconds), short enough to wait out.
const testGrace = 400 * time.Millisecond

func post(caption string) publish.Request {
	return publish.Request{Kind: publish.KindPost, Post: &publish.PostInput{ImageURL: "https://cdn.example.com/p.jpg", Common: publish.Common{Caption: caption}}}
}

func kindOf(err error) failure.Kind {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return failure.Classify(err).Kind
}

func failureOf(err error) *failure.Error { return failure.Classify(err) }

// oneSendPerContainer fails the test when any container got more than one
// media_publish request that may have posted (a "not ready" answer posts
// nothing: fakegraph's PublishSends), and returns the total number of such
// sends. Posts can hide a second send (a fake that refuses it); requests
// cannot.
func oneSendPerContainer(t testing.TB, r *rig) int {
	t.Helper()
	total := 0
	for _, c := range r.fake.Containers() {
		n := r.fake.PublishSends(c.ID)
		if n > 1 {
			t.Errorf("container %s: media_publish sent %d times", c.ID, n)
		}
		total += n
	}
	return total
}

func digest(t testing.TB, r publish.Request) string {
	t.Helper()
	d, err := r.Digest(publish.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
