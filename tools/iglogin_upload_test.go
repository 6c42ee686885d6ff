package tools_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/tools"
)

// Issue 11 §2: resumable upload is documented for Facebook Login only. An
// Instagram Login account's local video is refused through the tools —
// waiting or as a background job — before any Graph call, naming
// file_path, saying why and to give video_url; the same video by URL
// publishes.
func TestLocalVideo_InstagramLogin_RefusedThroughTheTools(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	if err := os.WriteFile(clip, mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 10 * time.Second}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{login: auth.LoginInstagram, media: tools.Deps{MediaRoot: dir}})
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"publish_reel", map[string]any{"file_path": clip}},
		{"publish_reel", map[string]any{"file_path": clip, "wait": false}},
		{"publish_story", map[string]any{"file_path": clip}},
	} {
		before := e.graphCalls()
		errObj := mustErr(t, e.call(t, tc.tool, tc.args), "invalid_input")
		msg, _ := errObj["message"].(string)
		action, _ := errObj["action"].(string)
		if errObj["field"] != "file_path" || !strings.Contains(msg, "Facebook Login") || !strings.Contains(action, "video_url") {
			t.Errorf("%s %v: %v", tc.tool, tc.args, errObj)
		}
		// Resolving the account may read /me once; nothing else, and
		// never a container.
		if n := e.fake.CountCalls("POST", ""); n != 0 || e.graphCalls()-before > 1 {
			t.Errorf("%s: %d Graph calls, %d POSTs", tc.tool, e.graphCalls()-before, n)
		}
	}
	m := mustOK(t, e.call(t, "publish_reel", map[string]any{"video_url": mp4, "caption": "by URL"}))
	if m["status"] != "published" || len(e.fake.Published(e.account.ID)) != 1 {
		t.Fatalf("by URL: %v", m)
	}
}
