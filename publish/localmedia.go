package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/localfile"
	"github.com/igmcp/igmcp/preflight"
)

// Local media: a `file_path` on the server's machine instead of a URL.
//
// Videos go to Instagram through the Graph API's resumable upload (the
// container is created with upload_type=resumable and the bytes are sent to
// its upload uri, resuming after a dropped connection; see graph/upload.go).
// Images cannot be uploaded: Instagram only fetches them from a public URL,
// so an image file is staged (copied to an S3-compatible bucket the user
// configured, handed over as a short-lived presigned URL) and removed once
// Instagram has fetched it. Without staging an image file_path is
// invalid_input saying how to give a URL instead.

// Stager puts a local image where Instagram can fetch it: it returns a
// public https URL and a function that removes the copy. staging.Bucket's
// StageFunc is one.
type Stager func(ctx context.Context, path, contentType string) (url string, remove func(context.Context) error, err error)

// Local is what publishing local files needs beyond Options.
type Local struct {
	// Stager stages image files; nil: image files are refused.
	Stager Stager
	// Upload tunes the resumable upload (chunk size, attempts); its
	// Progress reports bytes sent.
	Upload graph.UploadOptions
}

// uploader is the part of *graph.Client that sends resumable uploads.
type uploader interface {
	UploadToContainer(ctx context.Context, ct *graph.Container, src io.ReaderAt, size int64, o graph.UploadOptions) (*graph.UploadResult, error)
}

// LocalFile is a local media file checked for publishing.
type LocalFile struct {
	Field string // the argument's JSON path (file_path)
	Path  string
	Size  int64
	Video bool // MP4/MOV; otherwise a JPEG
}

// checkLocalFile validates a file_path argument: an absolute path to a
// readable JPEG (image) or MP4/MOV (video) that meets kind's rules
// (image kinds are swapped for their video twin when the file is a video;
// image "" means a video is required). Reading the first bytes is all it
// costs, so it runs whatever IGMCP_PREFLIGHT says.
func checkLocalFile(field, path string, image, video preflight.Kind) (*LocalFile, error) {
	if path == "" {
		return nil, failure.Invalid(field, "%s is empty", field)
	}
	if !filepath.IsAbs(path) || strings.ContainsRune(path, 0) {
		return nil, failure.Invalid(field, "%s must be an absolute path on the server's machine, got %q", field, path)
	}
	kind := image
	if isVideoFile(path) {
		kind = video
	}
	if kind == "" {
		if image == "" {
			return nil, failure.Invalid(field, "%s must be an MP4 or MOV video file", field)
		}
		return nil, failure.Invalid(field, "%s must be a JPEG image file", field)
	}
	r, err := preflight.InspectFile(preflight.Media{Field: field, Path: path, Kind: kind})
	if err != nil {
		e := failure.Invalid(field, "%v", err)
		e.Action = "Give the absolute path of a readable media file on the server's machine, or a public https URL instead."
		return nil, e
	}
	if len(r.Violations) > 0 {
		return nil, preflight.Rejected(r.Violations[0])
	}
	return &LocalFile{Field: field, Path: path, Size: r.Info.Bytes, Video: kind == video && video != ""}, nil
}

// isVideoFile decides image or video from the first bytes (the extension
// when the file cannot be read; checkLocalFile then reports why).
func isVideoFile(path string) bool {
	if b, _, err := localfile.ReadHead(path, 12); err == nil && len(b) == 12 {
		return string(b[4:8]) == "ftyp"
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mp4", ".mov", ".m4v":
		return true
	}
	return false
}

// NoStagingError is the invalid_input for an image file when no bucket
// is configured to stage it in: it says how to give a URL instead.
func NoStagingError(field string) error {
	e := failure.Invalid(field, "Instagram takes images only from a public https URL; this server has no media staging bucket to put %s there", field)
	e.Action = "Give image_url (a public https URL of the JPEG, e.g. from your CDN or a public bucket) instead of file_path, or ask the operator to configure staging (IGMCP_STAGING_BUCKET and credentials)."
	return e
}

// checkUpload refuses a local video the account cannot upload, before any
// Graph call: a file_path video goes to Instagram by resumable upload
// (upload_type=resumable), which Meta documents for Facebook Login only
// (docs/graph-api.md §1, §6). Under Instagram Login the video must come
// from a URL.
func checkUpload(a *Account, f *LocalFile) error {
	if f == nil || !f.Video || a.Login != auth.LoginInstagram {
		return nil
	}
	e := failure.Invalid(f.Field, "%s is a local video: Instagram takes local videos only by resumable upload, which Meta documents for Facebook Login only, and this account uses Instagram Login", f.Field)
	e.Action = "Host the video at a public https URL and give video_url instead of file_path, or connect this account with Facebook Login (INSTAGRAM_LOGIN=facebook)."
	return e
}

// ValidateFor is Validate plus the rules of the account that will publish
// the request (a local video and the paid partnership label need Facebook
// Login). A tool calls it once the account is known, before anything
// reaches Instagram; Run checks the same itself.
func (r *Request) ValidateFor(a *Account) error {
	c, err := r.checkOnce()
	if err != nil {
		return err
	}
	if err := checkUpload(a, c.file); err != nil {
		return err
	}
	return r.checkLabels(a)
}

// stageImage stages an image file; remove deletes the staged copy.
func stageImage(ctx context.Context, l Local, f *LocalFile) (string, func(context.Context) error, error) {
	if l.Stager == nil {
		return "", nil, NoStagingError(f.Field)
	}
	u, remove, err := l.Stager(ctx, f.Path, "image/jpeg")
	if err != nil {
		e := failure.New(failure.Transient, fmt.Sprintf("Could not stage %s for Instagram: %v", f.Field, err))
		e.RetryAfter = 30
		e.Action = "Retry the same call shortly; if it keeps failing, check the staging bucket settings (IGMCP_STAGING_*) or give image_url instead."
		return "", nil, e
	}
	if remove == nil {
		remove = func(context.Context) error { return nil }
	}
	return u, remove, nil
}

// createAndUpload creates a resumable video container and sends the file.
func (p *Publisher) createAndUpload(ctx context.Context, a *Account, req *graph.ContainerRequest, f *LocalFile, l Local) (*graph.Container, error) {
	field := f.Field
	up, ok := a.Graph.(uploader)
	if !ok {
		return nil, failure.Invalid(field, "this account's Graph client cannot upload files; give a video URL instead")
	}
	req.UploadType = "resumable"
	req.VideoURL = ""
	c, err := p.create(ctx, a, req, "")
	if err != nil {
		return nil, err
	}
	file, err := localfile.Open(f.Path)
	if err != nil {
		return c, failure.Invalid(field, "cannot open %s: %v", f.Path, err)
	}
	defer file.Close()
	res, err := up.UploadToContainer(ctx, c, file, f.Size, l.Upload)
	if err != nil {
		return c, uploadFailure(err, field, c.ID)
	}
	p.log.Debug("file uploaded", "account", a.ID, "container", c.ID, "bytes", res.Size, "resumes", res.Resumes)
	return c, nil
}

// uploadFailure turns an upload error into the structured error.
func uploadFailure(err error, field, containerID string) error {
	var ue *graph.UploadError
	if !errors.As(err, &ue) {
		return err
	}
	msg := fmt.Sprintf("The upload of %s to Instagram (container %s) failed after %d bytes: %s", field, containerID, ue.Offset, ue.Message)
	if ue.Retriable {
		e := failure.New(failure.Transient, msg)
		e.RetryAfter = 60
		e.Action = "Call the tool again (with the same idempotency_key): the upload starts over in a new container; nothing was published."
		return e
	}
	if strings.Contains(strings.ToLower(ue.Message), "unauthorized") {
		e := failure.New(failure.PermissionDenied, msg)
		e.Action = "Instagram refused the upload: resumable upload is documented for Facebook Login (INSTAGRAM_LOGIN=facebook) only; otherwise host the video and give video_url."
		return e
	}
	e := failure.New(failure.Upstream, msg)
	e.Action = "Instagram refused the upload: check the file (MP4/MOV, H.264/AAC), or host it and give video_url."
	return e
}
