package publish_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/staging/stagingtest"
)

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fastUpload() publish.Local {
	return publish.Local{Upload: graph.UploadOptions{RetryWait: time.Millisecond}}
}

func story(in *publish.StoryInput, key string) publish.Request {
	return publish.Request{Kind: publish.KindStory, Story: in, IdempotencyKey: key}
}

func reel(in *publish.ReelInput, key string) publish.Request {
	return publish.Request{Kind: publish.KindReel, Reel: in, IdempotencyKey: key}
}

// withLocal makes r publish local files with l (staging, upload settings).
func (r *rig) withLocal(l publish.Local) {
	r.pub = publish.New(r.store, publish.WithPollPolicy(fastPolls), publish.WithSendGrace(r.grace), publish.WithLocalMedia(l))
}

func TestStory_ImageURL_OnceAndReplayed(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{ProcessingPolls: 1}, ratelimit.Config{})
		a := r.accounts[0]
		in := &publish.StoryInput{ImageURL: "https://cdn.example.com/story.jpg", UserTags: []publish.UserTag{{Username: "friend"}}}
		res, err := r.pub.Run(t.Context(), a, story(in, "story-1"), publish.Options{Wait: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != publish.StatusPublished || !strings.Contains(res.Permalink, "/stories/") {
			t.Fatalf("result %+v", res)
		}
		pub := r.fake.Published(a.ID)
		if len(pub) != 1 || pub[0].ProductType != "STORY" || pub[0].MediaType != "IMAGE" {
			t.Fatalf("published %+v", pub)
		}
		cs := r.fake.Containers()
		if cs[0].Kind != fakegraph.KindStories || !strings.Contains(cs[0].Params.Get("user_tags"), "friend") {
			t.Fatalf("container %+v", cs[0])
		}
		again, err := r.pub.Run(t.Context(), a, story(in, "story-1"), publish.Options{Wait: 5 * time.Second})
		if err != nil || !again.Replayed || again.MediaID != res.MediaID || len(r.fake.Published(a.ID)) != 1 {
			t.Fatalf("repeat: %+v %v", again, err)
		}
		// the same key for other content is refused
		other := &publish.StoryInput{ImageURL: "https://cdn.example.com/other.jpg"}
		if _, err := r.pub.Run(t.Context(), a, story(other, "story-1"), publish.Options{}); kindOf(err) != failure.InvalidInput {
			t.Fatalf("key reuse: %v", err)
		}
	})
}

func TestStory_VideoFileUploadedWithProgress(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{ProcessingPolls: 2}, ratelimit.Config{})
		a := r.accounts[0]
		video := mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 15 * time.Second, MediaBytes: 4 << 20})
		path := writeFile(t, "clip.mp4", video)
		var last atomic.Int64
		l := fastUpload()
		l.Upload.ChunkSize = 1 << 20
		r.withLocal(l)
		progress := func(sent, total int64) {
			if total != int64(len(video)) {
				t.Errorf("total %d", total)
			}
			last.Store(sent)
		}
		res, err := r.pub.Run(t.Context(), a, story(&publish.StoryInput{FilePath: path}, ""), publish.Options{Wait: 5 * time.Second, UploadProgress: progress})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != publish.StatusPublished || last.Load() != int64(len(video)) {
			t.Fatalf("result %+v, last progress %d of %d", res, last.Load(), len(video))
		}
		cs := r.fake.Containers()
		if !cs[0].Resumable || !cs[0].Uploaded || cs[0].Params.Get("video_url") != "" {
			t.Fatalf("container %+v", cs[0])
		}
		if n := r.fake.CountCalls("POST", "/"+cs[0].ID); n != 5 { // 4 MiB + headers in 1 MiB chunks
			t.Fatalf("%d upload requests", n)
		}
		if pub := r.fake.Published(a.ID); len(pub) != 1 || pub[0].MediaType != "VIDEO" || pub[0].ProductType != "STORY" {
			t.Fatalf("published %+v", pub)
		}
	})
}

func TestStory_ImageFile_StagedThenRemoved(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		a := r.accounts[0]
		bucket := stagingtest.New(t)
		var staged string
		stage := bucket.StageFunc()
		r.withLocal(publish.Local{Stager: func(ctx context.Context, path, ct string) (string, func(context.Context) error, error) {
			u, rm, err := stage(ctx, path, ct)
			staged = u
			return u, rm, err
		}})
		path := writeFile(t, "story.jpg", mediatest.JPEG(540, 960))
		res, err := r.pub.Run(t.Context(), a, story(&publish.StoryInput{FilePath: path}, ""), publish.Options{Wait: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != publish.StatusPublished || staged == "" {
			t.Fatalf("result %+v", res)
		}
		if got := r.fake.Containers()[0].ImageURL; got != staged {
			t.Fatalf("container image_url %q, staged %q", got, staged)
		}
		resp, err := http.Get(staged)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("staged copy still there after publishing: %d", resp.StatusCode)
		}
	})
}

func TestStory_RefusedBeforeAnyGraphCall(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		a := r.accounts[0]
		jpg := writeFile(t, "a.jpg", mediatest.JPEG(540, 960))
		png := writeFile(t, "a.png", mediatest.PNG(100, 100))
		long := writeFile(t, "long.mp4", mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 90 * time.Second}))
		cases := []struct {
			name  string
			in    publish.StoryInput
			kind  failure.Kind
			field string
		}{
			{"nothing", publish.StoryInput{}, failure.InvalidInput, "image_url"},
			{"two sources", publish.StoryInput{ImageURL: "https://cdn.example.com/a.jpg", VideoURL: "https://cdn.example.com/a.mp4"}, failure.InvalidInput, "image_url"},
			{"http", publish.StoryInput{VideoURL: "http://cdn.example.com/a.mp4"}, failure.InvalidInput, "video_url"},
			{"relative path", publish.StoryInput{FilePath: "a.jpg"}, failure.InvalidInput, "file_path"},
			{"missing file", publish.StoryInput{FilePath: "/nonexistent/a.jpg"}, failure.InvalidInput, "file_path"},
			{"png", publish.StoryInput{FilePath: png}, failure.MediaRejected, "file_path"},
			{"90 s video", publish.StoryInput{FilePath: long}, failure.MediaRejected, "file_path"},
			{"image without staging", publish.StoryInput{FilePath: jpg}, failure.InvalidInput, "file_path"},
			{"bad tag", publish.StoryInput{ImageURL: "https://cdn.example.com/a.jpg", UserTags: []publish.UserTag{{Username: "@x"}}}, failure.InvalidInput, "user_tags[0].username"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := len(r.fake.Calls())
				_, err := r.pub.Run(t.Context(), a, story(&tc.in, ""), publish.Options{})
				fe := failureOf(err)
				if fe == nil || fe.Kind != tc.kind || fe.Field != tc.field {
					t.Fatalf("want %s on %s, got %+v", tc.kind, tc.field, err)
				}
				if tc.name == "image without staging" {
					if !strings.Contains(fe.Action, "image_url") {
						t.Fatalf("action must say how to give a URL: %q", fe.Action)
					}
				}
				if after := len(r.fake.Calls()); after != before {
					t.Fatalf("%d Graph calls for invalid input", after-before)
				}
			})
		}
	})
}

func TestReelFile(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		r.withLocal(fastUpload())
		a := r.accounts[0]
		video := mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 20 * time.Second, MediaBytes: 3 << 20})
		path := writeFile(t, "reel.mov", video)
		share := false
		in := &publish.ReelInput{FilePath: path, ShareToFeed: &share, AudioName: "Original", Common: publish.Common{Caption: "From disk #igmcp", FirstComment: "first"}}
		res, err := r.pub.Run(t.Context(), a, reel(in, "reel-file-1"), publish.Options{Wait: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != publish.StatusPublished || res.FirstCommentID == "" {
			t.Fatalf("result %+v", res)
		}
		c := r.fake.Containers()[0]
		if c.Kind != fakegraph.KindReels || !c.Uploaded || c.Params.Get("share_to_feed") != "false" || c.Params.Get("caption") != "From disk #igmcp" {
			t.Fatalf("container %+v", c)
		}
		// same key, same file: the recorded result
		again, err := r.pub.Run(t.Context(), a, reel(in, "reel-file-1"), publish.Options{})
		if err != nil || !again.Replayed {
			t.Fatalf("repeat: %+v %v", again, err)
		}
		// same key, another file: refused
		other := *in
		other.FilePath = writeFile(t, "other.mp4", mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 5 * time.Second}))
		if _, err := r.pub.Run(t.Context(), a, reel(&other, "reel-file-1"), publish.Options{}); kindOf(err) != failure.InvalidInput {
			t.Fatalf("key reuse with another file: %v", err)
		}
		// both sources; a JPEG as a Reel
		both := *in
		both.VideoURL = "https://cdn.example.com/v.mp4"
		jpeg := *in
		jpeg.FilePath = writeFile(t, "x.jpg", mediatest.JPEG(100, 100))
		for _, bad := range []*publish.ReelInput{&both, &jpeg} {
			if fe := failureOf(bad.Validate()); fe == nil || fe.Kind != failure.InvalidInput || fe.Field != "file_path" {
				t.Fatalf("%+v accepted: %v", bad, fe)
			}
		}
		if n := len(r.fake.Published(a.ID)); n != 1 || oneSendPerContainer(t, r) != 1 {
			t.Fatalf("%d posts", n)
		}
	})
}

func TestReelFile_UploadKeepsFailing(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
		// Instagram's upload host answers 500 to every upload; the Graph API works.
		var uploads atomic.Int32
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/ig-api-upload/") {
				uploads.Add(1)
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			r.fake.ServeHTTP(w, req)
		}))
		defer proxy.Close()
		c, err := graph.NewClient(graph.WithBaseURL(proxy.URL), graph.WithRetryPolicy(fastRetry),
			graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fakegraph.DefaultAccount.Token})))
		if err != nil {
			t.Fatal(err)
		}
		a := &publish.Account{ID: fakegraph.DefaultAccount.ID, Username: fakegraph.DefaultAccount.Username, Graph: c}
		path := writeFile(t, "reel.mp4", mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 20 * time.Second}))
		l := fastUpload()
		l.Upload.MaxAttempts = 3
		r.withLocal(l)
		_, err = r.pub.Run(t.Context(), a, reel(&publish.ReelInput{FilePath: path}, ""), publish.Options{Wait: time.Second})
		if k := kindOf(err); k != failure.Transient || uploads.Load() != 3 {
			t.Fatalf("want transient after 3 uploads, got %v after %d", err, uploads.Load())
		}
		if len(r.fake.Published(a.ID)) != 0 {
			t.Fatal("published despite a failed upload")
		}
	})
}

// A lost media_publish answer (the post went live, the answer never came)
// is reconciled through the container, and the media id is found only
// where it is certain: among the live stories for a Story, by time for
// publish_container (whose caption is unknown); a captionless feed post
// is never taken for the Story, and two candidates leave the id unknown.
func TestLostPublishAnswer_MediaIDFoundOnlyWhenCertain(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		lostStoryInput := &publish.StoryInput{ImageURL: "https://cdn.example.com/story.jpg"}
		loseNextAnswer := func(r *rig) {
			r.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Action: fakegraph.FaultPublishThenFail, Nth: 1})
		}
		lostStory := func(t *testing.T, r *rig, a *publish.Account) (*publish.Result, error) {
			loseNextAnswer(r)
			return r.pub.Run(t.Context(), a, story(lostStoryInput, "lost-story"), publish.Options{Wait: 5 * time.Second})
		}
		cases := []struct {
			name   string
			before func(t *testing.T, r *rig, a *publish.Account) // what the account published just before
			run    func(t *testing.T, r *rig, a *publish.Account) (*publish.Result, error)
			wantID bool
		}{
			{
				name: "story after a captionless feed post",
				before: func(t *testing.T, r *rig, a *publish.Account) {
					if _, err := r.pub.Run(t.Context(), a, post(""), publish.Options{Wait: 5 * time.Second}); err != nil {
						t.Fatal(err)
					}
				},
				run:    lostStory,
				wantID: true,
			},
			{
				name: "story after another story",
				before: func(t *testing.T, r *rig, a *publish.Account) {
					other := &publish.StoryInput{ImageURL: "https://cdn.example.com/earlier.jpg"}
					if _, err := r.pub.Run(t.Context(), a, story(other, "earlier"), publish.Options{Wait: 5 * time.Second}); err != nil {
						t.Fatal(err)
					}
				},
				run:    lostStory,
				wantID: false,
			},
			{
				name: "publish_container of a draft",
				run: func(t *testing.T, r *rig, a *publish.Account) (*publish.Result, error) {
					draft, err := r.pub.Run(t.Context(), a, post("a draft"), publish.Options{Wait: 5 * time.Second, Draft: true})
					if err != nil || draft.Status != publish.StatusDraft {
						t.Fatalf("draft: %+v %v", draft, err)
					}
					loseNextAnswer(r)
					return r.pub.PublishContainer(t.Context(), a, draft.ContainerID, publish.Options{Wait: 5 * time.Second})
				},
				wantID: true,
			},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
				a := r.accounts[0]
				if c.before != nil {
					c.before(t, r, a)
				}
				res, err := c.run(t, r, a)
				if err != nil || res.Status != publish.StatusPublished {
					t.Fatalf("%+v %v", res, err)
				}
				pub := r.fake.Published(a.ID)
				last := pub[len(pub)-1]
				if n := r.fake.CountCalls("POST", "/media_publish"); n != len(pub) {
					t.Fatalf("media_publish sent %d times for %d posts", n, len(pub))
				}
				switch {
				case c.wantID && res.MediaID != last.ID:
					t.Fatalf("media id %q, want %s (warnings %q)", res.MediaID, last.ID, res.Warnings)
				case !c.wantID && res.MediaID != "":
					t.Fatalf("media id %q guessed among %d candidates", res.MediaID, len(pub))
				case !c.wantID && !strings.Contains(strings.Join(res.Warnings, " "), "could not be determined"):
					t.Fatalf("warnings %q", res.Warnings)
				}
			})
		}
	})
}
