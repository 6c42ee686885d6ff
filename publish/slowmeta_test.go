package publish_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/store"
)

// lateAnswer makes the first media_publish lose its answer and take effect
// after d, while the container still reads FINISHED (Meta's queue).
func lateAnswer(r *rig, d time.Duration) {
	r.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Nth: 1, Action: fakegraph.FaultDropThenApplyLater, ApplyAfter: d})
}

// postsAfterLate counts the account's posts once every late request has
// taken effect.
func postsAfterLate(t *testing.T, r *rig, acct string) []fakegraph.Media {
	t.Helper()
	if err := r.fake.WaitLate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r.fake.Published(acct)
}

// Issue 11 §1, scaled down (the answer lost, the post live 0.25 s later
// instead of 8 s, a 1 s grace instead of 2 min): one Run makes one post.
// The container reads FINISHED meanwhile; sending again on that would
// make two.
func TestSlowMeta_LateAppliedPublish_OnePost(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		for _, kind := range []string{"post", "carousel", "story"} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
				r.grace = time.Second
				r.open(t)
				a := r.accounts[0]
				lateAnswer(r, 250*time.Millisecond)
				req := map[string]publish.Request{
					"post": post("slow meta"),
					"carousel": {Kind: publish.KindCarousel, Carousel: &publish.CarouselInput{Items: []publish.CarouselItem{
						{ImageURL: "https://cdn.example.com/a.jpg"}, {ImageURL: "https://cdn.example.com/b.jpg"}}, Common: publish.Common{Caption: "slow meta"}}},
					"story": story(&publish.StoryInput{ImageURL: "https://cdn.example.com/s.jpg"}, ""),
				}[kind]
				res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: 30 * time.Second})
				posts := postsAfterLate(t, r, a.ID)
				if sends := oneSendPerContainer(t, r); sends != 1 || len(posts) != 1 {
					t.Fatalf("%d media_publish sends, %d posts (result %+v, %v)", sends, len(posts), res, err)
				}
				if err != nil || res.Status != publish.StatusPublished || res.MediaID != posts[0].ID || len(res.Warnings) == 0 {
					t.Fatalf("result %+v %v, post %s", res, err, posts[0].ID)
				}
			})
		}
	})
}

// A send that did nothing (a 5xx: the container stays FINISHED) is sent
// again — once, and only after the container read FINISHED for the whole
// send grace.
func TestSlowMeta_LostSendResentAfterGrace(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		a := r.accounts[0]
		r.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Nth: 1, Action: fakegraph.FaultHTTP500})
		res, err := r.pub.Run(t.Context(), a, post("lost send"), publish.Options{Wait: 30 * time.Second})
		if err != nil || res.Status != publish.StatusPublished {
			t.Fatalf("%+v %v", res, err)
		}
		var sends []fakegraph.Call
		for _, c := range r.fake.Calls() {
			if strings.HasSuffix(c.Path, "/media_publish") {
				sends = append(sends, c)
			}
		}
		if len(sends) != 2 || r.fake.MediaPublishes(res.ContainerID) != 2 || len(postsAfterLate(t, r, a.ID)) != 1 {
			t.Fatalf("%d sends, %d posts", len(sends), len(r.fake.Published(a.ID)))
		}
		if gap := sends[1].Time.Sub(sends[0].Time); gap < r.grace {
			t.Fatalf("sent again %v after a lost answer, inside the %v grace", gap, r.grace)
		}
		// The status was read in between, FINISHED every time.
		reads := 0
		for _, c := range r.fake.Calls() {
			if c.Method == "GET" && c.Path == "/"+res.ContainerID && c.Time.After(sends[0].Time) && c.Time.Before(sends[1].Time) {
				reads++
			}
		}
		if reads < 2 {
			t.Fatalf("%d status reads between the sends", reads)
		}
	})
}

var rfc3339InText = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

// The caller's wait ends before the grace: outcome_unknown, naming the
// time the grace ends and get_container_status; nothing is sent again, by
// the same call, by publish_container, or by a repeat of the call within
// the grace. Once the late post is live, the same key finds it.
func TestSlowMeta_WaitEndsFirst_OutcomeUnknown(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		r.grace = time.Hour
		r.open(t)
		a := r.accounts[0]
		lateAnswer(r, 500*time.Millisecond)
		req := post("wait ends first")
		req.IdempotencyKey = "wait-ends"
		_, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: 100 * time.Millisecond})
		fe := failureOf(err)
		if fe == nil || fe.Kind != failure.OutcomeUnknown || fe.Retryable || !strings.Contains(fe.Action, "get_container_status") {
			t.Fatalf("want outcome_unknown with an action, got %v", err)
		}
		rec, gerr := r.store.GetPublish(t.Context(), a.ID, "wait-ends")
		if gerr != nil || rec.State != store.PublishSent {
			t.Fatalf("ledger %+v %v", rec, gerr)
		}
		when, perr := time.Parse(time.RFC3339, rfc3339InText.FindString(fe.Action))
		if perr != nil || when.Before(rec.UpdatedAt.Add(time.Hour)) || when.After(time.Now().Add(time.Hour+time.Second)) {
			t.Fatalf("action %q does not name the end of the grace (claimed %s)", fe.Action, rec.UpdatedAt.UTC())
		}
		// publish_container on the same container, and the same call again,
		// while the send may still take effect: nothing sent.
		if _, err := r.pub.PublishContainer(t.Context(), a, rec.ContainerID, publish.Options{Wait: 50 * time.Millisecond}); kindOf(err) != failure.OutcomeUnknown {
			t.Fatalf("publish_container inside the grace: %v", err)
		}
		if r.fake.MediaPublishes(rec.ContainerID) != 1 {
			t.Fatalf("sent again inside the grace: %d sends", r.fake.MediaPublishes(rec.ContainerID))
		}
		posts := postsAfterLate(t, r, a.ID)
		res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: 5 * time.Second})
		if err != nil || res.Status != publish.StatusPublished || len(posts) != 1 || res.MediaID != posts[0].ID {
			t.Fatalf("after the late post: %+v %v (posts %+v)", res, err, posts)
		}
		again, err := r.pub.PublishContainer(t.Context(), a, rec.ContainerID, publish.Options{Wait: 5 * time.Second})
		if err != nil || again.MediaID != res.MediaID {
			t.Fatalf("publish_container after: %+v %v", again, err)
		}
		if sends := oneSendPerContainer(t, r); sends != 1 || len(r.fake.Published(a.ID)) != 1 {
			t.Fatalf("%d sends, %d posts", sends, len(r.fake.Published(a.ID)))
		}
	})
}

// publish_container of a draft whose send is lost and applied later: the
// same rule, one post.
func TestSlowMeta_PublishContainer_OnePost(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		r.grace = time.Second
		r.open(t)
		a := r.accounts[0]
		draft, err := r.pub.Run(t.Context(), a, post("draft"), publish.Options{Wait: 5 * time.Second, Draft: true})
		if err != nil || draft.Status != publish.StatusDraft {
			t.Fatalf("draft %+v %v", draft, err)
		}
		lateAnswer(r, 250*time.Millisecond)
		res, err := r.pub.PublishContainer(t.Context(), a, draft.ContainerID, publish.Options{Wait: 30 * time.Second})
		posts := postsAfterLate(t, r, a.ID)
		if err != nil || len(posts) != 1 || res.MediaID != posts[0].ID || r.fake.MediaPublishes(draft.ContainerID) != 1 {
			t.Fatalf("%+v %v, %d posts, %d sends", res, err, len(posts), r.fake.MediaPublishes(draft.ContainerID))
		}
	})
}
