package tools_test

import (
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/staging/stagingtest"
	"github.com/igmcp/igmcp/tools"
)

// mediaDeps is preflight against a loopback media server, with fast uploads.
func mediaDeps(t *testing.T) (tools.Deps, *mediatest.Server) {
	t.Helper()
	srv := mediatest.Serve(t)
	return tools.Deps{
		Preflight: preflight.New(preflight.Options{Client: srv.Client()}),
		Upload:    graph.UploadOptions{RetryWait: time.Millisecond, ChunkSize: 1 << 20},
	}, srv
}

func TestPublishStory_ImageURL(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			m, srv := mediaDeps(t)
			srv.Put("/story.jpg", mediatest.File{Body: mediatest.JPEG(540, 960), ContentType: "image/jpeg"})
			e := newEnv(t, envOpts{era: era, media: m, fake: fakegraph.Options{ProcessingPolls: 1}})
			args := map[string]any{"image_url": mediatest.URL("/story.jpg"), "user_tags": []any{map[string]any{"username": "friend", "x": 0.5, "y": 0.3}}, "idempotency_key": "story-a"}
			res := mustOK(t, e.call(t, "publish_story", args))
			if res["status"] != "published" || !strings.Contains(res["permalink"].(string), "/stories/") {
				t.Fatalf("result %v", res)
			}
			pub := e.fake.Published(e.account.ID)
			if len(pub) != 1 || pub[0].ProductType != "STORY" {
				t.Fatalf("published %+v", pub)
			}
			again := mustOK(t, e.call(t, "publish_story", args))
			if again["replayed"] != true || again["media_id"] != res["media_id"] || len(e.fake.Published(e.account.ID)) != 1 {
				t.Fatalf("repeat with the same key: %v", again)
			}
		})
	}
}

func TestPublishStory_PreflightRefusesBeforeAnyContainer(t *testing.T) {
	t.Parallel()
	m, srv := mediaDeps(t)
	srv.Put("/story.png", mediatest.File{Body: mediatest.PNG(540, 960), ContentType: "image/png"})
	srv.Put("/long.mp4", mediatest.File{Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 75 * time.Second}), ContentType: "video/mp4"})
	srv.Put("/slow.mp4", mediatest.File{Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 10 * time.Second, MoovLast: true}), ContentType: "video/mp4"})
	e := newEnv(t, envOpts{media: m})
	for path, rule := range map[string]string{"/story.png": "image.format", "/long.mp4": "video.duration", "/slow.mp4": "video.moov_first"} {
		field := "image_url"
		if strings.HasSuffix(path, ".mp4") {
			field = "video_url"
		}
		before := e.graphCalls()
		errObj := mustErr(t, e.call(t, "publish_story", map[string]any{field: mediatest.URL(path)}), "media_rejected")
		if errObj["field"] != field || !strings.Contains(errObj["message"].(string), rule) {
			t.Errorf("%s: %v", path, errObj)
		}
		if e.graphCalls() != before {
			t.Errorf("%s: %d Graph calls before the refusal", path, e.graphCalls()-before)
		}
	}
	// unreachable media is only a warning: Instagram may still reach it
	res := mustOK(t, e.call(t, "publish_story", map[string]any{"image_url": mediatest.URL("/gone.jpg")}))
	if w, _ := res["warnings"].([]any); len(w) == 0 || !strings.Contains(w[0].(string), "could not fetch") {
		t.Fatalf("warnings %v", res["warnings"])
	}
}

// A multi-megabyte video story from a local file: uploaded in chunks with
// progress notifications that only go up, then processed and published.
func TestPublishStory_VideoFileUploadWithProgress(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			m, _ := mediaDeps(t)
			e := newEnv(t, envOpts{era: era, media: m, fake: fakegraph.Options{ProcessingPolls: 3}})
			video := mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 20 * time.Second, MediaBytes: 5 << 20})
			path := writeTemp(t, "clip.mp4", video)
			res := mustOK(t, e.callMeta(t, "publish_story", map[string]any{"file_path": path, "wait_seconds": 30}, &mcp.Meta{ProgressToken: "up-1"}))
			if res["status"] != "published" {
				t.Fatalf("result %v", res)
			}
			c := e.fake.Containers()[0]
			if !c.Resumable || !c.Uploaded || c.Kind != fakegraph.KindStories {
				t.Fatalf("container %+v", c)
			}
			if pub := e.fake.Published(e.account.ID); len(pub) != 1 || pub[0].MediaType != "VIDEO" {
				t.Fatalf("published %+v", pub)
			}
			notes := e.progress()
			if len(notes) < 4 {
				t.Fatalf("%d progress notifications", len(notes))
			}
			last, sawUpload := -1.0, false
			for _, n := range notes {
				v := n["progress"].(float64)
				if v <= last || n["total"] != float64(100) || n["progressToken"] != "up-1" {
					t.Fatalf("progress not increasing on a 0–100 scale: %v", notes)
				}
				last = v
				if v*10 != math.Round(v*10) {
					t.Fatalf("progress %v is not rounded to a tenth", v)
				}
				msg := n["message"].(string)
				if strings.HasPrefix(msg, "uploaded") {
					sawUpload = true
					if !uploadedRE.MatchString(msg) {
						t.Fatalf("upload message %q", msg)
					}
				}
			}
			if !sawUpload || last < 50 {
				t.Fatalf("upload progress missing (last %v): %v", last, notes)
			}
		})
	}
}

// uploadedRE is an upload progress message with rounded sizes.
var uploadedRE = regexp.MustCompile(`^uploaded [0-9]+(\.[0-9])? MB of [0-9]+(\.[0-9])? MB$`)

func TestPublishStory_ImageFileNeedsStaging(t *testing.T) {
	t.Parallel()
	jpg := writeTemp(t, "story.jpg", mediatest.JPEG(540, 960))

	e := newEnv(t, envOpts{})
	before := e.graphCalls()
	errObj := mustErr(t, e.call(t, "publish_story", map[string]any{"file_path": jpg}), "invalid_input")
	if errObj["field"] != "file_path" || !strings.Contains(errObj["action"].(string), "image_url") || e.graphCalls() != before {
		t.Fatalf("without staging: %v", errObj)
	}

	// with a bucket (a real S3-protocol server on loopback): staged,
	// fetched through the presigned URL, removed after publishing
	bucket := stagingtest.New(t)
	staged := newEnv(t, envOpts{media: tools.Deps{Stager: bucket.StageFunc()}})
	res := mustOK(t, staged.call(t, "publish_story", map[string]any{"file_path": jpg}))
	if res["status"] != "published" {
		t.Fatalf("result %v", res)
	}
	u := staged.fake.Containers()[0].ImageURL
	if !strings.Contains(u, "X-Amz-Signature=") || !strings.Contains(u, "/"+stagingtest.Bucket+"/") {
		t.Fatalf("container image_url is not a presigned bucket URL: %s", u)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("staged copy not removed: %d", resp.StatusCode)
	}
}

func TestPublishStory_InvalidInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	png := writeTemp(t, "a.png", mediatest.PNG(10, 10))
	e := newEnv(t, envOpts{media: tools.Deps{MediaRoot: dir}})
	for _, tc := range []struct {
		args  map[string]any
		kind  string
		field string
	}{
		{map[string]any{}, "invalid_input", "image_url"},
		{map[string]any{"image_url": "https://cdn.example.com/a.jpg", "video_url": "https://cdn.example.com/a.mp4"}, "invalid_input", "image_url"},
		{map[string]any{"video_url": "http://cdn.example.com/a.mp4"}, "invalid_input", "video_url"},
		{map[string]any{"file_path": "relative.jpg"}, "invalid_input", "file_path"},
		{map[string]any{"file_path": png}, "invalid_input", "file_path"}, // outside IGMCP_MEDIA_ROOT
		{map[string]any{"image_url": "https://cdn.example.com/a.jpg", "caption": "stories have none"}, "invalid_input", "caption"},
		{map[string]any{"image_url": "https://cdn.example.com/a.jpg", "wait_seconds": 1000}, "invalid_input", "wait_seconds"},
		{map[string]any{"image_url": "https://cdn.example.com/a.jpg", "idempotency_key": "auto:x"}, "invalid_input", "idempotency_key"},
	} {
		before := e.graphCalls()
		errObj := mustErr(t, e.call(t, "publish_story", tc.args), tc.kind)
		if errObj["field"] != tc.field {
			t.Errorf("%v: field %v (%v)", tc.args, errObj["field"], errObj["message"])
		}
		if e.graphCalls() != before {
			t.Errorf("%v: Graph called", tc.args)
		}
	}
}
