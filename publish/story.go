package publish

import (
	"context"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/preflight"
)

// StoryInput is a Story: one image or one video, from a public URL or a
// local file. Stories have no caption, collaborators or first comment
// (Instagram does not support them on stories).
type StoryInput struct {
	ImageURL string    `json:"image_url,omitempty" jsonschema_description:"Public https JPEG."`
	VideoURL string    `json:"video_url,omitempty" jsonschema_description:"Public https MP4/MOV, 3–60 s."`
	FilePath string    `json:"file_path,omitempty" jsonschema_description:"Absolute path of a local JPEG/MP4/MOV."`
	UserTags []UserTag `json:"user_tags,omitempty" jsonschema_description:"People to tag."`
	Labels
}

// Validate checks the story without calling Instagram; a file_path is
// opened and its first bytes checked (format, size, duration, aspect).
func (in *StoryInput) Validate() error {
	_, err := in.check()
	return err
}

func (in *StoryInput) check() (*LocalFile, error) {
	n := 0
	for _, s := range []string{in.ImageURL, in.VideoURL, in.FilePath} {
		if s != "" {
			n++
		}
	}
	var f *LocalFile
	switch {
	case n == 0:
		return nil, failure.Invalid("image_url", "a story needs image_url, video_url or file_path")
	case n > 1:
		return nil, failure.Invalid("image_url", "give exactly one of image_url, video_url and file_path")
	case in.ImageURL != "":
		if err := checkMediaURL("image_url", in.ImageURL, true); err != nil {
			return nil, err
		}
	case in.VideoURL != "":
		if err := checkMediaURL("video_url", in.VideoURL, true); err != nil {
			return nil, err
		}
	default:
		var err error
		if f, err = checkLocalFile("file_path", in.FilePath, preflight.StoryImage, preflight.StoryVideo); err != nil {
			return nil, err
		}
	}
	if err := checkUserTags("user_tags", in.UserTags, false); err != nil {
		return nil, err
	}
	return f, in.Labels.validate("")
}

// IsVideo reports whether the story is a video (video_url, or a video
// file_path).
func (in *StoryInput) IsVideo() bool {
	return in.VideoURL != "" || (in.FilePath != "" && isVideoFile(in.FilePath))
}

func (in *StoryInput) caption() string      { return "" }
func (in *StoryInput) firstComment() string { return "" }
func (in *StoryInput) localPath() string    { return in.FilePath }

func (in *StoryInput) media() []preflight.Media {
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

// build creates the story's container: from a URL directly; from a video
// file by resumable upload; from an image file by staging it, then waiting
// (images take seconds) until Instagram has fetched it, so the staged copy
// can be removed.
func (in *StoryInput) build(ctx context.Context, b *builder) (*graph.Container, []string, mediaKind, error) {
	req := &graph.ContainerRequest{MediaType: graph.MediaTypeStories, ImageURL: in.ImageURL, VideoURL: in.VideoURL, UserTags: graphTags(in.UserTags), Labels: in.Labels.graph()}
	switch {
	case b.file == nil:
		kind := kindImage
		if in.VideoURL != "" {
			kind = kindVideo
		}
		c, err := b.p.create(ctx, b.a, req, "")
		return c, nil, kind, err
	case b.file.Video:
		c, err := b.p.createAndUpload(ctx, b.a, req, b.file, b.local)
		return c, nil, kindVideo, err
	}
	u, remove, err := stageImage(ctx, b.local, b.file)
	if err != nil {
		return nil, nil, kindImage, err
	}
	req.ImageURL = u
	c, err := b.p.create(ctx, b.a, req, "")
	if err != nil {
		_ = remove(context.WithoutCancel(ctx))
		return nil, nil, kindImage, err
	}
	st, werr := b.p.wait(ctx, b.a, c, kindImage, b.deadline, b.progress)
	if werr == nil && st.StatusCode != graph.StatusInProgress && st.StatusCode != "" {
		// Fetched (or failed for good): the staged copy has done its job.
		// Still processing at the deadline, it stays until its URL expires.
		if rerr := remove(context.WithoutCancel(ctx)); rerr != nil {
			b.p.log.Warn("could not remove a staged file", "container", c.ID, "err", rerr)
		}
		return st, nil, kindImage, nil
	}
	return c, nil, kindImage, nil
}
