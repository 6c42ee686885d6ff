package publish_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the fault table in README.md from faultMatrix")

// matrixStep is where in a carousel publish (two image items, a first
// comment) a fault is injected: the Nth request of that method whose path
// ends with suffix.
// readyOnly: only requests that would take effect count (fakegraph's
// Fault.ReadyOnly: a media_publish of a FINISHED container), so the fault
// hits the publish that goes live whatever harmless "not ready" tries came
// first (the pessimistic variant tries an album before any status read).
type matrixStep struct {
	name, method, suffix string
	nth                  int
	readyOnly            bool
}

var matrixSteps = []matrixStep{
	{"child create", "POST", "/media", 1, false},
	{"parent create", "POST", "/media", 3, false}, // the first try of the album
	{"status poll", "GET", "", 2, false},          // GET #1 is the quota read
	{"publish", "POST", "/media_publish", 1, true},
	{"first comment", "POST", "/comments", 1, false},
}

// matrixFault is one fault: a request fault, or (outcome) how the
// container's processing ends, which only the status poll can see.
type matrixFault struct {
	name    string
	fault   fakegraph.Fault
	outcome *fakegraph.Outcome
}

func graphErr(code, sub int, msg string) *fakegraph.ErrorSpec {
	return &fakegraph.ErrorSpec{HTTPStatus: 400, Code: code, Subcode: sub, Message: msg, Type: "OAuthException"}
}

var matrixFaults = []matrixFault{
	{name: "latency spike", fault: fakegraph.Fault{Action: fakegraph.FaultLatency, Delay: 150 * time.Millisecond}},
	{name: "500", fault: fakegraph.Fault{Action: fakegraph.FaultHTTP500}},
	{name: "connection drop", fault: fakegraph.Fault{Action: fakegraph.FaultDrop}},
	{name: "publish-then-fail", fault: fakegraph.Fault{Action: fakegraph.FaultPublishThenFail}},
	{name: "drop, applied 150 ms later", fault: fakegraph.Fault{Action: fakegraph.FaultDropThenApplyLater, ApplyAfter: 150 * time.Millisecond}},
	{name: "190", fault: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: graphErr(190, 463, "Error validating access token: Session has expired")}},
	{name: "4", fault: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: graphErr(4, 0, "(#4) Application request limit reached")}},
	{name: "17", fault: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: graphErr(17, 0, "(#17) User request limit reached")}},
	{name: "32", fault: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: graphErr(32, 0, "(#32) Page request limit reached")}},
	{name: "613", fault: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: graphErr(613, 0, "Calls to this api have exceeded the rate limit.")}},
	{name: "368", fault: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: graphErr(368, 0, "The action attempted has been deemed abusive")}},
	{name: "9007/2207027", fault: fakegraph.Fault{Action: fakegraph.FaultGraphError, GraphError: graphErr(9007, 2207027, "Media ID is not available")}},
	{name: "ERROR", outcome: &fakegraph.Outcome{StatusCode: "ERROR", Subcode: 2207026}},
	{name: "EXPIRED", outcome: &fakegraph.Outcome{StatusCode: "EXPIRED"}},
}

// cell is the expected outcome of one fault at one step.
type cell struct {
	// kind is the error kind; "" means published (exactly one post).
	kind failure.Kind
	// warning: published, with a warning in the result.
	warning bool
	// retried: the request the fault hit was sent again (same method, path
	// and parameters).
	retried bool
	// reconciled: the album container's status was read after a
	// media_publish whose answer was bad.
	reconciled bool
	// sends is the number of media_publish requests for the album
	// container that may have posted (fakegraph's PublishSends: a "not
	// ready" answer posts nothing).
	sends int
}

var (
	onePost = cell{sends: 1}
	noPost  = func(k failure.Kind) cell { return cell{kind: k} }
)

func (c cell) retry() cell     { c.retried = true; return c }
func (c cell) warn() cell      { c.warning = true; return c }
func (c cell) reconcile() cell { c.reconciled = true; return c }
func (c cell) sent(n int) cell { c.sends = n; return c }

// faultMatrix is the expected outcome of every fault at every step (fault
// → step → cell); a missing step is a fault that cannot happen there. The
// README's fault table is generated from it.
var faultMatrix = map[string]map[string]cell{
	"latency spike": {"child create": onePost, "parent create": onePost, "status poll": onePost, "publish": onePost, "first comment": onePost},
	// Creation and status reads are safe to repeat: the client retries
	// them. A 5xx or a drop on media_publish did nothing here, but nothing
	// tells: the container is polled, and sent once more only after it
	// read FINISHED for the whole send grace.
	"500": {"child create": onePost.retry(), "parent create": onePost.retry(), "status poll": onePost.retry(),
		"publish": onePost.retry().reconcile().sent(2), "first comment": onePost.warn()},
	"connection drop": {"child create": onePost.retry(), "parent create": onePost.retry(), "status poll": onePost.retry(),
		"publish": onePost.retry().reconcile().sent(2), "first comment": onePost.warn()},
	// The request did its work, then the answer was lost: an orphan
	// container after a lost creation answer (retried); the post is live
	// after a lost publish answer (the container reads PUBLISHED, never
	// sent again); the comment exists but the result warns.
	"publish-then-fail": {"child create": onePost.retry(), "parent create": onePost.retry(), "status poll": onePost.retry(),
		"publish": onePost.warn().reconcile(), "first comment": onePost.warn()},
	// The request takes effect after its answer was lost: an orphan
	// container; a post that appears while the container is polled within
	// the grace (never sent again); a comment the result says failed.
	"drop, applied 150 ms later": {"child create": onePost.retry(), "parent create": onePost.retry(), "status poll": onePost.retry(),
		"publish": onePost.warn().reconcile(), "first comment": onePost.warn()},
	"190": refusedEverywhere(failure.AuthExpired),
	"4":   refusedEverywhere(failure.RateLimited),
	"17":  refusedEverywhere(failure.RateLimited),
	"32":  refusedEverywhere(failure.RateLimited),
	"613": refusedEverywhere(failure.RateLimited),
	"368": refusedEverywhere(failure.SpamBlocked).with("publish", noPost(failure.SpamBlocked).reconcile().sent(1)),
	// "Not ready" refuses the album or the publish and did nothing: the
	// items (the album) are polled until FINISHED and the request is made
	// again. On a status read it is an answer the client cannot act on.
	"9007/2207027": refusedEverywhere(failure.ContainerNotReady).
		with("parent create", onePost.retry()).
		with("publish", onePost.retry()),
	"ERROR":   {"status poll": noPost(failure.ContainerFailed)},
	"EXPIRED": {"status poll": noPost(failure.ContainerExpired)},
}

type row map[string]cell

// refusedEverywhere: Instagram refused the request: no post, nothing
// retried; at the publish step the one send was refused; a failed first
// comment only warns (the post is live).
func refusedEverywhere(k failure.Kind) row {
	return row{"child create": noPost(k), "parent create": noPost(k), "status poll": noPost(k),
		"publish": noPost(k).sent(1), "first comment": onePost.warn()}
}

func (r row) with(step string, c cell) row { r[step] = c; return r }

// TestFaultMatrix: one fault at one step of a carousel publish with a first
// comment, against both variants of the fake; the outcome must be
// faultMatrix's cell: the error kind or one post, warnings, retries,
// reconciliation and the media_publish sends. A repeat with the same
// idempotency_key never adds a post or a send.
func TestFaultMatrix(t *testing.T) {
	for _, v := range variants {
		for _, fl := range matrixFaults {
			for _, s := range matrixSteps {
				want, ok := faultMatrix[fl.name][s.name]
				if !ok {
					continue
				}
				t.Run(v.name+"/"+s.name+"/"+fl.name, func(t *testing.T) {
					t.Parallel()
					runMatrixCell(t, v, s, fl, want)
				})
			}
		}
	}
}

func runMatrixCell(t *testing.T, v variant, s matrixStep, fl matrixFault, want cell) {
	r := v.rig(t, fakegraph.Options{ProcessingPolls: 1}, ratelimit.Config{})
	a := r.accounts[0]
	if fl.outcome != nil {
		r.fake.SetMediaOutcome("item-0.jpg", *fl.outcome)
	} else {
		f := fl.fault
		f.Method, f.PathSuffix, f.Nth, f.ReadyOnly = s.method, s.suffix, s.nth, s.readyOnly
		r.fake.Inject(f)
	}
	req := publish.Request{Kind: publish.KindCarousel, IdempotencyKey: "matrix", Carousel: &publish.CarouselInput{
		Items:  []publish.CarouselItem{{ImageURL: "https://cdn.example.com/item-0.jpg"}, {ImageURL: "https://cdn.example.com/item-1.jpg"}},
		Common: publish.Common{Caption: "matrix", FirstComment: "first"},
	}}
	res, err := r.pub.Run(t.Context(), a, req, publish.Options{Wait: 10 * time.Second})
	got := observe(t, r, a.ID, res, err)
	if got != want {
		t.Fatalf("got %s\nwant %s\n(result %+v, error %v)", got.text(), want.text(), res, err)
	}
	// The caller repeats the call with the same key: never a
	// second post or send, and a published result is replayed.
	sends := r.fake.CountCalls("POST", "/media_publish")
	again, err2 := r.pub.Run(t.Context(), a, req, publish.Options{Wait: 10 * time.Second})
	if n := len(r.fake.Published(a.ID)); n > 1 {
		t.Fatalf("repeat made %d posts", n)
	}
	if err == nil {
		if err2 != nil || again.MediaID != res.MediaID || !again.Replayed || r.fake.CountCalls("POST", "/media_publish") != sends {
			t.Fatalf("repeat of a published call: %v %+v", err2, again)
		}
	}
}

// observe reads what happened from the result and from the requests the
// fake saw.
func observe(t *testing.T, r *rig, acct string, res *publish.Result, err error) cell {
	t.Helper()
	if err := r.fake.WaitLate(t.Context()); err != nil { // requests that take effect late count too
		t.Fatal(err)
	}
	posts := r.fake.Published(acct)
	var c cell
	switch {
	case err == nil:
		if len(posts) != 1 || res.Status != publish.StatusPublished || res.MediaID != posts[0].ID {
			t.Fatalf("result %+v, but the fake published %+v", res, posts)
		}
		c.warning = len(res.Warnings) > 0
	default:
		fe := failureOf(err)
		if len(posts) != 0 {
			t.Fatalf("error %v, yet %d posts went live", err, len(posts))
		}
		if fe.Action == "" || fe.Message == "" {
			t.Fatalf("unclear error: %+v", fe)
		}
		c.kind = fe.Kind
	}
	album := ""
	if res != nil {
		album = res.ContainerID
	}
	for _, ct := range r.fake.Containers() { // the first album: a late one is an orphan
		if album == "" && ct.Kind == fakegraph.KindCarousel {
			album = ct.ID
		}
	}
	calls := r.fake.Calls()
	for i, cl := range calls {
		if cl.Fault == 0 {
			continue
		}
		c.retried = c.retried || slices.ContainsFunc(calls[i+1:], func(o fakegraph.Call) bool {
			return o.Method == cl.Method && o.Path == cl.Path && o.Params.Encode() == cl.Params.Encode()
		})
	}
	badPublish := slices.IndexFunc(calls, func(cl fakegraph.Call) bool { // not ready is a plain refusal
		return strings.HasSuffix(cl.Path, "/media_publish") && cl.Status != 200 && cl.ErrorSubcode != 2207027
	})
	if badPublish >= 0 && album != "" {
		c.reconciled = slices.ContainsFunc(calls[badPublish+1:], func(cl fakegraph.Call) bool {
			return cl.Method == "GET" && cl.Path == "/"+album
		})
	}
	if album != "" {
		c.sends = r.fake.PublishSends(album)
	}
	return c
}

// text is the cell as the README shows it.
func (c cell) text() string {
	s := "published"
	if c.kind != "" {
		s = "no post: " + string(c.kind)
	}
	if c.warning {
		s += " + warning"
	}
	var notes []string
	if c.retried {
		notes = append(notes, "retried")
	}
	if c.reconciled {
		notes = append(notes, "reconciled")
	}
	if obvious := map[bool]int{true: 0, false: 1}[c.kind != ""]; c.sends != obvious {
		notes = append(notes, fmt.Sprintf("media_publish ×%d", c.sends))
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

// faultTable renders faultMatrix as the README's table: one row per fault,
// one column per step.
func faultTable() string {
	var b strings.Builder
	b.WriteString("| fault \\ step |")
	for _, s := range matrixSteps {
		b.WriteString(" " + s.name + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(matrixSteps)) + "\n")
	for _, fl := range matrixFaults {
		fmt.Fprintf(&b, "| %s |", fl.name)
		for _, s := range matrixSteps {
			text := "—"
			if c, ok := faultMatrix[fl.name][s.name]; ok {
				text = c.text()
			}
			b.WriteString(" " + text + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

const (
	tableBegin = "<!-- fault table: generated from publish/faultmatrix_test.go; go test ./publish/ -run TestFaultTableInREADME -update-readme -->\n"
	tableEnd   = "<!-- end of fault table -->"
)

// TestFaultTableInREADME: the README's fault table is faultMatrix, the data
// TestFaultMatrix asserts.
func TestFaultTableInREADME(t *testing.T) {
	const path = "../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(readme, []byte(tableBegin))
	j := bytes.Index(readme, []byte(tableEnd))
	if i < 0 || j < i {
		t.Fatalf("README.md has no generated fault table (markers %q … %q)", tableBegin, tableEnd)
	}
	want := faultTable()
	got := string(readme[i+len(tableBegin) : j])
	if got == want {
		return
	}
	if *updateREADME {
		out := append(append(append([]byte{}, readme[:i+len(tableBegin)]...), want...), readme[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's fault table differs from faultMatrix; run go test ./publish/ -run TestFaultTableInREADME -update-readme\nwant:\n%s", want)
}
