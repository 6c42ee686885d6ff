package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Resumable upload (docs/graph-api.md §6).
//
// Documented: POST /{ig-user-id}/media with upload_type=resumable answers
// {"id","uri"}; the video bytes then go in a POST to uri with the headers
// "Authorization: OAuth <token>", "offset: 0" and "file_size: <bytes>", and
// Instagram answers {"success":true,"message":"Upload successful."}.
//
// Not documented, and designed here: how to resume a dropped upload. The
// offset header exists, so a resumed request sends the remaining bytes with
// offset set to the number of bytes Instagram already holds. That number is
// read from the container's video_status.uploading_phase.bytes_transferred
// (observed in real responses, not in the reference); when the container
// cannot say, the upload resumes from the last offset Instagram
// acknowledged. Every attempt is bounded (UploadOptions.MaxAttempts) and a
// byte count outside [acknowledged, size] is never trusted.

// uploadHosts are the hosts Instagram hands out in a container's `uri`. The
// access token is sent only to these over https, or to the host of the
// client's own base URL (the sandbox and tests, whose fake serves uploads
// itself).
var uploadHosts = []string{"rupload.facebook.com", "rupload.instagram.com"}

// UploadOptions control one resumable upload.
type UploadOptions struct {
	// ContainerID is the container being uploaded to; after a failed request
	// it is asked how many bytes Instagram already has. Empty: resume from
	// the last acknowledged offset.
	ContainerID string
	// ChunkSize is the most bytes sent in one request; 0 sends the rest of
	// the file in one request (the documented form).
	ChunkSize int64
	// MaxAttempts bounds the requests that may fail before the upload gives
	// up (default 5).
	MaxAttempts int
	// RetryWait is the pause before the first resume; it doubles up to 10×
	// (default 1 s).
	RetryWait time.Duration
	// Progress, if set, is called as bytes leave, with the bytes Instagram
	// holds plus those sent in the current request, and the file size. It
	// may go back after a drop (to what Instagram really holds).
	Progress func(sent, total int64)
}

// UploadResult says how an upload went.
type UploadResult struct {
	Size     int64 // bytes Instagram holds: the whole file
	Requests int   // upload requests sent
	Resumes  int   // requests that continued after a failure
}

// UploadError is an upload Instagram refused, or one that failed more
// often than UploadOptions.MaxAttempts allows.
type UploadError struct {
	Status    int    // HTTP status, 0 when no answer came
	Type      string // debug_info.type, e.g. ProcessingFailedError
	Message   string // what Instagram (or the transport) said
	Retriable bool   // Instagram (debug_info.retriable) or a lost answer
	Offset    int64  // bytes Instagram was known to hold when it failed
}

func (e *UploadError) Error() string {
	s := fmt.Sprintf("graph: upload failed after %d bytes", e.Offset)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Type != "" {
		s += " " + e.Type
	}
	return s + ": " + e.Message
}

// VideoStatus is the container's video_status (resumable uploads).
type VideoStatus struct {
	UploadingPhase *struct {
		Status           string  `json:"status,omitempty"`
		BytesTransferred flexInt `json:"bytes_transferred"`
		SourceFileSize   flexInt `json:"source_file_size"`
	} `json:"uploading_phase,omitempty"`
	ProcessingPhase *struct {
		Status string `json:"status,omitempty"`
	} `json:"processing_phase,omitempty"`
}

// CopyrightCheck is a video container's copyright_check_status.
type CopyrightCheck struct {
	// Status is completed, error, in_progress or not_started.
	Status       string `json:"status"`
	MatchesFound bool   `json:"matches_found"`
}

// ContainerDetails is a container with the fields video containers add.
type ContainerDetails struct {
	Container
	CopyrightCheckStatus *CopyrightCheck `json:"copyright_check_status,omitempty"`
	VideoStatus          *VideoStatus    `json:"video_status,omitempty"`
}

// GetContainerDetails: GET /{containerID}?fields=id,status_code,status,
// copyright_check_status[,video_status]. copyright_check_status is only
// present for video containers; video_status (asked when withVideoStatus)
// only for resumable ones.
func (c *Client) GetContainerDetails(ctx context.Context, containerID string, withVideoStatus bool) (*ContainerDetails, *Response, error) {
	if containerID == "" {
		return nil, nil, argError("GetContainerDetails", "empty container id")
	}
	fields := containerFields + ",copyright_check_status"
	if withVideoStatus {
		fields += ",video_status"
	}
	out := new(ContainerDetails)
	resp, err := c.Do(ctx, http.MethodGet, seg(containerID), url.Values{"fields": {fields}}, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// UploadToContainer uploads to ct.URI, the container CreateContainer
// returned for upload_type=resumable.
func (c *Client) UploadToContainer(ctx context.Context, ct *Container, src io.ReaderAt, size int64, o UploadOptions) (*UploadResult, error) {
	if ct == nil || ct.URI == "" {
		return nil, argError("Upload", "the container has no upload uri (create it with upload_type=resumable)")
	}
	if o.ContainerID == "" {
		o.ContainerID = ct.ID
	}
	return c.Upload(ctx, ct.URI, src, size, &o)
}

// Upload sends size bytes from src to a resumable container's upload uri,
// resuming after dropped connections, 5xx answers and retriable refusals
// from the offset Instagram holds. It returns *UploadError when Instagram
// refuses the upload or the attempts run out, *TokenError without a token,
// and the context's error when ctx ends.
func (c *Client) Upload(ctx context.Context, uri string, src io.ReaderAt, size int64, o *UploadOptions) (*UploadResult, error) {
	if o == nil {
		o = &UploadOptions{}
	}
	if size <= 0 {
		return nil, argError("Upload", "empty file")
	}
	target, err := c.checkUploadURI(uri)
	if err != nil {
		return nil, err
	}
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	wait := o.RetryWait
	if wait <= 0 {
		wait = time.Second
	}
	res := &UploadResult{}
	var acked int64 // bytes Instagram confirmed holding
	failures := 0
	for acked < size {
		end := size
		if o.ChunkSize > 0 && acked+o.ChunkSize < size {
			end = acked + o.ChunkSize
		}
		res.Requests++
		ue, err := c.uploadChunk(ctx, target, src, acked, end, size, o.Progress)
		if err != nil {
			return res, err // token or context: not worth another attempt
		}
		if ue == nil {
			acked = end
			continue
		}
		ue.Offset = acked
		if !ue.Retriable {
			return res, ue
		}
		failures++
		if failures >= attempts {
			ue.Message = fmt.Sprintf("gave up after %d failed attempts; last: %s", failures, ue.Message)
			return res, ue
		}
		if err := sleepCtx(ctx, min(wait<<(failures-1), 10*wait)); err != nil {
			return res, err
		}
		// Where does Instagram stand? A dropped request may have delivered
		// part (or all) of its bytes.
		if held, ok := c.uploadedBytes(ctx, o.ContainerID, size); ok && held >= acked {
			acked = held
		}
		res.Resumes++
		if o.Progress != nil {
			o.Progress(acked, size)
		}
	}
	res.Size = size
	return res, nil
}

// checkUploadURI accepts Instagram's upload hosts over https, or the
// client's own base host (the fake), so the token never goes elsewhere.
func (c *Client) checkUploadURI(uri string) (*url.URL, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, argError("Upload", "the container's upload uri is not a URL")
	}
	base, _ := url.Parse(c.base)
	switch {
	case base != nil && strings.EqualFold(u.Host, base.Host) && u.Scheme == base.Scheme:
	case u.Scheme == "https" && isUploadHost(u.Hostname()):
	default:
		return nil, argError("Upload", fmt.Sprintf("refusing to send the token to upload host %q (expected rupload.facebook.com)", u.Host))
	}
	return u, nil
}

func isUploadHost(h string) bool {
	for _, x := range uploadHosts {
		if strings.EqualFold(h, x) {
			return true
		}
	}
	return false
}

// uploadChunk POSTs bytes [from, to) of src. A nil *UploadError and nil
// error mean Instagram took them.
func (c *Client) uploadChunk(ctx context.Context, target *url.URL, src io.ReaderAt, from, to, size int64, progress func(int64, int64)) (*UploadError, error) {
	token, err := c.token()
	if err != nil {
		return nil, err
	}
	body := &countingReader{r: io.NewSectionReader(src, from, to-from), base: from, total: size, progress: progress}
	// A slow link must not turn into a timeout: allow a minute plus 64 KiB/s.
	actx, cancel := context.WithTimeout(ctx, time.Minute+time.Duration((to-from)/(64<<10))*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target.String(), body)
	if err != nil {
		return &UploadError{Message: "cannot build request"}, nil
	}
	req.ContentLength = to - from
	req.GetBody = nil // a retry resends from the offset Instagram holds, never blindly
	req.Header.Set("Authorization", "OAuth "+token)
	req.Header.Set("offset", strconv.FormatInt(from, 10))
	req.Header.Set("file_size", strconv.FormatInt(size, 10))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	hc := *c.hc
	hc.Timeout = 0 // bounded by actx instead: uploads outlast the API timeout
	hr, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return &UploadError{Message: transportCause(actx, err, token, "").Error(), Retriable: true}, nil
	}
	defer hr.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(hr.Body, maxErrorBodySize))
	return parseUploadAnswer(hr.StatusCode, data, token), nil
}

// parseUploadAnswer reads {"success":true,…} or the documented failure
// {"debug_info":{"retriable","type","message"}}.
func parseUploadAnswer(status int, data []byte, token string) *UploadError {
	var ans struct {
		Success   *bool `json:"success"`
		DebugInfo *struct {
			Retriable bool   `json:"retriable"`
			Type      string `json:"type"`
			Message   string `json:"message"`
		} `json:"debug_info"`
	}
	decoded := json.Unmarshal(data, &ans) == nil
	if is2xx(status) && decoded && ans.Success != nil && *ans.Success {
		return nil
	}
	ue := &UploadError{Status: status, Retriable: status >= 500 || status == http.StatusTooManyRequests}
	switch {
	case decoded && ans.DebugInfo != nil:
		ue.Type = ans.DebugInfo.Type
		ue.Retriable = ue.Retriable || ans.DebugInfo.Retriable
		ue.Message = innerMessage(ans.DebugInfo.Message)
	case is2xx(status):
		ue.Message = "the upload answer did not say success"
		ue.Retriable = true
	default:
		// Graph-style envelope, or an edge's HTML page.
		if ge := classify(status, Usage{}, data); ge != nil {
			ue.Message = ge.Message
			ue.Retriable = ue.Retriable || ge.IsTemporary()
		}
	}
	if ue.Message == "" {
		ue.Message = statusText(status)
	}
	ue.Message = Redact(scrub(ue.Message, token))
	return ue
}

// innerMessage unwraps debug_info.message, itself JSON such as
// {"success":false,"error":{"message":"unauthorized user request"}}.
func innerMessage(m string) string {
	var inner struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(m), &inner) == nil && inner.Error != nil && inner.Error.Message != "" {
		return inner.Error.Message
	}
	return m
}

// uploadedBytes asks the container how many bytes Instagram holds. ok is
// false when it cannot say (no container id, the read failed, no
// video_status, a number outside [0, size]).
func (c *Client) uploadedBytes(ctx context.Context, containerID string, size int64) (int64, bool) {
	if containerID == "" {
		return 0, false
	}
	d, _, err := c.GetContainerDetails(ctx, containerID, true)
	if err != nil || d.VideoStatus == nil || d.VideoStatus.UploadingPhase == nil {
		return 0, false
	}
	n := int64(d.VideoStatus.UploadingPhase.BytesTransferred)
	if n < 0 || n > size {
		return 0, false
	}
	return n, true
}

// countingReader reports progress as the transport reads the body.
type countingReader struct {
	r        io.Reader
	base     int64
	read     int64
	total    int64
	progress func(sent, total int64)
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.read += int64(n)
	if n > 0 && r.progress != nil {
		r.progress(r.base+r.read, r.total)
	}
	return n, err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
