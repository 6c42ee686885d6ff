// Package mediatest makes real media bytes for tests (JPEG and PNG through
// the standard encoders, ISO BMFF MP4/MOV files box by box) and serves them
// from a loopback HTTPS server under any https://*.example.com URL, so
// tests exercise preflight and publishing without leaving the machine.
package mediatest

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// JPEG encodes a w×h image with image/jpeg.
func JPEG(w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, gradient(w, h), &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// JPEGRotated is JPEG(w, h) with an EXIF APP1 segment saying orientation 6
// (rotated a quarter turn), so it displays h×w.
func JPEGRotated(w, h int) []byte {
	j := JPEG(w, h)
	// TIFF header (little endian) + IFD0 with one entry: 0x0112 SHORT 1 = 6.
	tiff := []byte{'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0}
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	out := append([]byte{}, j[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// PNG encodes a w×h image with image/png.
func PNG(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, gradient(w, h)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func gradient(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = uint8(x*255/max(w, 1)), uint8(y*255/max(h, 1)), 128, 255
		}
	}
	return img
}

// Video describes an MP4/MOV file to build.
type Video struct {
	Width, Height int
	Duration      time.Duration
	Brand         string // major brand, default "isom" ("qt  " makes a MOV)
	MoovLast      bool   // put moov after mdat (not "fast start")
	Rotate90      bool   // a track matrix that turns the picture a quarter
	MediaBytes    int    // size of the mdat payload (default 4096)
	Version1      bool   // 64-bit mvhd/tkhd
}

// MP4 builds an ISO base media file: ftyp, moov (mvhd, an audio trak and a
// video trak with tkhd) and an mdat of filler, in the order asked.
func MP4(v Video) []byte {
	brand := v.Brand
	if brand == "" {
		brand = "isom"
	}
	ftyp := box("ftyp", []byte(brand), u32(512), []byte("isomiso2avc1mp41"))
	const scale = 1000
	dur := uint64(v.Duration / time.Millisecond)
	var mvhd, tkhd []byte
	matrix := identity()
	if v.Rotate90 {
		matrix = rotate90()
	}
	if v.Version1 {
		mvhd = box("mvhd", []byte{1, 0, 0, 0}, u64(0), u64(0), u32(scale), u64(dur), u32(0x00010000), []byte{1, 0}, make([]byte, 10), identity(), make([]byte, 24), u32(2))
		tkhd = box("tkhd", []byte{1, 0, 0, 3}, u64(0), u64(0), u32(1), u32(0), u64(dur), make([]byte, 8), make([]byte, 8), matrix, u32(uint32(v.Width)<<16), u32(uint32(v.Height)<<16))
	} else {
		mvhd = box("mvhd", []byte{0, 0, 0, 0}, u32(0), u32(0), u32(scale), u32(uint32(dur)), u32(0x00010000), []byte{1, 0}, make([]byte, 10), identity(), make([]byte, 24), u32(2))
		tkhd = box("tkhd", []byte{0, 0, 0, 3}, u32(0), u32(0), u32(1), u32(0), u32(uint32(dur)), make([]byte, 8), make([]byte, 8), matrix, u32(uint32(v.Width)<<16), u32(uint32(v.Height)<<16))
	}
	// an audio track first: no picture, so it must not win
	atkhd := box("tkhd", []byte{0, 0, 0, 3}, u32(0), u32(0), u32(2), u32(0), u32(uint32(dur)), make([]byte, 8), []byte{0, 0, 0, 0, 1, 0, 0, 0}, identity(), u32(0), u32(0))
	moov := box("moov", mvhd, box("trak", atkhd), box("trak", tkhd, box("mdia", box("hdlr", make([]byte, 8), []byte("vide"), make([]byte, 13)))))
	n := v.MediaBytes
	if n <= 0 {
		n = 4096
	}
	mdat := box("mdat", bytes.Repeat([]byte{0x42}, n))
	if v.MoovLast {
		return cat(ftyp, mdat, moov)
	}
	return cat(ftyp, moov, mdat)
}

func box(typ string, parts ...[]byte) []byte {
	body := cat(parts...)
	return cat(u32(uint32(8+len(body))), []byte(typ), body)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func identity() []byte {
	return cat(u32(0x00010000), u32(0), u32(0), u32(0), u32(0x00010000), u32(0), u32(0), u32(0), u32(0x40000000))
}

func rotate90() []byte {
	return cat(u32(0), u32(0x00010000), u32(0), u32(0xFFFF0000), u32(0), u32(0), u32(0), u32(0), u32(0x40000000))
}

// File is one file the Server serves.
type File struct {
	Body        []byte
	ContentType string
	// IgnoreRange answers 200 with the whole body to a Range request.
	IgnoreRange bool
	// Status, when set, is answered instead of the file.
	Status int
}

// Server is a loopback HTTPS server for media.
type Server struct {
	TS       *httptest.Server
	mu       sync.Mutex
	fs       map[string]File
	requests map[string]int
}

// Serve starts a Server; Client reaches it under any host.
func Serve(t testing.TB) *Server {
	t.Helper()
	s := &Server{fs: map[string]File{}, requests: map[string]int{}}
	s.TS = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.TS.Close)
	return s
}

// Put makes path (e.g. "/a.jpg") serve f.
func (s *Server) Put(path string, f File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fs[path] = f
}

// Requests is how many requests path got.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.fs[r.URL.Path]
	s.requests[r.URL.Path]++
	s.mu.Unlock()
	switch {
	case !ok:
		http.NotFound(w, r)
		return
	case f.Status != 0:
		w.WriteHeader(f.Status)
		return
	}
	if f.ContentType != "" {
		w.Header().Set("Content-Type", f.ContentType)
	}
	if f.IgnoreRange {
		w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
		_, _ = w.Write(f.Body)
		return
	}
	http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(f.Body))
}

// Client is an HTTP client that trusts the server's certificate and
// connects every request to it, whatever the URL's host: https URLs with
// public-looking hosts (cdn.example.com) stay on loopback.
func (s *Server) Client() *http.Client {
	base := s.TS.Client().Transport.(*http.Transport).Clone()
	addr := s.TS.Listener.Addr().String()
	base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: base, Timeout: 10 * time.Second}
}

// URL is an https URL for path on a public-looking host
// (https://cdn.example.com/…), which Client serves from loopback.
func URL(path string) string { return "https://cdn.example.com/" + strings.TrimPrefix(path, "/") }
