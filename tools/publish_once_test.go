package tools_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/tools"
)

// sendsPerContainer fails the test when a container got more than one
// media_publish request and returns the total.
func sendsPerContainer(t *testing.T, f *fakegraph.Server) int {
	t.Helper()
	total := 0
	for _, c := range f.Containers() {
		n := f.MediaPublishes(c.ID)
		if n > 1 {
			t.Errorf("container %s: media_publish sent %d times", c.ID, n)
		}
		total += n
	}
	return total
}

// requireReplay checks that again is first's post replayed, and that the
// account has that one post from one media_publish.
func requireReplay(t *testing.T, f *fakegraph.Server, acct string, first, again map[string]any) {
	t.Helper()
	if again["replayed"] != true || again["media_id"] != first["media_id"] {
		t.Fatalf("want %v replayed, got %v", first["media_id"], again)
	}
	if n, sends := len(f.Published(acct)), sendsPerContainer(t, f); n != 1 || sends != 1 {
		t.Fatalf("%d posts, %d sends", n, sends)
	}
}

// writeClip writes b at path with modification time mtime.
func writeClip(t *testing.T, path string, b []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func clip(d time.Duration) []byte {
	return mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: d, MediaBytes: 1 << 20})
}

var fastUploads = tools.Deps{Upload: graph.UploadOptions{RetryWait: time.Millisecond, ChunkSize: 1 << 20}}

// The same idempotency_key with another file at the same file_path is a key
// reused for a different post, through every publishing tool that takes a
// file; the same content written again replays.
func TestFilePath_KeyReusedForAnotherFile(t *testing.T) {
	for _, tool := range []string{"publish_reel", "publish_story"} {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{media: fastUploads})
			path := filepath.Join(t.TempDir(), "clip.mp4")
			t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
			writeClip(t, path, clip(10*time.Second), t0)
			args := map[string]any{"file_path": path, "idempotency_key": "file-key"}
			first := mustOK(t, e.call(t, tool, args))
			if first["status"] != "published" {
				t.Fatalf("first: %v", first)
			}
			calls := len(e.fake.Calls())
			writeClip(t, path, clip(12*time.Second), t0) // same size and time, other content
			errObj := mustErr(t, e.call(t, tool, args), "invalid_input")
			if errObj["field"] != "idempotency_key" || len(e.fake.Calls()) != calls {
				t.Fatalf("another file under the same key: %v, %d Graph calls", errObj, len(e.fake.Calls())-calls)
			}
			writeClip(t, path, clip(10*time.Second), t0.Add(30*time.Minute))
			requireReplay(t, e.fake, e.account.ID, first, mustOK(t, e.call(t, tool, args)))
		})
	}
}

// publish_story with wait: false, then again waiting, with the same key:
// the second call replays the job's post (one media_publish, one post).
func TestPublishStory_JobThenCall_SameKeyReplays(t *testing.T) {
	e := newScheduleEnv(t, "", fakegraph.Options{})
	e.runScheduler(t)
	args := map[string]any{"image_url": "https://cdn.example.com/story.jpg", "idempotency_key": "story-key", "wait": false}
	m := mustOK(t, e.call(t, "publish_story", args))
	j := waitJob(t, e, m["job_id"].(string))
	res, _ := j["result"].(map[string]any)
	if j["state"] != "published" || res["media_id"] == nil {
		t.Fatalf("job: %v", j)
	}
	args["wait"] = true
	requireReplay(t, e.fake, e.account.ID, res, mustOK(t, e.call(t, "publish_story", args)))
}

// publish_story of the same file with the same key replays, also when the
// file was written again in between (same content, new modification time):
// the key stands for the content, not for the file's metadata.
func TestPublishStory_SameFileSameKeyReplays(t *testing.T) {
	e := newEnv(t, envOpts{media: fastUploads})
	path := filepath.Join(t.TempDir(), "clip.mp4")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	writeClip(t, path, clip(10*time.Second), t0)
	args := map[string]any{"file_path": path, "idempotency_key": "story-file"}
	first := mustOK(t, e.call(t, "publish_story", args))
	writeClip(t, path, clip(10*time.Second), t0.Add(time.Minute))
	requireReplay(t, e.fake, e.account.ID, first, mustOK(t, e.call(t, "publish_story", args)))
}

// Meta drops the media_publish answer and puts the request into effect
// later (here 0.3 s, within the 1 s send grace): one create_post makes one
// post, found and reported, and media_publish is sent once.
func TestCreatePost_AnswerLostAppliedLater_OnePost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Nth: 1, Action: fakegraph.FaultDropThenApplyLater, ApplyAfter: 300 * time.Millisecond})
	m := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "caption": "slow meta"}))
	if err := e.fake.WaitLate(t.Context()); err != nil {
		t.Fatal(err)
	}
	posts := e.fake.Published(e.account.ID)
	if n := sendsPerContainer(t, e.fake); n != 1 || len(posts) != 1 || m["media_id"] != posts[0].ID {
		t.Fatalf("%d sends, %d posts, result %v", n, len(posts), m)
	}
}
