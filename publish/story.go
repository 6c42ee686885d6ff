package publish

import (
	"context"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight"
)

// StoryInput is a Story: one image or one video, from a public URL or a
// local file. Stories have no caption, collaborators or first comment
// (Instagram does not support them on stories).
type StoryInput struct {
	ImageURL string    `json:"image_url,omitempty" jsonschema_description:"Public https JPEG URL."`
	VideoURL string    `json:"video_url,omitempty" jsonschema_description:"Public https MP4/MOV URL (3–60 s)."`
	FilePath string    `json:"file_path,omitempty" jsonschema_description:"Local JPEG or MP4/MOV (absolute path) instead."`
	UserTags []UserTag `json:"user_tags,omitempty" jsonschema_description:"People to tag."`
}

// Validate checks the story without calling Instagram; a file_path is
// opened and its first bytes checked (format, size, duration, aspect).
func (in *StoryInput) Validate() error {
	n := 0
	for _, s := range []string{in.ImageURL, in.VideoURL, in.FilePath} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return failure.Invalid("image_url", "a story needs image_url, video_url or file_path")
	case n > 1:
		return failure.Invalid("image_url", "give exactly one of image_url, video_url and file_path")
	case in.ImageURL != "":
		if err := checkMediaURL("image_url", in.ImageURL, true); err != nil {
			return err
		}
	case in.VideoURL != "":
		if err := checkMediaURL("video_url", in.VideoURL, true); err != nil {
			return err
		}
	default:
		if _, err := in.LocalFile(); err != nil {
			return err
		}
	}
	return checkUserTags("user_tags", in.UserTags)
}

// LocalFile checks and describes the story's file_path (nil without one).
func (in *StoryInput) LocalFile() (*LocalFile, error) {
	if in.FilePath == "" {
		return nil, nil
	}
	return CheckLocalFile("file_path", in.FilePath, preflight.StoryImage, preflight.StoryVideo)
}

// IsVideo reports whether the story is a video (video_url, or a video
// file_path).
func (in *StoryInput) IsVideo() bool {
	return in.VideoURL != "" || (in.FilePath != "" && isVideoFile(in.FilePath))
}

// Media lists the story's media for preflight.
func (in *StoryInput) Media() []preflight.Media {
	switch {
	case in.ImageURL != "":
		return []preflight.Media{{Field: "image_url", URL: in.ImageURL, Kind: preflight.StoryImage}}
	case in.VideoURL != "":
		return []preflight.Media{{Field: "video_url", URL: in.VideoURL, Kind: preflight.StoryVideo}}
	case in.FilePath != "":
		k := preflight.StoryImage
		if in.IsVideo() {
			k = preflight.StoryVideo
		}
		return []preflight.Media{{Field: "file_path", Path: in.FilePath, Kind: k}}
	}
	return nil
}

// request is the container for a URL story (media_type=STORIES).
func (in *StoryInput) request() *graph.ContainerRequest {
	return &graph.ContainerRequest{MediaType: graph.MediaTypeStories, ImageURL: in.ImageURL, VideoURL: in.VideoURL, UserTags: graphTags(in.UserTags)}
}

// Story publishes a story exactly once per idempotency key (an empty key
// is a one-off), through the same ledger, quota check, wait and
// reconciliation as Run. A video file is uploaded (progress to
// l.Upload.Progress); an image file is staged with l.Stager and the staged
// copy is removed once Instagram has fetched it.
func (p *Publisher) Story(ctx context.Context, a *Account, in *StoryInput, key string, o Options, l Local) (*Result, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.FilePath != "" && !in.IsVideo() && l.Stager == nil {
		return nil, NoStagingError("file_path")
	}
	digest := p.storyDigest(in, o)
	build := func(ctx context.Context, deadline time.Time) (*graph.Container, []string, mediaKind, error) {
		return p.buildStory(ctx, a, in, deadline, o.Progress, l)
	}
	return p.runLocal(ctx, a, key, digest, "", "", build, o, true)
}

// storyDigest is Request{Kind: KindStory, Story: in}.Digest(o), with a
// local file identified by path, size and modification time.
func (p *Publisher) storyDigest(in *StoryInput, o Options) string {
	if in.FilePath == "" {
		return digestOf(KindStory, o.Draft, in)
	}
	cp := *in
	cp.FilePath = fileIdentity(in.FilePath)
	return digestOf(KindStory, o.Draft, &cp)
}

// buildStory creates the story's container: from a URL directly; from a
// video file by resumable upload; from an image file by staging it, then
// waiting (images take seconds) until Instagram has fetched it, so the
// staged copy can be removed.
func (p *Publisher) buildStory(ctx context.Context, a *Account, in *StoryInput, deadline time.Time, progress func(Progress), l Local) (*graph.Container, []string, mediaKind, error) {
	kind := kindImage
	if in.IsVideo() {
		kind = kindVideo
	}
	if in.FilePath == "" {
		c, err := p.create(ctx, a, in.request(), "")
		return c, nil, kind, err
	}
	f, err := in.LocalFile()
	if err != nil {
		return nil, nil, kind, err
	}
	req := &graph.ContainerRequest{MediaType: graph.MediaTypeStories, UserTags: graphTags(in.UserTags)}
	if f.Video {
		c, err := p.createAndUpload(ctx, a, req, f, "file_path", l)
		return c, nil, kindVideo, err
	}
	u, remove, err := stageImage(ctx, l, "file_path", f.Path)
	if err != nil {
		return nil, nil, kindImage, err
	}
	req.ImageURL = u
	c, err := p.create(ctx, a, req, "")
	if err != nil {
		_ = remove(context.WithoutCancel(ctx))
		return nil, nil, kindImage, err
	}
	st, werr := p.wait(ctx, a, c, kindImage, deadline, progress)
	if werr == nil && st.StatusCode != graph.StatusInProgress && st.StatusCode != "" {
		// Fetched (or failed for good): the staged copy has done its job.
		// Still processing at the deadline, it stays until its URL expires.
		if rerr := remove(context.WithoutCancel(ctx)); rerr != nil {
			p.log.Warn("could not remove a staged file", "container", c.ID, "err", rerr)
		}
		return st, nil, kindImage, nil
	}
	return c, nil, kindImage, nil
}
