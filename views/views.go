// Package views holds igmcp's MCP Apps views: `ui://` HTML resources a host
// that supports the MCP Apps extension renders in a sandboxed frame next to
// the conversation (SEP-1865 "MCP Apps", specification 2026-01-26 of
// modelcontextprotocol/ext-apps, specification/2026-01-26/apps.mdx).
//
// Two views exist: the post preview (what validate_post checked, or a
// create_post draft, as Instagram will show it, with an Approve button) and
// the insights charts (get_insights rows). Each is one self-contained HTML
// document assembled from the plain HTML, CSS and JavaScript under assets/
// (no build step, no CDN); it gets its data only through the Apps bridge
// (ui/notifications/tool-input and ui/notifications/tool-result) and acts
// only through it (tools/call). Hosts without the extension see nothing of
// this but the small `_meta` link on the linked tools.
//
// Wiring, in the tools package: Register(s, Options{}) once, and
// PreviewMeta() / InsightsMeta() as the Meta of the linked tools.
package views

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/publish"
)

// Names from SEP-1865 (apps.mdx 2026-01-26).
const (
	// ExtensionID is the capability key a host advertises in
	// capabilities.extensions ("Extension Identifier").
	ExtensionID = "io.modelcontextprotocol/ui"
	// MIMEType is the only content type of a UI resource ("UI Resource
	// Format": mimeType MUST be text/html;profile=mcp-app).
	MIMEType = "text/html;profile=mcp-app"

	// PreviewURI is the post preview view.
	PreviewURI = "ui://igmcp/post-preview.html"
	// InsightsURI is the insights charts view.
	InsightsURI = "ui://igmcp/insights.html"

	// MaxViewBytes bounds each assembled view (issue 16: each view ≤ 100 KB).
	MaxViewBytes = 100 * 1024
)

// defaultMediaOrigin lets the views show images and videos from any https
// URL: a post's media can live on any host, and the preview exists to show
// it. Scripts stay limited by the document's own policy (see policy).
const defaultMediaOrigin = "https:"

// Options configure the views.
type Options struct {
	// MediaOrigins are where the views may load images and videos from:
	// CSP source expressions, each "https:" or an https origin such as
	// "https://cdn.example.com" or "https://*.cdninstagram.com". They go
	// into the resource's _meta.ui.csp.resourceDomains (the host's
	// policy) and into the document's own img-src/media-src. Empty means
	// "https:", any https URL.
	MediaOrigins []string
}

//go:embed assets
var assets embed.FS

// view is one UI resource: its URI, names, the text shown until its data
// arrives, and the asset files it is built from.
type view struct {
	uri, name, title, description string
	waiting                       string
	styles, scripts               []string
}

// template is every view's document, with {{TITLE}}, {{WAITING}}, {{CSP}},
// {{STYLE}} and {{SCRIPT}} to fill in.
const template = "assets/view.html"

var allViews = []view{
	{
		uri: PreviewURI, name: "post_preview", title: "Instagram post preview",
		description: "The post as Instagram will show it (crop, caption cut, tags, problems), with an Approve button.",
		waiting:     "Waiting for the post…",
		styles:      []string{"assets/common.css", "assets/preview.css"},
		scripts:     []string{"assets/dom.js", "assets/bridge.js", "assets/preview.js"},
	},
	{
		uri: InsightsURI, name: "insights_charts", title: "Instagram insights charts",
		description: "Charts of get_insights rows: metrics, time series, a Reel's retention, recent posts over time.",
		waiting:     "Waiting for the insights…",
		styles:      []string{"assets/common.css", "assets/insights.css"},
		scripts:     []string{"assets/dom.js", "assets/bridge.js", "assets/insights.js"},
	},
}

// PreviewMeta is the _meta of the tools the post preview renders:
// validate_post and create_post (its publish: false drafts).
func PreviewMeta() *mcp.Meta { return toolMeta(PreviewURI) }

// InsightsMeta is the _meta of get_insights.
func InsightsMeta() *mcp.Meta { return toolMeta(InsightsURI) }

// toolMeta links a tool to its view: _meta.ui.resourceUri ("Resource
// Discovery"), plus the flat "ui/resourceUri" key the specification keeps,
// deprecated, for hosts that predate the nested form (the reference SDK's
// registerAppTool sets both for the same reason). About 110 bytes in tools/list.
func toolMeta(uri string) *mcp.Meta {
	return &mcp.Meta{AdditionalFields: map[string]any{
		"ui":             map[string]any{"resourceUri": uri},
		"ui/resourceUri": uri,
	}}
}

// HostSupports reports whether a client advertised the MCP Apps extension
// with the HTML profile (capabilities.extensions["io.modelcontextprotocol/ui"]
// .mimeTypes, "Client<>Server Capability Negotiation"). The tools may use it
// to leave the _meta link out for other clients; the specification lets a
// server keep it, since such hosts ignore it.
func HostSupports(c mcp.ClientCapabilities) bool {
	ext, ok := c.Extensions[ExtensionID].(map[string]any)
	if !ok {
		return false
	}
	switch types := ext["mimeTypes"].(type) {
	case []any: // as decoded from JSON
		return slices.Contains(types, any(MIMEType))
	case []string:
		return slices.Contains(types, MIMEType)
	}
	return false
}

// Register adds the views' ui:// resources to s. It fails only on bad
// Options.
func Register(s *server.MCPServer, o Options) error {
	docs, err := Build(o)
	if err != nil {
		return err
	}
	for _, d := range docs {
		res := mcp.NewResource(d.URI, d.Name, mcp.WithResourceDescription(d.Description), mcp.WithMIMEType(MIMEType))
		res.Title = d.Title
		// On the listing too, so a host can review the policy before it
		// reads the resource ("Metadata Location", draft).
		res.Meta = &mcp.Meta{AdditionalFields: d.Meta}
		s.AddResource(res, func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: d.URI, MIMEType: MIMEType, Text: d.HTML, Meta: d.Meta}}, nil
		})
	}
	return nil
}

// Document is one assembled view.
type Document struct {
	URI, Name, Title, Description string
	HTML                          string
	// Meta is the resource _meta: {"ui": {"csp": …, "prefersBorder": …}}.
	Meta map[string]any
}

// Build assembles every view for o.
func Build(o Options) ([]Document, error) {
	origins, err := mediaOrigins(o.MediaOrigins)
	if err != nil {
		return nil, err
	}
	var out []Document
	for _, v := range allViews {
		d, err := v.build(origins)
		if err != nil {
			return nil, fmt.Errorf("views: %s: %w", v.uri, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func (v view) build(origins []string) (Document, error) {
	tpl, err := assets.ReadFile(template)
	if err != nil {
		return Document{}, err
	}
	style, err := concat(v.styles)
	if err != nil {
		return Document{}, err
	}
	script, err := concat(v.scripts)
	if err != nil {
		return Document{}, err
	}
	script = captionRules().Replace(script)
	// The HTML parser ends a raw-text element at its closing tag and treats
	// "<!--" in a script specially: neither may occur inside.
	if strings.Contains(strings.ToLower(script), "</script") || strings.Contains(script, "<!--") {
		return Document{}, fmt.Errorf("script contains </script or <!--")
	}
	if strings.Contains(strings.ToLower(style), "</style") {
		return Document{}, fmt.Errorf("style contains </style")
	}
	html := strings.NewReplacer(
		"{{TITLE}}", v.title,
		"{{WAITING}}", v.waiting,
		"{{CSP}}", policy(origins, style, script),
		"{{STYLE}}", style,
		"{{SCRIPT}}", script,
	).Replace(string(tpl))
	if len(html) > MaxViewBytes {
		return Document{}, fmt.Errorf("%d bytes, over the %d-byte budget", len(html), MaxViewBytes)
	}
	return Document{
		URI: v.uri, Name: v.name, Title: v.title, Description: v.description, HTML: html,
		Meta: map[string]any{"ui": map[string]any{
			// resourceDomains maps to img-src and media-src (and, in the
			// host's policy, script/style/font-src); no connectDomains: the
			// views reach nothing but the host ("McpUiResourceCsp").
			"csp":           map[string]any{"resourceDomains": origins},
			"prefersBorder": true,
		}},
	}, nil
}

// captionRules fills the post preview's counting rules and limits in from
// the publish package, the ones validation applies, so the two cannot
// disagree (the patterns are written for both Go and JavaScript).
func captionRules() *strings.Replacer {
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // strings and ints always marshal
		}
		return string(b)
	}
	return strings.NewReplacer(
		`/*CAPTION_LIMITS*/{}`, js(map[string]int{"caption": publish.MaxCaptionChars, "hashtags": publish.MaxHashtags,
			"mentions": publish.MaxMentions, "collaborators": publish.MaxCollaborators}),
		`/*HASHTAG_PATTERN*/""`, js(publish.HashtagPattern),
		`/*MENTION_PATTERN*/""`, js(publish.MentionPattern),
	)
}

func concat(files []string) (string, error) {
	var b strings.Builder
	for _, f := range files {
		data, err := assets.ReadFile(f)
		if err != nil {
			return "", err
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// policy is the document's own Content-Security-Policy (a meta tag). It
// holds whatever the host adds: the host's policy comes from the resource
// _meta and, per SEP-1865, allows 'unsafe-inline' scripts and every
// resourceDomain as a script source; this one allows only the view's own
// script and stylesheet (by hash), media from the declared origins, and no
// connections, frames, forms, plugins or base URL.
func policy(origins []string, style, script string) string {
	media := strings.Join(origins, " ")
	return strings.Join([]string{
		"default-src 'none'",
		"script-src '" + hash(script) + "'",
		"style-src '" + hash(style) + "'",
		"img-src " + media,
		"media-src " + media,
		"connect-src 'none'",
		"font-src 'none'",
		"frame-src 'none'",
		"object-src 'none'",
		"form-action 'none'",
		"base-uri 'none'",
	}, "; ")
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// originRE is one CSP source the options may name: the https scheme alone,
// or an https origin whose host may start with "*." and may carry a port.
var originRE = regexp.MustCompile(`^https:(//(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?)?$`)

// mediaOrigins checks the configured origins: each becomes part of a
// Content-Security-Policy, so a space, quote or semicolon must never get in.
func mediaOrigins(in []string) ([]string, error) {
	if len(in) == 0 {
		return []string{defaultMediaOrigin}, nil
	}
	out := make([]string, 0, len(in))
	for _, o := range in {
		o = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o)), "/")
		if !originRE.MatchString(o) {
			return nil, fmt.Errorf("views: media origin %q: want https: or an https origin such as https://cdn.example.com or https://*.example.com", o)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}
