package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/localfile"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/tools/toolstest"
)

// countingTransport answers every request with 404 and counts them: a
// preflight fetch that should not happen shows up here.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return &http.Response{StatusCode: http.StatusNotFound, Body: http.NoBody, Request: r}, nil
}

type fileEnv struct {
	client  *client.Client
	fake    *fakegraph.Server
	fetches *countingTransport
}

// newFileEnv is the real server (tools.NewServer, every toolset, a
// scheduler) with the given media-root gate, over the fake Graph API;
// preflight's fetches are counted, never sent.
func newFileEnv(t *testing.T, files *localfile.Policy) *fileEnv {
	t.Helper()
	fetches := &countingTransport{}
	media := tools.Deps{
		Files:     files,
		Preflight: preflight.New(preflight.Options{Client: &http.Client{Transport: fetches}}),
		Stager: func(context.Context, string, string) (string, func(context.Context) error, error) {
			return "https://staged.invalid/a.jpg", nil, nil
		},
	}
	e := newScheduleEnv(t, "", fakegraph.Options{}, media)
	return &fileEnv{client: e.client, fake: e.fake, fetches: fetches}
}

func (e *fileEnv) call(t *testing.T, name string, args map[string]any) (*mcp.CallToolResult, map[string]any) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard
	defer cancel()
	res, err := e.client.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res, toolstest.Structured(t, res)
}

// fileCall is one way a tool takes a local file.
type fileCall struct {
	name  string // label
	tool  string
	field string // the field the refusal must name
	args  func(path string) map[string]any
}

func fileCalls() []fileCall {
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	return []fileCall{
		{"publish_reel", "publish_reel", "file_path", func(p string) map[string]any { return map[string]any{"file_path": p} }},
		{"publish_reel/wait false", "publish_reel", "file_path", func(p string) map[string]any { return map[string]any{"file_path": p, "wait": false} }},
		{"publish_story", "publish_story", "file_path", func(p string) map[string]any { return map[string]any{"file_path": p} }},
		{"validate_post/reel", "validate_post", "post.file_path", func(p string) map[string]any {
			return map[string]any{"kind": "reel", "post": map[string]any{"file_path": p}}
		}},
		{"validate_post/story", "validate_post", "post.file_path", func(p string) map[string]any {
			return map[string]any{"kind": "story", "post": map[string]any{"file_path": p}}
		}},
		{"schedule_post/reel", "schedule_post", "post.file_path", func(p string) map[string]any {
			return map[string]any{"kind": "reel", "publish_at": future, "post": map[string]any{"file_path": p}}
		}},
		{"schedule_post/story", "schedule_post", "post.file_path", func(p string) map[string]any {
			return map[string]any{"kind": "story", "publish_at": future, "post": map[string]any{"file_path": p}}
		}},
	}
}

// refusalOf returns the field and message of a refusal: the error of an
// error result, or validate_post's first problem (validate_post reports
// instead of failing). media is validate_post's media list.
func refusalOf(t *testing.T, c fileCall, res *mcp.CallToolResult, m map[string]any) (field, msg string, media []any) {
	t.Helper()
	if c.tool == "validate_post" {
		if res.IsError || m["valid"] != false {
			t.Fatalf("%s: want valid:false, got %v", c.name, m)
		}
		probs, _ := m["problems"].([]any)
		if len(probs) == 0 {
			t.Fatalf("%s: no problems: %v", c.name, m)
		}
		p := probs[0].(map[string]any)
		if p["kind"] != "invalid_input" {
			t.Fatalf("%s: problem %v", c.name, p)
		}
		media, _ = m["media"].([]any)
		field, _ = p["field"].(string)
		msg, _ = p["message"].(string)
		return field, msg, media
	}
	e := mustErr(t, res, "invalid_input")
	field, _ = e["field"].(string)
	msg, _ = e["message"].(string)
	return field, msg, nil
}

// schemaHasFilePath reports whether a tool's input schema has a file_path
// property at any depth.
func schemaHasFilePath(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if p, ok := x["properties"].(map[string]any); ok {
			if _, ok := p["file_path"]; ok {
				return true
			}
		}
		for _, y := range x {
			if schemaHasFilePath(y) {
				return true
			}
		}
	case []any:
		for _, y := range x {
			if schemaHasFilePath(y) {
				return true
			}
		}
	}
	return false
}

// The media root is applied in every tool that takes a local file, before
// anything opens it: a file outside the root and a missing one get the same
// sentence (only the path differs), nothing about the file (size, format)
// comes back, and Instagram is not called.
func TestMediaRoot_EveryToolRefusesTheSameWay(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "media")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	// A real, valid JPEG and MP4 outside the root: if any tool opened them,
	// it would report their format and size.
	outsideJPEG := filepath.Join(base, "private.jpg")
	outsideMP4 := filepath.Join(base, "private.mp4")
	_ = os.WriteFile(outsideJPEG, mediatest.JPEG(1080, 1920), 0o600)
	_ = os.WriteFile(outsideMP4, mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 10 * time.Second}), 0o600)
	link := filepath.Join(root, "link.mp4")
	if err := os.Symlink(outsideMP4, link); err != nil {
		t.Fatal(err)
	}
	files, err := localfile.NewPolicy(localfile.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	e := newFileEnv(t, files)

	// Every tool with a file_path in its schema is covered below.
	list, err := e.client.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	calls := fileCalls()
	for _, tl := range list.Tools {
		raw, _ := json.Marshal(tl.InputSchema)
		if len(tl.RawInputSchema) > 0 {
			raw = tl.RawInputSchema
		}
		var schema any
		_ = json.Unmarshal(raw, &schema)
		if schemaHasFilePath(schema) && !slices.ContainsFunc(calls, func(c fileCall) bool { return c.tool == tl.Name }) {
			t.Errorf("tool %s takes a file_path and is not covered by this test", tl.Name)
		}
	}

	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			var first string
			for _, p := range []string{outsideJPEG, outsideMP4, link, filepath.Join(root, "missing.mp4"), "/etc/hostname", "/proc/self/environ"} {
				res, m := e.call(t, c.tool, c.args(p))
				field, msg, media := refusalOf(t, c, res, m)
				if field != c.field {
					t.Errorf("%s: field %q, want %q", p, field, c.field)
				}
				if len(media) > 0 {
					t.Errorf("%s: the refusal came with what was read of the file: %v", p, media)
				}
				norm := strings.ReplaceAll(msg, p, "<path>")
				if first == "" {
					first = norm
				} else if norm != first {
					t.Errorf("refusals differ:\n%s\n%s", first, norm)
				}
			}
		})
	}
	if n := len(e.fake.Calls()); n != 0 {
		t.Errorf("Instagram was called %d times", n)
	}
}

// A FIFO (or a device) as file_path is answered at once in every tool,
// instead of blocking a worker in open(2).
func TestMediaRoot_FIFOIsAnsweredAtOnce(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	pipe := filepath.Join(root, "pipe.mp4")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := localfile.NewPolicy(localfile.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	e := newFileEnv(t, files)
	for _, c := range fileCalls() {
		res, m := e.call(t, c.tool, c.args(pipe))
		if _, msg, _ := refusalOf(t, c, res, m); !strings.Contains(msg, "named pipe") {
			t.Errorf("%s: %s", c.name, msg)
		}
	}
}

// Over HTTP without IGMCP_MEDIA_ROOT no local file is read at all.
func TestMediaRoot_RemoteDefaultRefusesLocalFiles(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "ok.jpg")
	_ = os.WriteFile(p, mediatest.JPEG(1080, 1080), 0o600)
	files, err := localfile.NewPolicy(localfile.Options{Remote: true})
	if err != nil {
		t.Fatal(err)
	}
	e := newFileEnv(t, files)
	for _, c := range fileCalls() {
		res, m := e.call(t, c.tool, c.args(p))
		if field, msg, _ := refusalOf(t, c, res, m); field != c.field || !strings.Contains(msg, "IGMCP_MEDIA_ROOT") {
			t.Errorf("%s: %s: %s", c.name, field, msg)
		}
	}
}

// validate_post does not fetch a URL its own input check refused.
func TestValidatePost_DoesNotFetchRefusedURLs(t *testing.T) {
	t.Parallel()
	files, _ := localfile.NewPolicy(localfile.Options{Root: t.TempDir()})
	e := newFileEnv(t, files)
	for _, post := range []map[string]any{
		{"image_url": "https://localhost/latest/meta-data/x.jpg"},
		{"image_url": "http://169.254.169.254/latest/meta-data/x.jpg"},
		{"image_url": "https://127.0.0.1:6379/x.jpg"},
	} {
		res, m := e.call(t, "validate_post", map[string]any{"kind": "post", "post": post})
		if res.IsError || m["valid"] != false {
			t.Fatalf("%v: %v", post, m)
		}
	}
	if n := e.fetches.n.Load(); n != 0 {
		t.Fatalf("preflight fetched %d refused URLs", n)
	}
}
