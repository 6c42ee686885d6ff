// Package publish runs Instagram's container lifecycle — create, wait until
// FINISHED, publish, first comment — as one call, for tools and (later) the
// scheduler alike. It knows nothing of MCP.
package publish

import (
	"context"
	"fmt"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight"
)

// UserTag tags a person in an image or video at (x, y), fractions of the width
// and height from the top-left corner. Story tags may leave the position
// out (docs/graph-api.md §2).
type UserTag struct {
	Username string   `json:"username" jsonschema_description:"No '@'."`
	X        *float64 `json:"x,omitempty" jsonschema:"minimum=0,maximum=1" jsonschema_description:"From left."`
	Y        *float64 `json:"y,omitempty" jsonschema:"minimum=0,maximum=1" jsonschema_description:"From top."`
}

// Labels are a post's disclosure labels (docs/graph-api.md §2): Instagram's
// AI info label, and the paid partnership label (Facebook Login only) with
// the brands it names.
type Labels struct {
	AIGenerated     bool     `json:"is_ai_generated,omitempty" jsonschema_description:"AI info label."`
	PaidPartnership bool     `json:"is_paid_partnership,omitempty" jsonschema_description:"Paid partnership label (Facebook Login)."`
	SponsorIDs      []string `json:"sponsor_ids,omitempty" jsonschema:"maxItems=2" jsonschema_description:"Brand account ids."`
}

// Common are the publish arguments every post kind shares (docs/reference.md §3).
type Common struct {
	Caption       string   `json:"caption,omitempty" jsonschema_description:"≤2200 chars, ≤5 #hashtags, ≤20 @mentions."`
	LocationID    string   `json:"location_id,omitempty" jsonschema_description:"Place's Facebook Page id."`
	Collaborators []string `json:"collaborators,omitempty" jsonschema:"maxItems=3" jsonschema_description:"Usernames to invite."`
	FirstComment  string   `json:"first_comment,omitempty" jsonschema_description:"Posted as first comment."`
	Labels
}

// PostInput is one image post.
type PostInput struct {
	ImageURL string    `json:"image_url" jsonschema_description:"Public https JPEG, ≤8 MiB, aspect 4:5 to 1.91:1."`
	AltText  string    `json:"alt_text,omitempty" jsonschema_description:"≤1000 chars."`
	UserTags []UserTag `json:"user_tags,omitempty" jsonschema_description:"People to tag."`
	Common
}

// CarouselItem is one image or video of a carousel.
type CarouselItem struct {
	ImageURL string    `json:"image_url,omitempty" jsonschema_description:"Public https JPEG."`
	VideoURL string    `json:"video_url,omitempty" jsonschema_description:"Public https MP4/MOV."`
	AltText  string    `json:"alt_text,omitempty" jsonschema_description:"Images only."`
	UserTags []UserTag `json:"user_tags,omitempty" jsonschema_description:"People to tag."`
}

// CarouselInput is a carousel (album) of 2–10 items.
type CarouselInput struct {
	Items []CarouselItem `json:"items" jsonschema:"minItems=2,maxItems=10" jsonschema_description:"All cropped to the first one's aspect."`
	Common
}

// ReelInput is a Reel.
type ReelInput struct {
	VideoURL    string     `json:"video_url,omitempty" jsonschema_description:"Public https MP4/MOV, 3 s–15 min, ≤300 MB."`
	CoverURL    string     `json:"cover_url,omitempty" jsonschema_description:"Public https JPEG; wins over thumb_offset."`
	ThumbOffset *int       `json:"thumb_offset,omitempty" jsonschema:"minimum=0" jsonschema_description:"Cover frame, ms from start."`
	ShareToFeed *bool      `json:"share_to_feed,omitempty" jsonschema_description:"Also in the feed; default true."`
	AudioName   string     `json:"audio_name,omitempty" jsonschema_description:"Original audio's name."`
	UserTags    []UserTag  `json:"user_tags,omitempty" jsonschema_description:"People to tag."`
	FilePath    string     `json:"file_path,omitempty" jsonschema_description:"Absolute path of a local MP4/MOV."`
	Trial       *TrialReel `json:"trial_params,omitempty" jsonschema_description:"Trial Reel: shown to non-followers first."`
	Common
}

func graphTags(in []UserTag) []graph.UserTag {
	if len(in) == 0 {
		return nil
	}
	out := make([]graph.UserTag, len(in))
	for i, t := range in {
		out[i] = graph.UserTag{Username: t.Username, X: t.X, Y: t.Y}
	}
	return out
}

func (l Labels) graph() graph.Labels {
	return graph.Labels{AIGenerated: l.AIGenerated, PaidPartnership: l.PaidPartnership, SponsorIDs: l.SponsorIDs}
}

// KeyReused is the refusal of an idempotency key given again with other
// content: the ledger's, the in-flight guard's and the background jobs'.
func KeyReused() error {
	return failure.Invalid("idempotency_key", "this idempotency_key was already used for a different post; use a new key for new content")
}

// checkLabels refuses, before any Graph call, a label the account's login
// type cannot set: the paid partnership label exists only with Facebook
// Login (docs/graph-api.md §1).
func (r *Request) checkLabels(a *Account) error {
	if a.Login != auth.LoginInstagram {
		return nil
	}
	k, err := r.kind()
	if err != nil {
		return err
	}
	if in, ok := k.(interface{ labels() *Labels }); ok && in.labels().PaidPartnership {
		e := failure.Invalid("is_paid_partnership", "the paid partnership label can be set through the API only with Facebook Login, and this account uses Instagram Login")
		e.Action = "Leave is_paid_partnership and sponsor_ids out and add the label in the Instagram app after publishing, or publish from an account connected through Facebook Login."
		return e
	}
	return nil
}

func (c *Common) labels() *Labels      { return &c.Labels }
func (in *StoryInput) labels() *Labels { return &in.Labels }
func (c *Common) caption() string      { return c.Caption }
func (c *Common) firstComment() string { return c.FirstComment }

func (c Common) apply(r *graph.ContainerRequest) {
	r.Caption = c.Caption
	r.LocationID = c.LocationID
	r.Collaborators = c.Collaborators
	r.Labels = c.Labels.graph()
}

func (in *PostInput) request() *graph.ContainerRequest {
	r := &graph.ContainerRequest{ImageURL: in.ImageURL, AltText: in.AltText, UserTags: graphTags(in.UserTags)}
	in.Common.apply(r)
	return r
}

func (it *CarouselItem) request() *graph.ContainerRequest {
	r := &graph.ContainerRequest{IsCarouselItem: true, UserTags: graphTags(it.UserTags)}
	if it.VideoURL != "" {
		r.MediaType = graph.MediaTypeVideo
		r.VideoURL = it.VideoURL
	} else {
		r.ImageURL = it.ImageURL
		r.AltText = it.AltText
	}
	return r
}

func (in *ReelInput) request() *graph.ContainerRequest {
	r := &graph.ContainerRequest{
		MediaType: graph.MediaTypeReels, VideoURL: in.VideoURL, CoverURL: in.CoverURL,
		ThumbOffset: in.ThumbOffset, ShareToFeed: in.ShareToFeed, AudioName: in.AudioName,
		UserTags: graphTags(in.UserTags),
	}
	if in.Trial != nil {
		r.TrialParams = &graph.TrialParams{GraduationStrategy: in.Trial.GraduationStrategy}
	}
	in.Common.apply(r)
	return r
}

func (in *PostInput) localPath() string { return "" }

func (in *PostInput) media() []preflight.Media {
	if in.ImageURL == "" {
		return nil
	}
	return []preflight.Media{{Field: "image_url", URL: in.ImageURL, Kind: preflight.FeedImage}}
}

func (in *PostInput) build(ctx context.Context, b *builder) (*graph.Container, []string, mediaKind, error) {
	c, err := b.p.create(ctx, b.a, in.request(), "")
	return c, nil, kindImage, err
}

func (in *CarouselInput) localPath() string { return "" }

func (in *CarouselInput) media() []preflight.Media {
	var out []preflight.Media
	for i, it := range in.Items {
		switch {
		case it.VideoURL != "":
			out = append(out, preflight.Media{Field: fmt.Sprintf("items[%d].video_url", i), URL: it.VideoURL, Kind: preflight.CarouselVideo})
		case it.ImageURL != "":
			out = append(out, preflight.Media{Field: fmt.Sprintf("items[%d].image_url", i), URL: it.ImageURL, Kind: preflight.FeedImage})
		}
	}
	return out
}

func (in *CarouselInput) build(ctx context.Context, b *builder) (*graph.Container, []string, mediaKind, error) {
	return b.p.buildCarousel(ctx, b.a, in, b.deadline, b.progress)
}

func (in *ReelInput) localPath() string { return in.FilePath }

func (in *ReelInput) media() []preflight.Media {
	var out []preflight.Media
	switch {
	case in.FilePath != "":
		out = append(out, preflight.Media{Field: "file_path", Path: in.FilePath, Kind: preflight.Reel})
	case in.VideoURL != "":
		out = append(out, preflight.Media{Field: "video_url", URL: in.VideoURL, Kind: preflight.Reel})
	}
	if in.CoverURL != "" {
		out = append(out, preflight.Media{Field: "cover_url", URL: in.CoverURL, Kind: preflight.Cover})
	}
	return out
}

// build creates the Reel's container; a file_path video is uploaded into
// it (resumable upload).
func (in *ReelInput) build(ctx context.Context, b *builder) (*graph.Container, []string, mediaKind, error) {
	if b.file != nil {
		c, err := b.p.createAndUpload(ctx, b.a, in.request(), b.file, b.local)
		return c, nil, kindVideo, err
	}
	c, err := b.p.create(ctx, b.a, in.request(), "")
	return c, nil, kindVideo, err
}
