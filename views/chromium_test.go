package views_test

// Headless Chromium, driven over the DevTools protocol (chromedp).

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// screenshotDir is where the browser tests leave their screenshots (README
// "Views (MCP Apps)"; git-ignored, kept by CI as artifacts).
const screenshotDir = "testdata/screenshots"

// chromium finds Debian's chromium (.ci/install-browser.sh installs it).
// Without it the browser tests skip locally and fail under CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing: run .ci/install-browser.sh (Debian's chromium package)")
	}
	t.Skip("chromium is missing (apt-get install -y chromium, or .ci/install-browser.sh); CI=true makes this a failure")
	return ""
}

// browser is one headless Chromium; each open() is a new tab.
type browser struct {
	root     context.Context
	tab      context.Context
	closeFn  context.CancelFunc
	origin   string // the view's origin in the current tab
	barriers int

	mu       sync.Mutex
	requests []string // every URL the tab requested
	problems []string // JavaScript exceptions and policy violations
}

func newBrowser(t *testing.T, mediaAddr string) *browser {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Keep the sandboxed view frame in the page's process, where the
		// test reaches its DOM (process placement is invisible to the page).
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,IsolateSandboxedIframes"),
		chromedp.Flag("disable-site-isolation-trials", true),
		// Media URLs name https://cdn.example.com: serve them from the
		// loopback media server (its certificate is a test one).
		chromedp.Flag("host-resolver-rules", "MAP *.example.com "+mediaAddr),
		chromedp.IgnoreCertErrors,
		chromedp.WindowSize(1000, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelRoot()
		cancelAlloc()
	})
	if err := chromedp.Do(root); err != nil { // start the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return &browser{root: root}
}

func (b *browser) open(t *testing.T, url, viewOrigin string) {
	t.Helper()
	if b.closeFn != nil {
		b.closeFn()
	}
	tab, cancel := chromedp.NewContext(b.root)
	b.tab, b.closeFn, b.origin = tab, cancel, viewOrigin
	b.mu.Lock()
	b.requests, b.problems = nil, nil
	b.mu.Unlock()
	if err := chromedp.Listen(tab, b.record); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
}

func (b *browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.problems = append(b.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Source == log.EntrySourceSecurity || e.Source == log.EntrySourceViolation || strings.Contains(e.Text, "Content Security Policy") {
			b.problems = append(b.problems, fmt.Sprintf("%s: %s", e.Source, e.Text))
		}
	}
}

// checkClean fails on any JavaScript exception or policy violation, and on
// any request that is neither the host, the view, nor a media URL of the
// tool's arguments.
func (b *browser) checkClean(t *testing.T, hostURL string, allowed ...string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("browser: %s", p)
	}
	for _, u := range b.requests {
		u = strings.SplitN(u, "#", 2)[0]
		if strings.HasPrefix(u, hostURL+"/") || strings.HasPrefix(u, b.origin+"/") || slices.Contains(allowed, u) {
			continue
		}
		t.Errorf("the page requested %s, which is not a media URL of the post", u)
	}
}

// viewFrame is the id of the view's frame in the host page.
func (b *browser) viewFrame(t *testing.T) cdp.FrameID {
	t.Helper()
	tree, err := chromedp.Call(b.tab, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tree.FrameTree.ChildFrames {
		if strings.HasPrefix(c.Frame.URL, b.origin+"/") {
			return c.Frame.ID
		}
	}
	return ""
}

// eval runs expr in the view's document (an isolated world: the view's DOM,
// none of its script's variables) and decodes the JSON result into out.
func (b *browser) eval(t *testing.T, expr string, out any) error {
	t.Helper()
	id := b.viewFrame(t)
	if id == "" {
		return fmt.Errorf("no view frame yet")
	}
	world, err := chromedp.Call(b.tab, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: id, WorldName: "igmcp-test"})
	if err != nil {
		return err
	}
	yes := true
	res, err := chromedp.Call(b.tab, runtime.Evaluate, runtime.EvaluateParams{
		Expression: expr, ContextID: world.ExecutionContextID, ReturnByValue: &yes, AwaitPromise: &yes,
	})
	if err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("%s: %s", res.ExceptionDetails.Text, res.ExceptionDetails.Exception.Description)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal([]byte(res.Result.Value), out)
}

// get evaluates expr in the view and fails the test on an error.
func get[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	var v T
	if err := b.eval(t, expr, &v); err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// waitFor polls a condition in the view (a JavaScript boolean expression)
// until it holds; the deadline is generous, the poll is the only wait.
func (b *browser) waitFor(t *testing.T, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		var ok bool
		if last = b.eval(t, "!!("+cond+")", &ok); last == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: %s never held (last error: %v)", what, cond, last)
}

// settled waits until the view has rendered the result and every image in
// it has loaded (or failed).
func (b *browser) settled(t *testing.T) {
	t.Helper()
	b.waitFor(t, "the view to render", `document.getElementById("app").getAttribute("aria-busy") === "false"`)
	// A media that fails is replaced by a note, so every image left loads.
	b.waitFor(t, "images to load", `Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)`)
}

// press focuses the element sel in the view and types key (keyboard only).
func (b *browser) press(t *testing.T, sel, key string) {
	t.Helper()
	if !get[bool](t, b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.focus(); return document.activeElement === e; })()`, sel)) {
		t.Fatalf("cannot focus %s", sel)
	}
	if err := chromedp.Do(b.tab, chromedp.KeyEvent(key)); err != nil {
		t.Fatal(err)
	}
}

// screenshot saves the view (the iframe, at the size the view asked for)
// under testdata/screenshots.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	// The host sizes the frame from ui/notifications/size-changed: wait
	// until it matches the view's content.
	b.waitHostSized(t)
	png, err := chromedp.Run(b.tab, chromedp.Screenshot(chromedp.ID("view")))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(screenshotDir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

func (b *browser) waitHostSized(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		var want int
		if err := b.eval(t, `Math.ceil(document.getElementById("app").getBoundingClientRect().bottom)`, &want); err == nil {
			got, err := chromedp.Run(b.tab, chromedp.Evaluate[int](`document.getElementById("view").getBoundingClientRect().height`))
			if err == nil && got == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the host never sized the frame to the view (ui/notifications/size-changed)")
}

// hostLog is what the host page recorded of the bridge, in order.
func (b *browser) hostLog(t *testing.T) []bridgeMsg {
	t.Helper()
	raw, err := chromedp.Run(b.tab, chromedp.Evaluate[[]byte](`JSON.stringify(window.hostLog || [])`))
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	var out []bridgeMsg
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

type bridgeMsg struct {
	Dir string         `json:"dir"`
	Msg map[string]any `json:"msg"`
}

// contrast is the WCAG contrast ratio of two CSS rgb()/rgba() colours.
func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	la, lb := luminance(t, a), luminance(t, b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(t *testing.T, css string) float64 {
	t.Helper()
	var r, g, b float64
	inner := css[strings.Index(css, "(")+1 : strings.LastIndex(css, ")")]
	parts := strings.FieldsFunc(inner, func(c rune) bool { return c == ',' || c == ' ' || c == '/' })
	if len(parts) < 3 {
		t.Fatalf("colour %q", css)
	}
	if _, err := fmt.Sscan(parts[0], &r); err != nil {
		t.Fatalf("colour %q: %v", css, err)
	}
	fmt.Sscan(parts[1], &g)
	fmt.Sscan(parts[2], &b)
	lin := func(c float64) float64 {
		c /= 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// barrier returns once the host has received every message the view posted
// before it: messages from one window arrive in order, so a marker posted
// now arrives after them.
func (b *browser) barrier(t *testing.T) {
	t.Helper()
	b.barriers++
	n := b.barriers
	if err := b.eval(t, fmt.Sprintf(`window.parent.postMessage({jsonrpc: "2.0", method: "test/barrier", params: {n: %d}}, "*")`, n), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range b.hostLog(t) {
			if p, ok := m.Msg["params"].(map[string]any); ok && m.Msg["method"] == "test/barrier" && p["n"] == float64(n) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the host never received the barrier message")
}

// viewCalls is how many tools/call requests the view sent the host.
func (b *browser) viewCalls(t *testing.T) int {
	t.Helper()
	n := 0
	for _, m := range b.hostLog(t) {
		if m.Dir == "view" && m.Msg["method"] == "tools/call" {
			n++
		}
	}
	return n
}
