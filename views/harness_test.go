package views_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/views"
)

// screenshotDir is where the browser tests leave their screenshots (README
// "Views (MCP Apps)"; git-ignored, kept by CI as artifacts).
const screenshotDir = "testdata/screenshots"

// --- the sandbox: igmcp's tools over the fake Graph API ------------------------

// clock is the fake Graph API's clock, moved by the test so posts spread
// over days.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sandbox is the MCP server of `igmcp --sandbox` (tools.NewServer over
// fakegraph), with preflight reaching a loopback media server so
// validate_post reports real dimensions, and the views registered.
type sandbox struct {
	fake    *fakegraph.Server
	account fakegraph.Account
	media   *mediatest.Server
	clock   *clock
	client  *client.Client
	tools   map[string]mcp.Tool
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	clk := &clock{t: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)}
	fake := fakegraph.New(fakegraph.Options{Now: clk.Now})
	base, stop := fake.Start()
	t.Cleanup(stop)
	acct := fakegraph.DefaultAccount
	newClient := func(ts oauth2.TokenSource) (*graph.Client, error) {
		return graph.NewClient(graph.WithBaseURL(base), graph.WithTokenSource(ts),
			graph.WithRetryPolicy(graph.RetryPolicy{MaxTries: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: time.Second}),
			graph.WithLimiter(ratelimit.New(ratelimit.Config{}).For(acct.ID)))
	}
	accounts, err := auth.NewSingle(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token}), acct.ID, auth.LoginFacebook, newClient)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	media := mediatest.Serve(t)
	fast := publish.PollPolicy{
		Image: publish.Backoff{Initial: 2 * time.Millisecond, Max: 10 * time.Millisecond, Factor: 1.5},
		Video: publish.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1.6},
	}
	deps := &tools.Deps{
		Accounts:  accounts,
		Publisher: publish.New(st, publish.WithPollPolicy(fast)),
		Journal:   st,
		Media:     &tools.MediaDeps{Preflight: preflight.New(preflight.Options{Client: media.Client()})},
		Sandbox:   true,
	}
	srv := tools.NewServer(deps, "test", tools.Selection{})
	if !hasResource(srv, views.PreviewURI) { // until the tools wire the views in
		if err := views.Register(srv, views.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "igmcp-views-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	sb := &sandbox{fake: fake, account: acct, media: media, clock: clk, client: c, tools: map[string]mcp.Tool{}}
	for _, tl := range list.Tools {
		sb.tools[tl.Name] = tl
	}
	return sb
}

func hasResource(s *server.MCPServer, uri string) bool {
	c, err := client.NewInProcessClient(s)
	if err != nil {
		return false
	}
	defer c.Close()
	ctx := context.Background()
	if c.Start(ctx) != nil {
		return false
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "probe", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return false
	}
	res, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		return false
	}
	return slices.ContainsFunc(res.Resources, func(r mcp.Resource) bool { return r.URI == uri })
}

// call makes a real tool call through the MCP client; only a protocol
// error fails the test (a tool error result is data for the view).
func (s *sandbox) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := s.callRaw(context.Background(), name, args)
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

func (s *sandbox) callRaw(ctx context.Context, name string, args any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return s.client.CallTool(ctx, req)
}

// structured is a result's structuredContent as a map.
func structured(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// putJPEG serves a w×h JPEG at path and returns its https URL.
func (s *sandbox) putJPEG(path string, w, h int) string {
	s.media.Put(path, mediatest.File{Body: mediatest.JPEG(w, h), ContentType: "image/jpeg"})
	return mediatest.URL(path)
}

// publishCount is how many media_publish requests the fake Graph API saw.
func (s *sandbox) publishCount() int {
	n := 0
	for _, c := range s.fake.Calls() {
		if strings.HasSuffix(c.Path, "/media_publish") {
			n++
		}
	}
	return n
}

// --- the host: a minimal web host speaking the Apps bridge ---------------------

// scenario is what the host page renders: one tool call and its result.
type scenario struct {
	ViewURL    string              `json:"viewURL"`
	ViewOrigin string              `json:"viewOrigin"`
	Tool       mcp.Tool            `json:"tool"`
	Arguments  map[string]any      `json:"arguments"`
	Result     *mcp.CallToolResult `json:"result"`
	Theme      string              `json:"theme"`
	Variables  map[string]string   `json:"variables,omitempty"`
	Width      int                 `json:"width"`
}

// look is how the host shows a view: its theme, its style variables and
// the width of the frame.
type look struct {
	theme string
	vars  map[string]string
	width int
}

// toolCall is one tools/call the view sent through the host.
type toolCall struct {
	Name      string
	Arguments map[string]any
}

// host serves testdata/host.html on one origin and the views on another
// (http://127.0.0.1, two ports: different origins, as SEP-1865 wants the
// host and the view to be), with the Content-Security-Policy header a host
// builds from the resource's _meta.ui.csp ("Security Implications",
// "Content Security Policy Enforcement"). The host page forwards the view's
// tools/call to /rpc, which makes the call through the MCP client.
type host struct {
	sb       *sandbox
	hostSrv  *httptest.Server
	viewSrv  *httptest.Server
	mu       sync.Mutex
	scenario scenario
	calls    []toolCall
	docs     map[string]viewDoc
}

type viewDoc struct {
	html, csp string
}

func newHost(t *testing.T, sb *sandbox) *host {
	t.Helper()
	h := &host{sb: sb, docs: map[string]viewDoc{}}
	for _, uri := range []string{views.PreviewURI, views.InsightsURI} {
		h.docs[uri] = readView(t, sb, uri)
	}
	page, err := os.ReadFile("testdata/host.html")
	if err != nil {
		t.Fatal(err)
	}
	hostMux := http.NewServeMux()
	hostMux.HandleFunc("GET /host", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	hostMux.HandleFunc("GET /scenario", func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(h.scenario)
	})
	hostMux.HandleFunc("POST /rpc", h.rpc)
	h.hostSrv = httptest.NewServer(hostMux)
	t.Cleanup(h.hostSrv.Close)
	viewMux := http.NewServeMux()
	viewMux.HandleFunc("GET /view", func(w http.ResponseWriter, r *http.Request) {
		d, ok := h.docs[r.URL.Query().Get("uri")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", d.csp)
		_, _ = w.Write([]byte(d.html))
	})
	h.viewSrv = httptest.NewServer(viewMux)
	t.Cleanup(h.viewSrv.Close)
	return h
}

// readView reads a view through resources/read, as a host does, and builds
// the host's policy from its _meta.ui.csp as SEP-1865's sample code does.
func readView(t *testing.T, sb *sandbox, uri string) viewDoc {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := sb.client.ReadResource(context.Background(), req)
	if err != nil {
		t.Fatalf("resources/read %s: %v", uri, err)
	}
	if len(res.Contents) != 1 {
		t.Fatalf("resources/read %s: %d contents", uri, len(res.Contents))
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok || tc.MIMEType != views.MIMEType {
		t.Fatalf("resources/read %s: %#v", uri, res.Contents[0])
	}
	var meta struct {
		UI struct {
			CSP struct {
				ResourceDomains []string `json:"resourceDomains"`
				ConnectDomains  []string `json:"connectDomains"`
			} `json:"csp"`
		} `json:"ui"`
	}
	b, _ := json.Marshal(tc.Meta)
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	rd := strings.Join(meta.UI.CSP.ResourceDomains, " ")
	cd := strings.Join(meta.UI.CSP.ConnectDomains, " ")
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' 'unsafe-inline' " + rd,
		"style-src 'self' 'unsafe-inline' " + rd,
		"connect-src 'self' " + cd,
		"img-src 'self' data: " + rd,
		"font-src 'self' " + rd,
		"media-src 'self' data: " + rd,
		"frame-src 'none'",
		"object-src 'none'",
		"base-uri 'self'",
	}, "; ")
	return viewDoc{html: tc.Text, csp: csp}
}

func (h *host) rpc(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.calls = append(h.calls, toolCall{Name: p.Name, Arguments: p.Arguments})
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	res, err := h.sb.callRaw(r.Context(), p.Name, p.Arguments)
	if err != nil {
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": -32603, "message": err.Error()}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"result": res})
}

func (h *host) toolCalls() []toolCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// show makes the host page render uri for a tool call and its result.
func (h *host) show(t *testing.T, b *browser, uri, tool string, args map[string]any, res *mcp.CallToolResult, l look) {
	t.Helper()
	def, ok := h.sb.tools[tool]
	if !ok {
		t.Fatalf("no tool %s in tools/list", tool)
	}
	h.mu.Lock()
	h.scenario = scenario{
		ViewURL: h.viewSrv.URL + "/view?uri=" + uri, ViewOrigin: h.viewSrv.URL,
		Tool: def, Arguments: args, Result: res, Theme: l.theme, Variables: l.vars, Width: l.width,
	}
	if h.scenario.Theme == "" {
		h.scenario.Theme = "light"
	}
	if h.scenario.Width == 0 {
		h.scenario.Width = 720
	}
	h.calls = nil
	h.mu.Unlock()
	b.open(t, h.hostSrv.URL+"/host", h.viewSrv.URL)
}

// --- the browser ---------------------------------------------------------------

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

// sameJSON compares two values as JSON documents.
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// putMP4 serves a w×h MP4 of the given seconds at path and returns its URL.
func putMP4(s *sandbox, path string, w, h, seconds int) string {
	s.media.Put(path, mediatest.File{Body: mediatest.MP4(mediatest.Video{Width: w, Height: h, Duration: time.Duration(seconds) * time.Second}), ContentType: "video/mp4"})
	return mediatest.URL(path)
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
