package preflight_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/netguard"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/preflight/mediatest"
)

func checker(t *testing.T) (*preflight.Checker, *mediatest.Server) {
	t.Helper()
	srv := mediatest.Serve(t)
	return preflight.New(preflight.Options{Client: srv.Client()}), srv
}

func TestRemoteMedia(t *testing.T) {
	t.Parallel()
	c, srv := checker(t)
	big := append(mediatest.JPEG(1080, 1080), bytes.Repeat([]byte{0}, 9<<20)...)
	files := map[string]mediatest.File{
		"/square.jpg":    {Body: mediatest.JPEG(1080, 1080), ContentType: "image/jpeg"},
		"/portrait.jpg":  {Body: mediatest.JPEG(1080, 1350), ContentType: "image/jpeg"},
		"/tall.jpg":      {Body: mediatest.JPEG(540, 960), ContentType: "image/jpeg"},
		"/wide.jpg":      {Body: mediatest.JPEG(1000, 500), ContentType: "image/jpeg"},
		"/rotated.jpg":   {Body: mediatest.JPEGRotated(960, 540), ContentType: "image/jpeg"},
		"/photo.png":     {Body: mediatest.PNG(800, 800), ContentType: "image/png"},
		"/login":         {Body: []byte("<!DOCTYPE html><html><body>Sign in</body></html>"), ContentType: "text/html; charset=utf-8"},
		"/big.jpg":       {Body: big, ContentType: "image/jpeg"},
		"/small.jpg":     {Body: mediatest.JPEG(200, 200), ContentType: "image/jpeg"},
		"/reel.mp4":      {Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 12 * time.Second}), ContentType: "video/mp4"},
		"/reel64.mp4":    {Body: mediatest.MP4(mediatest.Video{Width: 720, Height: 1280, Duration: 20 * time.Second, Version1: true}), ContentType: "video/mp4"},
		"/clip.mov":      {Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 8 * time.Second, Brand: "qt  "}), ContentType: "video/quicktime"},
		"/slow.mp4":      {Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 12 * time.Second, MoovLast: true})},
		"/short.mp4":     {Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 2 * time.Second})},
		"/long.mp4":      {Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 16 * time.Minute})},
		"/minute.mp4":    {Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 61 * time.Second})},
		"/4k.mp4":        {Body: mediatest.MP4(mediatest.Video{Width: 3840, Height: 2160, Duration: 10 * time.Second})},
		"/strip.mp4":     {Body: mediatest.MP4(mediatest.Video{Width: 1800, Height: 100, Duration: 10 * time.Second})},
		"/sideways.mp4":  {Body: mediatest.MP4(mediatest.Video{Width: 1800, Height: 100, Duration: 10 * time.Second, Rotate90: true})},
		"/norange.mp4":   {Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 10 * time.Second}), IgnoreRange: true},
		"/clip.webm":     {Body: []byte{0x1A, 0x45, 0xDF, 0xA3, 0, 0, 0, 0}, ContentType: "video/webm"},
		"/missing.jpg":   {Status: http.StatusNotFound},
		"/forbidden.mp4": {Status: http.StatusForbidden},
	}
	for p, f := range files {
		srv.Put(p, f)
	}
	cases := []struct {
		path, field string
		kind        preflight.Kind
		rule        string // "" = no violation
		warn        string // substring of a warning
	}{
		{"/square.jpg", "image_url", preflight.FeedImage, "", ""},
		{"/portrait.jpg", "image_url", preflight.FeedImage, "", ""},
		{"/tall.jpg", "image_url", preflight.FeedImage, "image.aspect_ratio", ""},
		{"/tall.jpg", "image_url", preflight.StoryImage, "", ""},
		{"/wide.jpg", "items[1].image_url", preflight.FeedImage, "image.aspect_ratio", ""},
		{"/rotated.jpg", "image_url", preflight.FeedImage, "image.aspect_ratio", ""}, // EXIF turns 960×540 into 540×960
		{"/photo.png", "image_url", preflight.FeedImage, "image.format", ""},
		{"/login", "image_url", preflight.FeedImage, "image.format", ""},
		{"/big.jpg", "image_url", preflight.FeedImage, "image.size", ""},
		{"/small.jpg", "image_url", preflight.FeedImage, "", "scales"},
		{"/photo.png", "cover_url", preflight.Cover, "image.format", ""},
		{"/reel.mp4", "video_url", preflight.Reel, "", ""},
		{"/reel64.mp4", "video_url", preflight.Reel, "", ""},
		{"/clip.mov", "video_url", preflight.StoryVideo, "", ""},
		{"/slow.mp4", "video_url", preflight.Reel, "video.moov_first", ""},
		{"/short.mp4", "video_url", preflight.Reel, "video.duration", ""},
		{"/long.mp4", "video_url", preflight.Reel, "video.duration", ""},
		{"/minute.mp4", "video_url", preflight.StoryVideo, "video.duration", ""},
		{"/minute.mp4", "video_url", preflight.Reel, "", ""},
		{"/4k.mp4", "video_url", preflight.Reel, "video.width", ""},
		{"/strip.mp4", "video_url", preflight.StoryVideo, "video.aspect_ratio", ""}, // 18:1
		{"/sideways.mp4", "video_url", preflight.StoryVideo, "video.aspect_ratio", ""},
		{"/norange.mp4", "video_url", preflight.Reel, "", "Range"},
		{"/clip.webm", "video_url", preflight.Reel, "video.container", ""},
		{"/photo.png", "video_url", preflight.Reel, "video.container", ""},
		{"/missing.jpg", "image_url", preflight.FeedImage, "", "image_url: " + couldNotFetch},
		{"/forbidden.mp4", "video_url", preflight.Reel, "", "video_url: " + couldNotFetch},
	}
	for _, tc := range cases {
		t.Run(strings.TrimPrefix(tc.path, "/")+"/"+string(tc.kind), func(t *testing.T) {
			m := preflight.Media{Field: tc.field, URL: mediatest.URL(tc.path), Kind: tc.kind}
			r := c.Inspect(t.Context(), m)
			switch {
			case tc.rule == "" && len(r.Violations) > 0:
				t.Fatalf("unexpected violations %+v (info %+v)", r.Violations, r.Info)
			case tc.rule != "" && (len(r.Violations) == 0 || r.Violations[0].Rule != tc.rule):
				t.Fatalf("want rule %s, got %+v (info %+v)", tc.rule, r.Violations, r.Info)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(r.Warnings, "|"), tc.warn) {
				t.Fatalf("want a warning with %q, got %q", tc.warn, r.Warnings)
			}
			warnings, err := c.Check(t.Context(), []preflight.Media{m})
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if tc.warn != "" && len(warnings) == 0 {
					t.Fatal("Check lost the warning")
				}
				return
			}
			var fe *failure.Error
			if !errors.As(err, &fe) || fe.Kind != failure.MediaRejected || fe.Field != tc.field || !strings.Contains(fe.Message, tc.rule) {
				t.Fatalf("Check: want media_rejected on %s naming %s, got %+v", tc.field, tc.rule, err)
			}
		})
	}
	// The probe stays small: a 9 MiB file is judged from a ranged read.
	if n := srv.Requests("/big.jpg"); n != 2 {
		t.Errorf("big.jpg fetched %d times", n)
	}
}

func TestInfoIsReported(t *testing.T) {
	t.Parallel()
	c, srv := checker(t)
	srv.Put("/r.mp4", mediatest.File{Body: mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 12 * time.Second}), ContentType: "video/mp4"})
	r := c.Inspect(t.Context(), preflight.Media{Field: "video_url", URL: mediatest.URL("/r.mp4"), Kind: preflight.Reel})
	if !r.Info.Checked || r.Info.Format != "mp4" || r.Info.Width != 1080 || r.Info.Height != 1920 || r.Info.Seconds != 12 || r.Info.Bytes <= 0 || r.Info.ContentType != "video/mp4" {
		t.Fatalf("info %+v", r.Info)
	}
}

func TestOfflineAndOff(t *testing.T) {
	t.Parallel()
	srv := mediatest.Serve(t)
	srv.Put("/a.png", mediatest.File{Body: mediatest.PNG(10, 10)})
	c := preflight.New(preflight.Options{Client: srv.Client(), Offline: true})
	w, err := c.Check(t.Context(), []preflight.Media{{Field: "image_url", URL: mediatest.URL("/a.png"), Kind: preflight.FeedImage}})
	if err != nil || len(w) != 0 || srv.Requests("/a.png") != 0 {
		t.Fatalf("offline checker fetched: %v %v", w, err)
	}
	var off *preflight.Checker // IGMCP_PREFLIGHT=off
	if w, err := off.Check(t.Context(), []preflight.Media{{Field: "image_url", URL: mediatest.URL("/a.png"), Kind: preflight.FeedImage}}); err != nil || w != nil {
		t.Fatal("a nil checker checked")
	}
	for in, want := range map[string]bool{"": true, "on": true, "OFF": false, "0": false} {
		if got, err := preflight.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := preflight.ParseMode("maybe"); err == nil {
		t.Error("ParseMode accepted maybe")
	}
}

// couldNotFetch is the one warning of every failed fetch.
const couldNotFetch = "igmcp could not fetch the media to check it; Instagram may still reach it."

// acceptCounter is a TCP listener on loopback that counts connections: a
// fetch that got through is a connection to this machine.
type acceptCounter struct {
	ln   net.Listener
	hits atomic.Int32
}

func countAccepts(t *testing.T) *acceptCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &acceptCounter{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.hits.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return a
}

// The default client connects only to global unicast addresses, checked on
// the address dialled after resolution; whatever failed, the warning is the
// same sentence, without address, port or error (no port scanner).
func TestDefaultClientRefusesNonPublicDestinations(t *testing.T) {
	t.Parallel()
	lst := countAccepts(t)
	_, port, _ := net.SplitHostPort(lst.ln.Addr().String())
	var lookups atomic.Int32 // the names were resolved by netguard, not the system
	lookup := func(_ context.Context, _, host string) ([]netip.Addr, error) {
		lookups.Add(1)
		ips := map[string]string{
			"cdn.example":    "127.0.0.1",
			"mapped.example": "::ffff:127.0.0.1",
			"zero.example":   "0.0.0.0",
			"meta.example":   "169.254.169.254",
			"cgnat.example":  "100.64.0.1",
			"bench.example":  "198.18.0.1",
			"nat64.example":  "64:ff9b::a9fe:a9fe",
			"ula.example":    "fd00::1",
		}
		if ip, ok := ips[host]; ok {
			return []netip.Addr{netip.MustParseAddr(ip)}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	c := preflight.New(preflight.Options{Network: netguard.Options{Lookup: lookup}})
	var urls []string
	for _, h := range []string{"cdn.example", "mapped.example", "zero.example", "meta.example", "cgnat.example", "bench.example",
		"nat64.example", "ula.example", "127.0.0.1", "[::ffff:127.0.0.1]", "0.0.0.0", "unknown.example"} {
		urls = append(urls, "https://"+h+":"+port+"/a.jpg")
	}
	// Not https: never fetched, whatever the address.
	urls = append(urls, "http://cdn.example:"+port+"/a.jpg", "ftp://cdn.example:"+port+"/a.jpg")
	for _, u := range urls {
		w, err := c.Check(t.Context(), []preflight.Media{{Field: "image_url", URL: u, Kind: preflight.FeedImage}})
		if err != nil || len(w) != 1 || w[0] != "image_url: "+couldNotFetch {
			t.Errorf("%s: warnings %q, err %v", u, w, err)
		}
	}
	if n := lst.hits.Load(); n != 0 {
		t.Fatalf("preflight connected to this machine %d times", n)
	}
	if lookups.Load() < 8 {
		t.Fatalf("only %d names went through the guarded dialer's resolver", lookups.Load())
	}
	// Loopback allowed explicitly (tests only): the same URL connects, so
	// the counter above would have seen a connection that got through.
	lo := preflight.New(preflight.Options{Network: netguard.Options{Lookup: lookup, AllowLoopback: true}})
	_, _ = lo.Check(t.Context(), []preflight.Media{{Field: "image_url", URL: urls[0], Kind: preflight.FeedImage}})
	if lst.hits.Load() == 0 {
		t.Fatal("with loopback allowed, no connection was made: the counter proves nothing")
	}
}

func TestLocalFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := preflight.New(preflight.Options{Offline: true}) // local files are checked even offline
	ok := write("ok.mp4", mediatest.MP4(mediatest.Video{Width: 1080, Height: 1920, Duration: 30 * time.Second, MediaBytes: 3 << 20}))
	if _, err := c.Check(t.Context(), []preflight.Media{{Field: "file_path", Path: ok, Kind: preflight.StoryVideo}}); err != nil {
		t.Fatal(err)
	}
	png := write("x.png", mediatest.PNG(100, 100))
	_, err := c.Check(t.Context(), []preflight.Media{{Field: "file_path", Path: png, Kind: preflight.StoryImage}})
	var fe *failure.Error
	if !errors.As(err, &fe) || fe.Kind != failure.MediaRejected || !strings.Contains(fe.Message, "image.format") {
		t.Fatalf("png story: %v", err)
	}
	_, err = c.Check(t.Context(), []preflight.Media{{Field: "file_path", Path: filepath.Join(dir, "nope.mp4"), Kind: preflight.Reel}})
	if !errors.As(err, &fe) || fe.Kind != failure.InvalidInput || fe.Field != "file_path" {
		t.Fatalf("missing file: %v", err)
	}
	_, err = c.Check(t.Context(), []preflight.Media{{Field: "file_path", Path: dir, Kind: preflight.Reel}})
	if !errors.As(err, &fe) || fe.Kind != failure.InvalidInput {
		t.Fatalf("directory: %v", err)
	}
}
