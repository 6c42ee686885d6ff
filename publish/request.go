package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/igmcp/igmcp/argjson"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/localfile"
	"github.com/igmcp/igmcp/preflight"
)

// Kinds of post a Request can carry (the schedule_post kinds).
const (
	KindPost     = "post"
	KindCarousel = "carousel"
	KindReel     = "reel"
	KindStory    = "story"
)

// Request is one publish, of one kind, made exactly once per
// IdempotencyKey: every publishing tool, job and schedule publishes through
// Publisher.Run.
type Request struct {
	Kind     string
	Post     *PostInput
	Carousel *CarouselInput
	Reel     *ReelInput
	Story    *StoryInput
	// IdempotencyKey: the same key (for the same account) returns the same
	// result and never publishes twice, across restarts. Empty: a one-off.
	IdempotencyKey string

	// storedKey: the key was stored by igmcp itself (a schedule's or a
	// job's, see DecodeRequest), so it may carry igmcp's own prefixes.
	storedKey bool
	// valid is what Validate found, so that Run and Scheduler.StartJob do
	// not check the request (and open its file) again.
	valid *checked
}

// postKind is what each kind of post provides to the pipeline; Request.kind
// is the one place that picks it.
type postKind interface {
	// check applies the kind's input rules without calling Instagram and
	// judges a local file_path from its first bytes (nil when none).
	check() (*LocalFile, error)
	// media lists the post's media (URLs and local files) with the JSON
	// path of their argument.
	media() []preflight.Media
	caption() string
	firstComment() string
	// localPath is the file_path argument, "" when the media are URLs.
	localPath() string
	// build creates the post's containers and returns the one to publish
	// (with a carousel's items).
	build(ctx context.Context, b *builder) (*graph.Container, []string, mediaKind, error)
}

// builder is what building a request's containers needs.
type builder struct {
	p        *Publisher
	a        *Account
	deadline time.Time
	progress func(Progress)
	local    Local
	file     *LocalFile // the checked file_path, nil for URL media
}

// kind is the request's postKind: the input of r.Kind, which must be set.
func (r *Request) kind() (postKind, error) {
	switch {
	case r.Kind == KindPost && r.Post != nil:
		return r.Post, nil
	case r.Kind == KindCarousel && r.Carousel != nil:
		return r.Carousel, nil
	case r.Kind == KindReel && r.Reel != nil:
		return r.Reel, nil
	case r.Kind == KindStory && r.Story != nil:
		return r.Story, nil
	}
	return nil, failure.Invalid("kind", "unsupported post kind %q", r.Kind)
}

// DecodeRequest builds a Request from a kind and the JSON arguments of that
// kind's tool (as schedule_post stores them). Unknown fields are refused.
// key is a key igmcp stored itself (a schedule's or a job's, "" for none):
// it is not checked as a caller's key.
func DecodeRequest(kind string, args json.RawMessage, key string) (Request, error) {
	r := Request{Kind: kind, IdempotencyKey: key, storedKey: true}
	var target any
	switch kind {
	case KindPost:
		r.Post = new(PostInput)
		target = r.Post
	case KindCarousel:
		r.Carousel = new(CarouselInput)
		target = r.Carousel
	case KindReel:
		r.Reel = new(ReelInput)
		target = r.Reel
	case KindStory:
		r.Story = new(StoryInput)
		target = r.Story
	default:
		return r, failure.Invalid("kind", "kind must be post, carousel, reel or story, got %q", kind)
	}
	if len(bytes.TrimSpace(args)) == 0 {
		args = []byte("{}")
	}
	// Fields are named relative to the post (user_tags[0].x); a caller
	// that takes the post under a name puts it in front (scheduler.UnderPost).
	if err := argjson.Decode(args, target); err != nil {
		return r, err
	}
	return r, nil
}

// Validate checks everything about the request that needs no Graph call:
// the caller's idempotency key, the kind's input rules, and a local
// file_path (opened, its first bytes judged). A request is checked once:
// after Validate passed, Validate and Run do not check it again (unless its
// kind, key or input was replaced since). Run checks a request that was not
// validated itself.
func (r *Request) Validate() error {
	_, err := r.checkOnce()
	return err
}

// checked is a request that passed check: its kind and its local file.
type checked struct {
	kind postKind
	file *LocalFile
	of   fingerprint
}

// fingerprint tells whether a request is still the one that was checked.
type fingerprint struct {
	kind, key string
	in        postKind
}

func (r *Request) fingerprint() fingerprint {
	k, _ := r.kind()
	return fingerprint{r.Kind, r.IdempotencyKey, k}
}

func (r *Request) checkOnce() (checked, error) {
	if r.valid != nil && r.valid.of == r.fingerprint() {
		return *r.valid, nil
	}
	c, err := r.check()
	if err != nil {
		return checked{}, err
	}
	r.valid = &c
	return c, nil
}

func (r *Request) check() (checked, error) {
	if r.IdempotencyKey != "" && !r.storedKey {
		if err := CheckIdempotencyKey(r.IdempotencyKey); err != nil {
			return checked{}, err
		}
	}
	k, err := r.kind()
	if err != nil {
		return checked{}, err
	}
	f, err := k.check()
	if err != nil {
		return checked{}, err
	}
	return checked{kind: k, file: f, of: r.fingerprint()}, nil
}

// Media lists the request's media, each with the JSON path of its
// argument: URLs for preflight, local files with their Path.
func (r *Request) Media() []preflight.Media {
	k, err := r.kind()
	if err != nil {
		return nil
	}
	return k.media()
}

// FilePath is the request's local file_path, "" when its media are URLs.
func (r *Request) FilePath() string {
	k, err := r.kind()
	if err != nil {
		return ""
	}
	return k.localPath()
}

// Digest identifies what the request publishes — kind, input, draft or
// not, and the content of a local file (SHA-256) — so that a key reused for
// other content is refused, also when another file was put at the same
// file_path. The request is checked first (as Validate).
func (r *Request) Digest(o Options) (string, error) {
	c, err := r.checkOnce()
	if err != nil {
		return "", err
	}
	return c.digest(r.Kind, o)
}

// digest is Digest of a checked request. Requests without a file digest
// as they always have, so keys recorded by earlier versions still match.
func (c checked) digest(kind string, o Options) (string, error) {
	sum := ""
	if c.file != nil {
		var err error
		if sum, err = fileSHA256(c.file.Path); err != nil {
			return "", failure.Invalid(c.file.Field, "cannot read %s: %v", c.file.Path, err)
		}
	}
	b, err := json.Marshal(struct {
		Kind  string `json:"kind"`
		Draft bool   `json:"draft"`
		In    any    `json:"in"`
		File  string `json:"file_sha256,omitempty"`
	}{kind, o.Draft, c.kind, sum})
	if err != nil {
		return "", fmt.Errorf("publish: digest: %w", err)
	}
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:]), nil
}

// fileSHA256 hashes a file's content. Local files are at most 300 MiB
// (check refuses larger ones first), and hashing costs less than the
// upload that follows.
func fileSHA256(path string) (string, error) {
	f, err := localfile.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
