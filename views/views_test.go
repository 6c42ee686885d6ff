package views_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/tools/toolstest"
	"github.com/igmcp/igmcp/views"
)

var (
	scriptRE = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	styleRE  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	cspRE    = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`)
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// Each view is one self-contained document within the size budget: one
// inline script and one stylesheet, both pinned by hash in the document's
// own policy, and nothing loaded from elsewhere.
func TestBuild_SelfContainedWithinBudget(t *testing.T) {
	docs, err := views.Build(views.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].URI != "ui://igmcp/post-preview.html" || docs[1].URI != "ui://igmcp/insights.html" {
		t.Fatalf("views %v", docs)
	}
	for _, d := range docs {
		t.Run(d.Name, func(t *testing.T) {
			if n := len(d.HTML); n > 100*1024 {
				t.Errorf("%d bytes, over 100 KB", n)
			}
			t.Logf("%s: %d bytes", d.URI, len(d.HTML))
			if !strings.HasPrefix(d.HTML, "<!DOCTYPE html>") {
				t.Error("not an HTML5 document")
			}
			scripts := scriptRE.FindAllStringSubmatch(d.HTML, -1)
			styles := styleRE.FindAllStringSubmatch(d.HTML, -1)
			csp := cspRE.FindStringSubmatch(d.HTML)
			if len(scripts) != 1 || len(styles) != 1 || csp == nil {
				t.Fatalf("%d scripts, %d styles, policy %v", len(scripts), len(styles), csp)
			}
			want := map[string]string{
				"default-src": "'none'",
				"script-src":  sha(scripts[0][1]),
				"style-src":   sha(styles[0][1]),
				"img-src":     "https:",
				"media-src":   "https:",
				"connect-src": "'none'",
				"font-src":    "'none'",
				"frame-src":   "'none'",
				"object-src":  "'none'",
				"form-action": "'none'",
				"base-uri":    "'none'",
			}
			got := map[string]string{}
			for _, dir := range strings.Split(csp[1], "; ") {
				name, value, _ := strings.Cut(dir, " ")
				got[name] = value
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s %q, want %q", k, got[k], v)
				}
			}
			if len(got) != len(want) {
				t.Errorf("policy %q has directives beyond %v", csp[1], want)
			}
			// The policy meta tag comes before anything it governs.
			if i, j := strings.Index(d.HTML, "Content-Security-Policy"), strings.Index(d.HTML, "<style>"); i < 0 || i > j {
				t.Error("the policy is not the first thing in <head>")
			}
			code := strings.ReplaceAll(d.HTML, `"http://www.w3.org/2000/svg"`, "") // the SVG namespace
			for _, bad := range []string{" src=", " href=", "@import", "url(", "http://", "eval(", "innerHTML", "insertAdjacentHTML", "document.write", "fetch(", "XMLHttpRequest", "WebSocket", "localStorage"} {
				if strings.Contains(code, bad) {
					t.Errorf("the document contains %q", bad)
				}
			}
			if d.Meta["ui"].(map[string]any)["prefersBorder"] != true {
				t.Errorf("meta %v", d.Meta)
			}
		})
	}
}

func TestBuild_MediaOrigins(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string // img-src value, or "" for an error
	}{
		{nil, "https:"},
		{[]string{"https://cdn.example.com"}, "https://cdn.example.com"},
		{[]string{"https://*.cdninstagram.com", "HTTPS://Bucket.S3.amazonaws.com/", "https://*.cdninstagram.com"}, "https://*.cdninstagram.com https://bucket.s3.amazonaws.com"},
		{[]string{"https://media.example.com:8443"}, "https://media.example.com:8443"},
		{[]string{"http://cdn.example.com"}, ""},
		{[]string{"https://cdn.example.com; script-src *"}, ""},
		{[]string{"https://cdn.example.com 'unsafe-inline'"}, ""},
		{[]string{"*"}, ""},
		{[]string{"'self'"}, ""},
		{[]string{"https://cdn.example.com/path"}, ""},
		{[]string{"https://a.*.example.com"}, ""},
		{[]string{"data:"}, ""},
		{[]string{"https://cdn.example.com\"><script>"}, ""},
	} {
		docs, err := views.Build(views.Options{MediaOrigins: tc.in})
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: accepted", tc.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		csp := cspRE.FindStringSubmatch(docs[0].HTML)[1]
		if !strings.Contains(csp, "img-src "+tc.want+";") || !strings.Contains(csp, "media-src "+tc.want+";") {
			t.Errorf("%q: policy %q", tc.in, csp)
		}
		domains := docs[0].Meta["ui"].(map[string]any)["csp"].(map[string]any)["resourceDomains"]
		if strings.Join(domains.([]string), " ") != tc.want {
			t.Errorf("%q: resourceDomains %v", tc.in, domains)
		}
	}
}

// The tool _meta is the link of SEP-1865 "Resource Discovery", in both the
// nested form and the deprecated flat key, and nothing else.
func TestToolMeta(t *testing.T) {
	for _, tc := range []struct {
		meta *mcp.Meta
		want string
	}{
		{views.PreviewMeta(), `{"ui":{"resourceUri":"ui://igmcp/post-preview.html"},"ui/resourceUri":"ui://igmcp/post-preview.html"}`},
		{views.InsightsMeta(), `{"ui":{"resourceUri":"ui://igmcp/insights.html"},"ui/resourceUri":"ui://igmcp/insights.html"}`},
	} {
		tl := mcp.NewTool("x")
		tl.Meta = tc.meta
		b, err := json.Marshal(tl)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Meta json.RawMessage `json:"_meta"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if string(got.Meta) != tc.want {
			t.Errorf("_meta %s, want %s", got.Meta, tc.want)
		}
	}
}

func TestHostSupports(t *testing.T) {
	for _, tc := range []struct {
		ext  map[string]any
		want bool
	}{
		{nil, false},
		{map[string]any{"io.modelcontextprotocol/ui": map[string]any{"mimeTypes": []any{"text/html;profile=mcp-app"}}}, true},
		{map[string]any{"io.modelcontextprotocol/ui": map[string]any{"mimeTypes": []string{"text/html;profile=mcp-app"}}}, true},
		{map[string]any{"io.modelcontextprotocol/ui": map[string]any{"mimeTypes": []any{"text/uri-list"}}}, false},
		{map[string]any{"io.modelcontextprotocol/ui": map[string]any{"mimeTypes": "text/html;profile=mcp-app"}}, false},
		{map[string]any{"io.modelcontextprotocol/ui": map[string]any{}}, false},
		{map[string]any{"io.modelcontextprotocol/tasks": map[string]any{"mimeTypes": []any{"text/html;profile=mcp-app"}}}, false},
	} {
		if got := views.HostSupports(mcp.ClientCapabilities{Extensions: tc.ext}); got != tc.want {
			t.Errorf("%v: %v", tc.ext, got)
		}
	}
	// As a client's initialize sends it, through JSON.
	var caps mcp.ClientCapabilities
	if err := json.Unmarshal([]byte(`{"extensions":{"io.modelcontextprotocol/ui":{"mimeTypes":["text/html;profile=mcp-app"]}}}`), &caps); err != nil {
		t.Fatal(err)
	}
	if !views.HostSupports(caps) {
		t.Error("decoded capabilities not recognised")
	}
}

// Register serves the views as ui:// resources, through the protocol, with
// the MIME type and the _meta.ui policy on the listing and on the content.
func TestRegister_ThroughTheProtocol(t *testing.T) {
	for _, era := range []string{"", mcp.LATEST_LEGACY_PROTOCOL_VERSION} {
		t.Run("era "+era, func(t *testing.T) {
			s := server.NewMCPServer("igmcp", "test", server.WithResourceCapabilities(false, false))
			if err := views.Register(s, views.Options{MediaOrigins: []string{"https://cdn.example.com"}}); err != nil {
				t.Fatal(err)
			}
			c := toolstest.Connect(t, s, era, nil)
			ctx := context.Background()
			list, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			wantMeta := `{"ui":{"csp":{"resourceDomains":["https://cdn.example.com"]},"prefersBorder":true}}`
			seen := map[string]bool{}
			for _, r := range list.Resources {
				seen[r.URI] = true
				if r.MIMEType != "text/html;profile=mcp-app" {
					t.Errorf("%s: mimeType %q", r.URI, r.MIMEType)
				}
				if b, _ := json.Marshal(r.Meta); string(b) != wantMeta {
					t.Errorf("%s: listing _meta %s", r.URI, b)
				}
				req := mcp.ReadResourceRequest{}
				req.Params.URI = r.URI
				res, err := c.ReadResource(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				tc, ok := res.Contents[0].(mcp.TextResourceContents)
				if len(res.Contents) != 1 || !ok {
					t.Fatalf("%s: contents %#v", r.URI, res.Contents)
				}
				if tc.URI != r.URI || tc.MIMEType != "text/html;profile=mcp-app" || !strings.HasPrefix(tc.Text, "<!DOCTYPE html>") {
					t.Errorf("%s: read %s %s", r.URI, tc.URI, tc.MIMEType)
				}
				if b, _ := json.Marshal(tc.Meta); string(b) != wantMeta {
					t.Errorf("%s: content _meta %s", r.URI, b)
				}
				if !strings.Contains(tc.Text, "img-src https://cdn.example.com;") {
					t.Errorf("%s: the document's policy does not follow the options", r.URI)
				}
			}
			if len(seen) != 2 || !seen[views.PreviewURI] || !seen[views.InsightsURI] {
				t.Errorf("resources %v", seen)
			}
		})
	}
}

// The server igmcp runs links its tools to the views and serves them: in
// tools/list, validate_post and create_post link the preview and
// get_insights the insights (both forms of the link), no other tool has
// _meta, and each linked view reads back through resources/read.
func TestToolsLinkTheViews(t *testing.T) {
	sb := newSandbox(t)
	// A host without the extension sees no _meta at all.
	for _, era := range []string{"", mcp.ProtocolVersion20251125} {
		plain := toolstest.Connect(t, sb.server, era, nil)
		list, err := plain.ListTools(context.Background(), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tl := range list.Tools {
			if tl.Meta != nil {
				t.Errorf("era %q: %s has _meta %+v for a host without MCP Apps", era, tl.Name, tl.Meta)
			}
		}
	}
	want := map[string]string{"validate_post": views.PreviewURI, "create_post": views.PreviewURI, "get_insights": views.InsightsURI}
	for name, tl := range sb.tools {
		got := linkedView(tl)
		if got != want[name] {
			t.Errorf("%s links to %q, want %q", name, got, want[name])
		}
		if got == "" {
			if tl.Meta != nil {
				t.Errorf("%s has _meta %+v", name, tl.Meta)
			}
			continue
		}
		if flat := tl.Meta.AdditionalFields["ui/resourceUri"]; flat != got || len(tl.Meta.AdditionalFields) != 2 {
			t.Errorf("%s _meta %v", name, tl.Meta.AdditionalFields)
		}
	}
	for name := range want {
		if _, ok := sb.tools[name]; !ok {
			t.Errorf("no %s in tools/list", name)
		}
	}
	for _, uri := range []string{views.PreviewURI, views.InsightsURI} {
		if d := readView(t, sb, uri); !strings.HasPrefix(d.html, "<!DOCTYPE html>") {
			t.Errorf("%s: %.40q", uri, d.html)
		}
	}
}
