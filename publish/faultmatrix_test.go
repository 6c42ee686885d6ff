package publish_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
)

// TestFaultMatrix: for every step of a carousel publish (with a first
// comment) × every fault the fake can inject, the outcome is one post with a
// correct result, or no post with a clear error — never two posts, also
// when the caller repeats the call with the same idempotency_key. Run with
// -v to print the outcome table.
func TestFaultMatrix(t *testing.T) {
	type step struct {
		name, method, suffix string
		nth                  int
	}
	steps := []step{
		{"child create", "POST", "/media", 1},
		{"parent create", "POST", "/media", 3},
		{"status poll", "GET", "", 2}, // GET #1 is the quota read
		{"publish", "POST", "/media_publish", 1},
		{"first comment", "POST", "/comments", 1},
	}
	gerr := func(code, sub int, msg string) *fakegraph.ErrorSpec {
		return &fakegraph.ErrorSpec{HTTPStatus: 400, Code: code, Subcode: sub, Message: msg, Type: "OAuthException"}
	}
	type fault struct {
		name    string
		f       fakegraph.Fault
		outcome *fakegraph.Outcome // container outcome instead of a request fault
	}
	faults := []fault{
		{name: "latency spike", f: fakegraph.Fault{Action: fakegraph.FaultLatency, Delay: 150 * time.Millisecond}},
		{name: "500", f: fakegraph.Fault{Action: fakegraph.FaultHTTP500}},
		{name: "connection drop", f: fakegraph.Fault{Action: fakegraph.FaultDrop}},
		{name: "publish-then-fail", f: fakegraph.Fault{Action: fakegraph.FaultPublishThenFail}},
		{name: "190", f: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: gerr(190, 463, "Error validating access token: Session has expired")}},
		{name: "4", f: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: gerr(4, 0, "(#4) Application request limit reached")}},
		{name: "17", f: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: gerr(17, 0, "(#17) User request limit reached")}},
		{name: "32", f: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: gerr(32, 0, "(#32) Page request limit reached")}},
		{name: "613", f: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: gerr(613, 0, "Calls to this api have exceeded the rate limit.")}},
		{name: "368", f: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: gerr(368, 0, "The action attempted has been deemed abusive")}},
		{name: "9007/2207027", f: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: gerr(9007, 2207027, "Media ID is not available")}},
		{name: "ERROR", outcome: &fakegraph.Outcome{StatusCode: "ERROR", Subcode: 2207026}},
		{name: "EXPIRED", outcome: &fakegraph.Outcome{StatusCode: "EXPIRED"}},
	}
	table := map[string]map[string]string{}
	for _, s := range steps {
		table[s.name] = map[string]string{}
		for _, fl := range faults {
			t.Run(s.name+"/"+fl.name, func(t *testing.T) {
				r := newRig(t, fakegraph.Options{ProcessingPolls: 1}, ratelimit.Config{})
				a := r.accounts[0]
				if fl.outcome != nil {
					if s.name != "status poll" {
						t.Skip("container outcomes happen during processing, not at a request")
					}
					r.fake.SetMediaOutcome("item-0.jpg", *fl.outcome)
				} else {
					f := fl.f
					f.Method, f.PathSuffix, f.Nth = s.method, s.suffix, s.nth
					r.fake.Inject(f)
				}
				req := publish.Request{Kind: publish.KindCarousel, IdempotencyKey: "matrix", Carousel: &publish.CarouselInput{
					Items:  []publish.CarouselItem{{ImageURL: "https://cdn.example.com/item-0.jpg"}, {ImageURL: "https://cdn.example.com/item-1.jpg"}},
					Common: publish.Common{Caption: "matrix", FirstComment: "first"},
				}}
				res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: 5 * time.Second})
				pub := r.fake.Published(a.ID)
				var outcome string
				switch {
				case len(pub) > 1:
					t.Fatalf("%d posts", len(pub))
				case err == nil:
					if len(pub) != 1 || res.Status != publish.StatusPublished || res.MediaID != pub[0].ID {
						t.Fatalf("result %+v but fake published %v", res, pub)
					}
					outcome = "published"
					if len(res.Warnings) > 0 {
						outcome += " + warning"
					}
				default:
					fe := failureOf(err)
					if len(pub) != 0 {
						t.Fatalf("error %v, yet a post went live", err)
					}
					if fe.Action == "" || fe.Message == "" {
						t.Fatalf("unclear error: %+v", fe)
					}
					outcome = "no post: " + string(fe.Kind)
					if fe.Retryable {
						outcome += " (retryable)"
					}
				}
				// The caller repeats the call with the same key: never a
				// second post, and a published result is replayed.
				again, err2 := r.pub.Run(t.Context(), a, req, publish.Options{Wait: 5 * time.Second})
				if n := len(r.fake.Published(a.ID)); n > 1 {
					t.Fatalf("repeat made %d posts", n)
				}
				if err == nil && (err2 != nil || again.MediaID != res.MediaID) {
					t.Fatalf("repeat of a published call: %v %+v", err2, again)
				}
				table[s.name][fl.name] = outcome
			})
		}
	}
	var b strings.Builder
	b.WriteString("\n| step \\ fault |")
	for _, fl := range faults {
		b.WriteString(" " + fl.name + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(faults)) + "\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "| %s |", s.name)
		for _, fl := range faults {
			o := table[s.name][fl.name]
			if o == "" {
				o = "n/a"
			}
			b.WriteString(" " + o + " |")
		}
		b.WriteString("\n")
	}
	t.Log(b.String())
}
