package views_test

// The sandbox the browser tests call: igmcp's tools over the fake Graph API.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/tools/toolstest"
	"github.com/igmcp/igmcp/views"
)

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
// fakegraph, built as the tools tests build it), with preflight reaching a
// loopback media server so validate_post reports real dimensions. The
// views are the server's own: nothing here registers them.
type sandbox struct {
	fake    *fakegraph.Server
	account fakegraph.Account
	media   *mediatest.Server
	clock   *clock
	client  *client.Client
	server  *server.MCPServer
	tools   map[string]mcp.Tool
}

// appsHost is what a host that renders MCP Apps views declares; tools/list
// links the views only for such hosts.
func appsHost() mcp.ClientCapabilities {
	return mcp.ClientCapabilities{Extensions: map[string]any{
		views.ExtensionID: map[string]any{"mimeTypes": []any{views.MIMEType}},
	}}
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	clk := &clock{t: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)}
	fake := fakegraph.New(fakegraph.Options{Now: clk.Now})
	base, stop := fake.Start()
	t.Cleanup(stop)
	media := mediatest.Serve(t)
	srv := toolstest.New(t, base, toolstest.Options{
		Account: fakegraph.DefaultAccount, Sandbox: true,
		// The username comes from the token, so the preview shows it.
		DiscoverAccount: true,
		Media:           tools.Deps{Preflight: preflight.New(preflight.Options{Client: media.Client()})},
	})
	c := toolstest.Connect(t, srv.MCP, "", nil, client.WithClientCapabilities(appsHost()))
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	sb := &sandbox{fake: fake, account: fakegraph.DefaultAccount, media: media, clock: clk, client: c, server: srv.MCP, tools: map[string]mcp.Tool{}}
	for _, tl := range list.Tools {
		sb.tools[tl.Name] = tl
	}
	return sb
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

// putMP4 serves a w×h MP4 of the given seconds at path and returns its URL.
func putMP4(s *sandbox, path string, w, h, seconds int) string {
	s.media.Put(path, mediatest.File{Body: mediatest.MP4(mediatest.Video{Width: w, Height: h, Duration: time.Duration(seconds) * time.Second}), ContentType: "video/mp4"})
	return mediatest.URL(path)
}
