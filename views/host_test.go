package views_test

// The test host: a minimal web page speaking the MCP Apps bridge.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/views"
)

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
// host and the view to be; the frame is sandboxed with allow-scripts only,
// so the view even runs in an opaque origin), with the
// Content-Security-Policy header a host
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

// show makes the host page render a tool call and its result in the view
// the tool links to in tools/list, as a host does; uri is the view the
// test expects there.
func (h *host) show(t *testing.T, b *browser, uri, tool string, args map[string]any, res *mcp.CallToolResult, l look) {
	t.Helper()
	def, ok := h.sb.tools[tool]
	if !ok {
		t.Fatalf("no tool %s in tools/list", tool)
	}
	if got := linkedView(def); got != uri {
		t.Fatalf("%s links to view %q in tools/list, want %q", tool, got, uri)
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

// linkedView is the view a tool links to: _meta.ui.resourceUri (SEP-1865
// "Resource Discovery"), "" for none.
func linkedView(tl mcp.Tool) string {
	if tl.Meta == nil {
		return ""
	}
	ui, _ := tl.Meta.AdditionalFields["ui"].(map[string]any)
	uri, _ := ui["resourceUri"].(string)
	return uri
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
