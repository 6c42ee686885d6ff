package publish_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
)

// A local file is part of what an idempotency_key stands for: the same key
// with another file put at the same file_path is "reused for a different
// post" (refused before any Graph call), and the same content replays the
// post, also after the file was written again (a new modification time).
func TestRun_KeyAndLocalFile(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		clip := func(d time.Duration) []byte {
			return mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: d, MediaBytes: 1 << 20})
		}
		cases := []struct {
			name string
			req  func(path string) publish.Request
		}{
			{"reel", func(path string) publish.Request {
				return reel(&publish.ReelInput{FilePath: path, Common: publish.Common{Caption: "from disk"}}, "file-key")
			}},
			{"story", func(path string) publish.Request {
				return story(&publish.StoryInput{FilePath: path}, "file-key")
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := v.rig(t, fakegraph.Options{}, ratelimit.Config{})
				r.withLocal(fastUpload())
				a := r.accounts[0]
				path := filepath.Join(t.TempDir(), "clip.mp4")
				first, other := clip(10*time.Second), clip(12*time.Second)
				if len(first) != len(other) {
					t.Fatalf("the two clips should have one size (%d, %d): size alone must not tell them apart", len(first), len(other))
				}
				write := func(b []byte, mtime time.Time) {
					if err := os.WriteFile(path, b, 0o600); err != nil {
						t.Fatal(err)
					}
					if err := os.Chtimes(path, mtime, mtime); err != nil {
						t.Fatal(err)
					}
				}
				t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
				write(first, t0)
				res, err := r.pub.Run(t.Context(), a, c.req(path), publish.Options{Wait: 5 * time.Second})
				if err != nil || res.Status != publish.StatusPublished {
					t.Fatalf("first: %+v %v", res, err)
				}
				calls := len(r.fake.Calls())

				// Another file at the same path, even with the same size and
				// modification time.
				write(other, t0)
				_, err = r.pub.Run(t.Context(), a, c.req(path), publish.Options{Wait: 5 * time.Second})
				if fe := failureOf(err); fe == nil || fe.Kind != failure.InvalidInput || fe.Field != "idempotency_key" {
					t.Fatalf("same key, another file: want invalid_input on idempotency_key, got %v", err)
				}
				if n := len(r.fake.Calls()) - calls; n != 0 {
					t.Fatalf("%d Graph calls for a refused key", n)
				}

				// The first content again, written later: the same post.
				write(first, t0.Add(30*time.Minute))
				again, err := r.pub.Run(t.Context(), a, c.req(path), publish.Options{Wait: 5 * time.Second})
				if err != nil || !again.Replayed || again.MediaID != res.MediaID {
					t.Fatalf("same content re-written: %+v %v", again, err)
				}
				if n, sends := len(r.fake.Published(a.ID)), oneSendPerContainer(t, r); n != 1 || sends != 1 {
					t.Fatalf("%d posts, %d media_publish sends", n, sends)
				}
			})
		}
	})
}

// A request without a local file digests exactly as before local files
// were part of the digest, so keys recorded by earlier versions still
// match.
func TestDigestOfURLRequestUnchanged(t *testing.T) {
	want := sha256.Sum256([]byte(`{"kind":"post","draft":false,"in":{"image_url":"https://cdn.example.com/p.jpg","caption":"hello"}}`))
	if got := digest(t, post("hello")); got != hex.EncodeToString(want[:]) {
		t.Fatalf("digest %s, want %x", got, want)
	}
}

// BenchmarkDigestLocalFile is what a file_path adds to every publishing
// call: the SHA-256 of the file (a 64 MiB video here; files are at most
// 300 MiB).
func BenchmarkDigestLocalFile(b *testing.B) {
	video := mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 30 * time.Second, MediaBytes: 64 << 20})
	path := filepath.Join(b.TempDir(), "reel.mp4")
	if err := os.WriteFile(path, video, 0o600); err != nil {
		b.Fatal(err)
	}
	req := reel(&publish.ReelInput{FilePath: path}, "")
	b.SetBytes(int64(len(video)))
	for b.Loop() {
		if _, err := req.Digest(publish.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
