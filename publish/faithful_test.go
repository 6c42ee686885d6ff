package publish_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/staging/stagingtest"
	"github.com/igmcp/igmcp/store"
)

func carousel(n int, caption string) publish.Request {
	items := make([]publish.CarouselItem, n)
	for i := range items {
		items[i] = publish.CarouselItem{ImageURL: fmt.Sprintf("https://cdn.example.com/c%d.jpg", i)}
	}
	return publish.Request{Kind: publish.KindCarousel, Carousel: &publish.CarouselInput{Items: items, Common: publish.Common{Caption: caption}}}
}

// requestsOf counts the Graph requests by kind since call index from.
func requestsOf(r *rig, from int) map[string]int {
	out := map[string]int{}
	for _, c := range r.fake.Calls()[from:] {
		switch {
		case strings.HasSuffix(c.Path, "/content_publishing_limit"):
			out["quota"]++
		case c.Method == "POST" && strings.HasSuffix(c.Path, "/media"):
			out["create"]++
		case strings.HasSuffix(c.Path, "/media_publish"):
			out["publish"]++
		case c.Method == "GET" && strings.HasPrefix(c.Path, "/17889"):
			out["status"]++
		case c.Method == "GET" && strings.HasPrefix(c.Path, "/17900"):
			out["media"]++
		default:
			out[c.Method+" "+c.Path]++
		}
	}
	return out
}

// Issue 11 §4: the Graph requests of posts that are ready at once, counted
// by kind, for the process's first post (it reads the quota) and the next
// one (the quota is counted locally). Without read-after-write an image is
// not read before media_publish is tried; the permalink is read after. The
// expected figures are written out by hand.
func TestRequestsPerPost(t *testing.T) {
	type counts = map[string]int
	cases := []struct {
		name          string
		req           func(caption string) publish.Request
		first, steady map[string]counts // by variant
	}{
		{
			name: "image",
			req:  post,
			first: map[string]counts{
				"pessimistic": {"quota": 1, "create": 1, "publish": 1, "media": 1},
				"optimistic":  {"quota": 1, "create": 1, "publish": 1},
			},
			steady: map[string]counts{
				"pessimistic": {"create": 1, "publish": 1, "media": 1},
				"optimistic":  {"create": 1, "publish": 1},
			},
		},
		{
			name: "10-item carousel",
			req:  func(c string) publish.Request { return carousel(10, c) },
			first: map[string]counts{
				"pessimistic": {"quota": 1, "create": 11, "publish": 1, "media": 1},
				"optimistic":  {"quota": 1, "create": 11, "publish": 1},
			},
			steady: map[string]counts{
				"pessimistic": {"create": 11, "publish": 1, "media": 1},
				"optimistic":  {"create": 11, "publish": 1},
			},
		},
	}
	eachVariant(t, func(t *testing.T, v variant) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
				a := r.accounts[0]
				for i, want := range []counts{c.first[v.name], c.steady[v.name]} {
					from := len(r.fake.Calls())
					res, err := r.pub.Run(t.Context(), a, c.req(fmt.Sprint("post ", i)), publish.Options{Wait: 5 * time.Second})
					if err != nil || res.Status != publish.StatusPublished || res.Permalink == "" {
						t.Fatalf("post %d: %+v %v", i, res, err)
					}
					if got := requestsOf(r, from); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("post %d: requests %v, want %v", i, got, want)
					}
				}
				if sends := oneSendPerContainer(t, r); sends != 2 || len(r.fake.Published(a.ID)) != 2 {
					t.Fatalf("%d sends, %d posts", sends, len(r.fake.Published(a.ID)))
				}
			})
		}
	})
}

// An image that is not ready at once: the first media_publish answers
// "not ready" (it posts nothing), the container is then polled — not
// before — and sent once more when it reads FINISHED. An album likewise:
// its creation is refused while the items process, the items are polled,
// and it is created once.
func TestNotReadyAtOnce_PolledThenSentOnce(t *testing.T) {
	const polls = 2 // status reads that answer IN_PROGRESS
	eachVariant(t, func(t *testing.T, v variant) {
		for _, tc := range []struct {
			name string
			req  publish.Request
			// by variant: the requests of the publish
			want map[string]map[string]int
		}{
			{"image", post("slow image"), map[string]map[string]int{
				// try (not ready), 3 reads (IN_PROGRESS twice, FINISHED), publish
				"pessimistic": {"quota": 1, "create": 1, "publish": 2, "status": polls + 1, "media": 1},
				// the creation answers IN_PROGRESS: polled first
				"optimistic": {"quota": 1, "create": 1, "publish": 1, "status": polls + 1},
			}},
			{"carousel", carousel(2, "slow album"), map[string]map[string]int{
				// 2 items, album refused, 2×3 item reads, album, try
				// (not ready), 3 album reads, publish
				"pessimistic": {"quota": 1, "create": 4, "publish": 2, "status": 2*(polls+1) + polls + 1, "media": 1},
				"optimistic":  {"quota": 1, "create": 3, "publish": 1, "status": 2*(polls+1) + polls + 1},
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := v.rig(t, fakegraph.Options{ProcessingPolls: polls}, ratelimit.Config{})
				a := r.accounts[0]
				res, err := r.pub.Run(t.Context(), a, tc.req, publish.Options{Wait: 5 * time.Second})
				if err != nil || res.Status != publish.StatusPublished {
					t.Fatalf("%+v %v", res, err)
				}
				if got, want := requestsOf(r, 0), tc.want[v.name]; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("requests %v, want %v", got, want)
				}
				if sends := oneSendPerContainer(t, r); sends != 1 || len(r.fake.Published(a.ID)) != 1 {
					t.Fatalf("%d sends, %d posts", sends, len(r.fake.Published(a.ID)))
				}
				// The send that went live came after the container read
				// FINISHED: the fake only publishes a FINISHED container.
				rec, err := r.store.GetPublish(t.Context(), a.ID, "container:"+res.ContainerID)
				if err != nil || rec.State != store.PublishPublished || rec.MediaID != res.MediaID {
					t.Fatalf("container record %+v %v", rec, err)
				}
			})
		}
	})
}

// failPublishedStep makes the steps to published fail while armed: the
// process "dies" after Instagram answered media_publish and before the
// outcome was recorded.
type failPublishedStep struct {
	publish.Store
	armed *atomic.Bool
}

func (f failPublishedStep) AdvancePublish(ctx context.Context, accountID, key string, step store.PublishStep) (store.Publish, error) {
	if f.armed.Load() && step.To == store.PublishPublished {
		return store.Publish{}, errors.New("disk full")
	}
	return f.Store.AdvancePublish(ctx, accountID, key, step)
}

// Issue 11 §3: the status lags the publish (the container reads FINISHED
// for a while after media_publish put it live). After an answered send
// nothing sends the container again — not a repeat of the call or
// publish_container while it still reads FINISHED, not a resume whose
// ledger never recorded the answer — and after a lost answer the post is
// found once the status catches up, within the send grace. Counted: the
// media_publish requests per container and the posts.
func TestStatusLag_NeverASecondSend(t *testing.T) {
	const lag = 150 * time.Millisecond // inside testGrace (400 ms)
	for _, tc := range []struct {
		name string
		lag  time.Duration
		run  func(t *testing.T, r *rig, a *publish.Account) *publish.Result
	}{
		// nothing is lost here: the lag may outlast the test
		{"answered, then publish_container and a repeat within the lag", time.Hour, func(t *testing.T, r *rig, a *publish.Account) *publish.Result {
			req := post("lagging")
			req.IdempotencyKey = "lag-1"
			res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if st, err := r.pub.Status(t.Context(), a, res.ContainerID); err != nil || st.StatusCode != "FINISHED" {
				t.Fatalf("the fake should still read FINISHED: %+v %v", st, err)
			}
			for range 2 {
				again, err := r.pub.PublishContainer(t.Context(), a, res.ContainerID, publish.Options{Wait: 5 * time.Second})
				if err != nil || again.MediaID != res.MediaID {
					t.Fatalf("publish_container: %+v %v", again, err)
				}
				if again, err = r.pub.Run(t.Context(), a, req, publish.Options{Wait: 5 * time.Second}); err != nil || again.MediaID != res.MediaID {
					t.Fatalf("repeat: %+v %v", again, err)
				}
			}
			return res
		}},
		{"answered, outcome never recorded, resumed within the lag", lag, func(t *testing.T, r *rig, a *publish.Account) *publish.Result {
			var armed atomic.Bool
			armed.Store(true)
			p := publish.New(failPublishedStep{r.store, &armed}, publish.WithPollPolicy(fastPolls), publish.WithSendGrace(r.grace))
			req := post("unrecorded")
			req.IdempotencyKey = "lag-2"
			first, err := p.Run(t.Context(), a, req, publish.Options{Wait: 5 * time.Second})
			if err != nil || first.MediaID == "" {
				t.Fatalf("first: %+v %v", first, err)
			}
			if rec, _ := r.store.GetPublish(t.Context(), a.ID, "lag-2"); rec.State != store.PublishSent {
				t.Fatalf("ledger %s, want publish_sent (the outcome was not recorded)", rec.State)
			}
			armed.Store(false)
			r.open(t) // a restarted process, the container still reading FINISHED
			var wg sync.WaitGroup
			results := make([]*publish.Result, 2)
			errs := make([]error, 2)
			wg.Add(2)
			go func() {
				defer wg.Done()
				results[0], errs[0] = r.pub.Run(t.Context(), a, req, publish.Options{Wait: 5 * time.Second})
			}()
			go func() {
				defer wg.Done()
				results[1], errs[1] = r.pub.PublishContainer(t.Context(), a, first.ContainerID, publish.Options{Wait: 5 * time.Second})
			}()
			wg.Wait()
			for i := range 2 {
				if errs[i] != nil && failure.Classify(errs[i]).Kind != failure.Transient { // "in progress" for the one that lost the race
					t.Fatalf("resume %d: %v", i, errs[i])
				}
			}
			res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: 5 * time.Second})
			if err != nil || res.Status != publish.StatusPublished || res.MediaID != first.MediaID {
				t.Fatalf("resume: %+v %v (first %s)", res, err, first.MediaID)
			}
			return res
		}},
		{"answer lost: found when the status catches up", lag, func(t *testing.T, r *rig, a *publish.Account) *publish.Result {
			r.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Nth: 1, Action: fakegraph.FaultPublishThenFail})
			res, err := r.pub.Run(t.Context(), a, post("lost under lag"), publish.Options{Wait: 5 * time.Second})
			if err != nil || res.Status != publish.StatusPublished || len(res.Warnings) == 0 {
				t.Fatalf("%+v %v", res, err)
			}
			return res
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, fakegraph.Options{StatusLag: tc.lag}, ratelimit.Config{})
			a := r.accounts[0]
			res := tc.run(t, r, a)
			posts := r.fake.Published(a.ID)
			if len(posts) != 1 || res.MediaID != posts[0].ID {
				t.Fatalf("%d posts (result %+v)", len(posts), res)
			}
			if n := r.fake.MediaPublishes(res.ContainerID); n != 1 {
				t.Fatalf("media_publish sent %d times", n)
			}
		})
	}
}

// Issue 11 §2: a Reel that processes 2 minutes costs at most 15 status
// reads (Meta asks apps not to poll hard). The default poll policy runs
// 100× faster against a fake whose clock runs 100× faster, so the Reel
// still takes 2 minutes on the fake's clock; a slow machine only makes
// the publisher read less often on that clock.
func TestReel2Min_AtMost15StatusReads(t *testing.T) {
	const scale = 100
	start := time.Now()
	clock := func() time.Time { return start.Add(time.Since(start) * scale) }
	def := publish.DefaultPollPolicy()
	scaled := func(b publish.Backoff) publish.Backoff {
		return publish.Backoff{Initial: b.Initial / scale, Max: b.Max / scale, Factor: b.Factor}
	}
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{VideoProcessing: 2 * time.Minute, Now: clock}, ratelimit.Config{})
		r.pub = publish.New(r.store, publish.WithPollPolicy(publish.PollPolicy{Image: scaled(def.Image), Video: scaled(def.Video)}))
		a := r.accounts[0]
		res, err := r.pub.Run(t.Context(), a, reel(&publish.ReelInput{VideoURL: "https://cdn.example.com/r.mp4"}, ""), publish.Options{Wait: 900 * time.Second / scale})
		if err != nil || res.Status != publish.StatusPublished {
			t.Fatalf("%+v %v", res, err)
		}
		reads := requestsOf(r, 0)["status"]
		if reads < 2 || reads > 15 {
			t.Fatalf("%d status reads for a 2-minute Reel, want 2..15", reads)
		}
		if sends := oneSendPerContainer(t, r); sends != 1 {
			t.Fatalf("%d sends", sends)
		}
		t.Logf("%s: %d status reads", v.name, reads)
	})
}

// Issue 11 §2: a local video goes to Instagram by resumable upload, which
// Meta documents for Facebook Login only. With an Instagram Login account
// a file_path video is refused before any Graph call, saying why and what
// to do instead; a local image (staged, then given by URL) is fine.
func TestLocalVideo_InstagramLoginRefusedBeforeAnyCall(t *testing.T) {
	ig := fakegraph.Account{ID: "17841400000000055", Username: "ig_login", Token: "IGAAlocal", Login: fakegraph.LoginInstagram}
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{Accounts: []fakegraph.Account{ig}}, ratelimit.Config{})
		bucket := stagingtest.New(t)
		l := fastUpload()
		l.Stager = bucket.StageFunc()
		r.withLocal(l)
		a := r.accounts[0]
		a.Login = auth.LoginInstagram
		clip := writeFile(t, "clip.mp4", mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 10 * time.Second}))
		for _, req := range []publish.Request{
			reel(&publish.ReelInput{FilePath: clip}, ""),
			story(&publish.StoryInput{FilePath: clip}, ""),
		} {
			for name, try := range map[string]func() error{
				"Run": func() error {
					_, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: time.Second})
					return err
				},
				"ValidateFor": func() error { return req.ValidateFor(a) },
			} {
				fe := failureOf(try())
				if fe == nil || fe.Kind != failure.InvalidInput || fe.Field != "file_path" ||
					!strings.Contains(fe.Message, "Facebook Login") || !strings.Contains(fe.Action, "video_url") {
					t.Fatalf("%s %s: want invalid_input on file_path saying why and to give video_url, got %+v", req.Kind, name, fe)
				}
			}
		}
		if n := len(r.fake.Calls()); n != 0 {
			t.Fatalf("%d Graph calls for a refused upload", n)
		}
		// the same account publishes a local image, and a Facebook Login
		// account's video would pass the check
		img := writeFile(t, "story.jpg", mediatest.JPEG(540, 960))
		if res, err := r.pub.Run(t.Context(), a, story(&publish.StoryInput{FilePath: img}, ""), publish.Options{Wait: 5 * time.Second}); err != nil || res.Status != publish.StatusPublished {
			t.Fatalf("image file: %+v %v", res, err)
		}
		fb := *a
		fb.Login = auth.LoginFacebook
		if req := reel(&publish.ReelInput{FilePath: clip}, ""); req.ValidateFor(&fb) != nil {
			t.Fatalf("Facebook Login: %v", req.ValidateFor(&fb))
		}
	})
}

// With what a probe measured (images take this long to be ready) the
// first try waits that long instead of being told "not ready": one
// media_publish and no status read for an image; one album creation for
// a carousel.
func TestObservations_ImageReadySkipsTheNotReadyTry(t *testing.T) {
	const ready = 150 * time.Millisecond
	for _, tc := range []struct {
		name string
		req  publish.Request
		want map[string]int
	}{
		{"image, measured", post("measured"), map[string]int{"quota": 1, "create": 1, "publish": 1, "media": 1}},
		{"carousel, measured", carousel(2, "measured"), map[string]int{"quota": 1, "create": 3, "publish": 1, "media": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, fakegraph.Options{ImageProcessing: ready}, ratelimit.Config{})
			var asked atomic.Int32
			r.pub = publish.New(r.store, publish.WithPollPolicy(fastPolls), publish.WithSendGrace(r.grace),
				publish.WithObservations(func(_ context.Context, accountID string) publish.Observations {
					if accountID == r.accounts[0].ID {
						asked.Add(1)
					}
					d := ready
					return publish.Observations{ImageReady: &d}
				}))
			a := r.accounts[0]
			res, err := r.pub.Run(t.Context(), a, tc.req, publish.Options{Wait: 5 * time.Second})
			if err != nil || res.Status != publish.StatusPublished {
				t.Fatalf("%+v %v", res, err)
			}
			// Without the observation the try comes at once and is told
			// "not ready" (TestNotReadyAtOnce_PolledThenSentOnce).
			if got := requestsOf(r, 0); fmt.Sprint(got) != fmt.Sprint(tc.want) || asked.Load() != 1 {
				t.Fatalf("requests %v (observations asked %d times), want %v", got, asked.Load(), tc.want)
			}
			if sends := oneSendPerContainer(t, r); sends != 1 {
				t.Fatalf("%d sends", sends)
			}
		})
	}
}
