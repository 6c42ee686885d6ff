package graph_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
)

// dropProxy stands in front of the fake Graph API. For the upload request
// number dropOn (1-based) it hands the fake only the first keep bytes of the
// body (what crossed the wire before the link died), then closes the
// client's connection without an answer. It records, per upload request,
// the offset header and the bytes the fake accepted, so a test can rebuild
// the file exactly as Instagram would hold it.
type dropProxy struct {
	fake   *fakegraph.Server
	dropOn int
	keep   int64

	mu       sync.Mutex
	uploads  int
	offsets  []int64
	received bytes.Buffer // bytes the fake accepted, in order
}

func (p *dropProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.URL.Path, "/ig-api-upload/") {
		p.fake.ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	p.uploads++
	n := p.uploads
	off, _ := strconv.ParseInt(r.Header.Get("offset"), 10, 64)
	p.offsets = append(p.offsets, off)
	p.mu.Unlock()

	if n == p.dropOn {
		part := make([]byte, p.keep)
		got, _ := io.ReadFull(r.Body, part)
		part = part[:got]
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(part))
		r2.ContentLength = int64(len(part))
		rec := httptest.NewRecorder()
		p.fake.ServeHTTP(rec, r2)
		if rec.Code == 200 {
			p.mu.Lock()
			p.received.Write(part)
			p.mu.Unlock()
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	body, _ := io.ReadAll(r.Body)
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	p.fake.ServeHTTP(rec, r2)
	if rec.Code == 200 {
		p.mu.Lock()
		p.received.Write(body)
		p.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func uploadEnv(t *testing.T, p *dropProxy) (*graph.Client, *fakegraph.Server) {
	t.Helper()
	fake := fakegraph.New(fakegraph.Options{})
	p.fake = fake
	ts := httptest.NewServer(p)
	t.Cleanup(ts.Close)
	c, err := graph.NewClient(graph.WithBaseURL(ts.URL),
		graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fakegraph.DefaultAccount.Token})),
		graph.WithRetryPolicy(graph.RetryPolicy{MaxTries: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

func resumableReel(t *testing.T, c *graph.Client) *graph.Container {
	t.Helper()
	ct, _, err := c.CreateContainer(t.Context(), fakegraph.DefaultAccount.ID, &graph.ContainerRequest{MediaType: graph.MediaTypeReels, UploadType: "resumable"})
	if err != nil {
		t.Fatal(err)
	}
	if ct.URI == "" {
		t.Fatalf("no upload uri: %+v", ct)
	}
	return ct
}

func randomFile(size int) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func uploaded(t *testing.T, fake *fakegraph.Server, id string) fakegraph.Container {
	t.Helper()
	for _, c := range fake.Containers() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("container %s unknown", id)
	return fakegraph.Container{}
}

// A 6 MiB upload whose connection dies after 2.5 MiB resumes with offset =
// the bytes Instagram holds (read from video_status), sends only the rest,
// and Instagram ends up with exactly the file.
func TestUpload_DroppedConnectionResumesFromHeldOffset(t *testing.T) {
	t.Parallel()
	const size = 6 << 20
	const keep = 5 << 19 // 2.5 MiB
	p := &dropProxy{dropOn: 1, keep: keep}
	c, fake := uploadEnv(t, p)
	ct := resumableReel(t, c)
	file := randomFile(size)

	var mu sync.Mutex
	var marks []int64
	res, err := c.UploadToContainer(t.Context(), ct, bytes.NewReader(file), size, graph.UploadOptions{
		RetryWait: time.Millisecond,
		Progress: func(sent, total int64) {
			if total != size {
				t.Errorf("progress total %d", total)
			}
			mu.Lock()
			marks = append(marks, sent)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 2 || res.Resumes != 1 || res.Size != size {
		t.Fatalf("result %+v, want 2 requests, 1 resume", res)
	}
	if len(p.offsets) != 2 || p.offsets[0] != 0 || p.offsets[1] != keep {
		t.Fatalf("offsets sent %v, want [0 %d]", p.offsets, keep)
	}
	if got, want := sha256.Sum256(p.received.Bytes()), sha256.Sum256(file); got != want || p.received.Len() != size {
		t.Fatalf("Instagram holds %d bytes that differ from the file", p.received.Len())
	}
	if st := uploaded(t, fake, ct.ID); !st.Uploaded {
		t.Fatalf("container not uploaded: %+v", st)
	}
	if marks[len(marks)-1] != size {
		t.Fatalf("last progress %d, want %d", marks[len(marks)-1], size)
	}
	// The resume point was announced: progress went back to what Instagram held.
	found := false
	for _, m := range marks {
		found = found || m == keep
	}
	if !found {
		t.Fatalf("progress never reported the resume offset %d", keep)
	}
	// Upload requests carried the documented headers.
	for _, call := range fake.Calls() {
		if strings.Contains(call.Path, "ig-api-upload") {
			if call.TokenSource != "oauth" || call.Header.Get("File_size") != strconv.Itoa(size) {
				t.Fatalf("upload call %+v: want Authorization: OAuth and file_size", call)
			}
		}
	}
}

// The answer is lost after Instagram got every byte: the container says so
// and no byte is sent twice.
func TestUpload_LostAnswerAfterCompleteUpload(t *testing.T) {
	t.Parallel()
	const size = 3 << 20
	p := &dropProxy{dropOn: 1, keep: size}
	c, fake := uploadEnv(t, p)
	ct := resumableReel(t, c)
	res, err := c.UploadToContainer(t.Context(), ct, bytes.NewReader(randomFile(size)), size, graph.UploadOptions{RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 1 || p.uploads != 1 {
		t.Fatalf("%d upload requests, want 1 (%+v)", p.uploads, res)
	}
	if !uploaded(t, fake, ct.ID).Uploaded {
		t.Fatal("not uploaded")
	}
}

func TestUpload_ChunksCarryOffsets(t *testing.T) {
	t.Parallel()
	const size = 5<<19 + 123 // 2.5 MiB + 123 bytes
	p := &dropProxy{}
	c, fake := uploadEnv(t, p)
	ct := resumableReel(t, c)
	file := randomFile(size)
	res, err := c.UploadToContainer(t.Context(), ct, bytes.NewReader(file), size, graph.UploadOptions{ChunkSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 3 || len(p.offsets) != 3 || p.offsets[1] != 1<<20 || p.offsets[2] != 2<<20 {
		t.Fatalf("offsets %v (%+v)", p.offsets, res)
	}
	if !bytes.Equal(p.received.Bytes(), file) || !uploaded(t, fake, ct.ID).Uploaded {
		t.Fatal("file not received intact")
	}
}

func TestUpload_RefusesForeignHostAndNonResumable(t *testing.T) {
	t.Parallel()
	p := &dropProxy{}
	c, fake := uploadEnv(t, p)
	before := len(fake.Calls())
	_, err := c.Upload(t.Context(), "https://uploads.example.net/ig-api-upload/v25.0/1", bytes.NewReader([]byte("x")), 1, nil)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("foreign host: %v", err)
	}
	if len(fake.Calls()) != before {
		t.Fatal("a request was sent to a foreign host")
	}
	// An image container does not take an upload: Instagram's refusal is
	// final, not retried.
	img, _, err := c.CreateContainer(t.Context(), fakegraph.DefaultAccount.ID, &graph.ContainerRequest{ImageURL: "https://cdn.example.com/a.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	uri := resumableReel(t, c).URI
	uri = uri[:strings.LastIndex(uri, "/")+1] + img.ID
	_, err = c.Upload(t.Context(), uri, bytes.NewReader([]byte("abc")), 3, &graph.UploadOptions{ContainerID: img.ID, RetryWait: time.Millisecond})
	var ue *graph.UploadError
	if !errors.As(err, &ue) || ue.Retriable || p.uploads != 1 {
		t.Fatalf("want one non-retriable UploadError, got %v after %d uploads", err, p.uploads)
	}
}

func TestUpload_GivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	p := &dropProxy{}
	c, fake := uploadEnv(t, p)
	ct := resumableReel(t, c)
	fake.Inject(fakegraph.Fault{PathSuffix: ct.ID, Method: "POST", Action: fakegraph.FaultHTTP500})
	_, err := c.UploadToContainer(t.Context(), ct, bytes.NewReader([]byte("abcdef")), 6, graph.UploadOptions{MaxAttempts: 3, RetryWait: time.Millisecond})
	var ue *graph.UploadError
	if !errors.As(err, &ue) || !ue.Retriable || p.uploads != 3 {
		t.Fatalf("want a retriable UploadError after 3 uploads, got %v after %d", err, p.uploads)
	}
}

func TestUpload_Cancelled(t *testing.T) {
	t.Parallel()
	p := &dropProxy{dropOn: 1, keep: 10}
	c, _ := uploadEnv(t, p)
	ct := resumableReel(t, c)
	ctx, cancel := context.WithCancel(t.Context())
	_, err := c.UploadToContainer(ctx, ct, bytes.NewReader(randomFile(1<<20)), 1<<20, graph.UploadOptions{RetryWait: time.Hour, Progress: func(sent, _ int64) {
		if sent > 0 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}
