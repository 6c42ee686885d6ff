package publish_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/store"
)

// holdPublish holds every media_publish request before it leaves the
// process until release is closed (or the request's context ends): a
// caller that stalls after claiming its send, as a loaded machine, a long
// GC pause or a lost lease can make it.
type holdPublish struct {
	release chan struct{}
	held    chan struct{} // closed when the first request is held
	once    sync.Once
}

func (h *holdPublish) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/media_publish") {
		h.once.Do(func() { close(h.held) })
		select {
		case <-h.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A publisher that stalls between claiming its send and sending it, for
// longer than the send grace, while a second process takes the key over:
// the second sends once the container read FINISHED for the whole grace,
// and the stalled one must not send after that. (Mutant: no deadline on
// the send, or sending however long ago it claimed: two posts.)
func TestStalledSenderNeverSendsAfterTheGrace(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		acct := fakegraph.DefaultAccount
		hold := &holdPublish{release: make(chan struct{}), held: make(chan struct{})}
		stalled, err := graph.NewClient(graph.WithBaseURL(r.base), graph.WithRetryPolicy(fastRetry),
			graph.WithHTTPClient(&http.Client{Transport: hold}),
			graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token})))
		if err != nil {
			t.Fatal(err)
		}
		a := r.accounts[0]
		other, err := store.Open(context.Background(), store.Config{DataDir: r.dir})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		req := post("stalled sender")
		req.IdempotencyKey = "stalled"

		first := publish.New(r.store, publish.WithPollPolicy(fastPolls), publish.WithSendGrace(r.grace))
		type outcome struct {
			res *publish.Result
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, err := first.Run(context.Background(), &publish.Account{ID: a.ID, Username: a.Username, Graph: stalled}, req, publish.Options{Wait: 10 * time.Second})
			done <- outcome{res, err}
		}()
		<-hold.held // claimed, and stalled before its request left

		second := publish.New(other, publish.WithPollPolicy(fastPolls), publish.WithSendGrace(r.grace))
		var res *publish.Result
		for deadline := time.Now().Add(30 * time.Second); ; {
			// in flight at first; once the grace is over it settles and sends
			res, err = second.Run(context.Background(), a, req, publish.Options{Wait: 10 * time.Second})
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil || res.Status != publish.StatusPublished {
			t.Fatalf("second process: %+v %v", res, err)
		}
		close(hold.release)
		out := <-done
		posts := r.fake.Published(a.ID)
		if len(posts) != 1 {
			t.Fatalf("%d posts, want 1 (stalled one answered %+v %v)", len(posts), out.res, out.err)
		}
		if n := r.fake.PublishSends(res.ContainerID); n != 1 {
			t.Fatalf("media_publish reached Instagram %d times, want 1", n)
		}
		if out.err != nil && kindOf(out.err) != "outcome_unknown" {
			t.Errorf("stalled publisher: %v", out.err)
		}
		if out.err == nil && out.res.MediaID != posts[0].ID {
			t.Errorf("stalled publisher answered %+v, the post is %s", out.res, posts[0].ID)
		}
	})
}
