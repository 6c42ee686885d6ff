package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/igmcp/igmcp/failure"
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
// IdempotencyKey: tools, jobs and the scheduler all publish through Run.
type Request struct {
	Kind     string
	Post     *PostInput
	Carousel *CarouselInput
	Reel     *ReelInput
	Story    *StoryInput
	// IdempotencyKey: the same key (for the same account) returns the same
	// result and never publishes twice, across restarts. Empty: a one-off.
	IdempotencyKey string
}

// DecodeRequest builds a Request from a kind and the JSON arguments of that
// kind's tool (as schedule_post stores them). Unknown fields are refused.
func DecodeRequest(kind string, args json.RawMessage, key string) (Request, error) {
	r := Request{Kind: kind, IdempotencyKey: key}
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
	if err := strictJSON(args, target); err != nil {
		return r, failure.Invalid("post", "%v", err)
	}
	return r, nil
}

// Media lists the request's media for preflight, each with the JSON path of
// its argument. Local files are not listed: Validate reads them anyway.
func (r *Request) Media() []preflight.Media {
	var out []preflight.Media
	add := func(field, url string, k preflight.Kind) {
		if url != "" {
			out = append(out, preflight.Media{Field: field, URL: url, Kind: k})
		}
	}
	switch {
	case r.Kind == KindPost && r.Post != nil:
		add("image_url", r.Post.ImageURL, preflight.FeedImage)
	case r.Kind == KindCarousel && r.Carousel != nil:
		for i, it := range r.Carousel.Items {
			add(fmt.Sprintf("items[%d].image_url", i), it.ImageURL, preflight.FeedImage)
			add(fmt.Sprintf("items[%d].video_url", i), it.VideoURL, preflight.CarouselVideo)
		}
	case r.Kind == KindReel && r.Reel != nil:
		add("video_url", r.Reel.VideoURL, preflight.Reel)
		add("cover_url", r.Reel.CoverURL, preflight.Cover)
	case r.Kind == KindStory && r.Story != nil && r.Story.FilePath == "":
		out = r.Story.Media()
	}
	return out
}

// Validate checks the request's input without calling Instagram.
func (r *Request) Validate() error {
	switch {
	case r.Kind == KindPost && r.Post != nil:
		return r.Post.Validate()
	case r.Kind == KindCarousel && r.Carousel != nil:
		return r.Carousel.Validate()
	case r.Kind == KindReel && r.Reel != nil:
		return r.Reel.Validate()
	case r.Kind == KindStory && r.Story != nil:
		return r.Story.Validate()
	}
	return failure.Invalid("kind", "unsupported post kind %q", r.Kind)
}

// Digest identifies the request's content, so a key reused for a different
// post is caught.
func (r *Request) Digest(o Options) string {
	var in any
	switch r.Kind {
	case KindPost:
		in = r.Post
	case KindCarousel:
		in = r.Carousel
	case KindReel:
		in = r.Reel
	case KindStory:
		in = r.Story
	}
	b, _ := json.Marshal(struct {
		Kind  string `json:"kind"`
		Draft bool   `json:"draft"`
		In    any    `json:"in"`
	}{r.Kind, o.Draft, in})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (r *Request) caption() string {
	switch {
	case r.Post != nil:
		return r.Post.Caption
	case r.Carousel != nil:
		return r.Carousel.Caption
	case r.Reel != nil:
		return r.Reel.Caption
	}
	return ""
}

func (r *Request) firstComment() string {
	switch {
	case r.Post != nil:
		return r.Post.FirstComment
	case r.Carousel != nil:
		return r.Carousel.FirstComment
	case r.Reel != nil:
		return r.Reel.FirstComment
	}
	return ""
}
