package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Fields asked for by default.
const (
	containerFields    = "id,status_code,status"
	publishFields      = "id,permalink"
	defaultMediaFields = "id,media_type,media_product_type,caption,permalink,timestamp"
)

// CreateContainer: POST /{igUserID}/media. It asks for
// fields=id,status_code,status (Graph read-after-write) so a container that
// is ready at once needs no status poll; when the answer lacks status_code the
// caller must poll. For upload_type=resumable no fields are asked, so the
// documented {"id","uri"} answer is not replaced by the field selection.
func (c *Client) CreateContainer(ctx context.Context, igUserID string, req *ContainerRequest) (*Container, *Response, error) {
	const op = "CreateContainer"
	if igUserID == "" {
		return nil, nil, argError(op, "empty Instagram user id")
	}
	if req == nil {
		return nil, nil, argError(op, "nil request")
	}
	params, err := req.values()
	if err != nil {
		return nil, nil, argError(op, err.Error())
	}
	if req.UploadType == "" {
		params.Set("fields", containerFields)
	}
	out := new(Container)
	// Creating a container publishes nothing, so it may be retried (only
	// when the failure is temporary; see callSafe).
	resp, err := c.callSafe(ctx, http.MethodPost, seg(igUserID)+"/media", params, out)
	if err != nil {
		var ge *Error
		if req.MediaType == MediaTypeStories && errors.As(err, &ge) && refusesStories(ge) {
			return nil, resp, &StoryRefusedError{Err: ge}
		}
		return nil, resp, err
	}
	if out.ID == "" {
		return nil, resp, &DecodeError{Method: http.MethodPost, Path: "/" + seg(igUserID) + "/media", Err: errMissingID}
	}
	return out, resp, nil
}

// StoryRefusedError is Instagram refusing to create a Story for this
// account. Meta documents Story publishing for business accounts and says
// nothing clear about creator accounts (docs/graph-api.md §4), so igmcp
// never refuses a Story before calling; when Instagram refuses, this error
// says so plainly. Unwrap gives Meta's *Error.
type StoryRefusedError struct {
	Err *Error
}

func (e *StoryRefusedError) Error() string {
	return "graph: Instagram refused to create a Story for this account: " + e.Err.Error()
}

func (e *StoryRefusedError) Unwrap() error { return e.Err }

// refusesStories recognises a refusal of Stories for the account. Meta
// documents no code for it, so we go by code families: a permission or
// capability refusal (3, 10, 200–299 — what a feature the account type
// lacks is answered with elsewhere in Graph) or an unsupported media type
// (100/2207023). Rate limits, spam blocks, token errors and media problems
// keep their own meaning.
func refusesStories(e *Error) bool {
	return (e.IsPermission() && e.Subcode != 2207050) || (e.Code == 100 && e.Subcode == 2207023)
}

// values encodes the request as Graph wants it: scalars as strings,
// user_tags/collaborators as JSON strings, children comma-separated, and
// zero values left out.
func (r *ContainerRequest) values() (url.Values, error) {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("media_type", r.MediaType)
	set("image_url", r.ImageURL)
	set("video_url", r.VideoURL)
	if r.IsCarouselItem {
		v.Set("is_carousel_item", "true")
	}
	if len(r.Children) > 0 {
		v.Set("children", strings.Join(r.Children, ","))
	}
	set("caption", r.Caption)
	set("alt_text", r.AltText)
	set("location_id", r.LocationID)
	if len(r.UserTags) > 0 {
		s, err := jsonString(r.UserTags)
		if err != nil {
			return nil, err
		}
		v.Set("user_tags", s)
	}
	if len(r.Collaborators) > 0 {
		s, err := jsonString(r.Collaborators)
		if err != nil {
			return nil, err
		}
		v.Set("collaborators", s)
	}
	set("cover_url", r.CoverURL)
	if r.ThumbOffset != nil {
		v.Set("thumb_offset", strconv.Itoa(*r.ThumbOffset))
	}
	if r.ShareToFeed != nil {
		v.Set("share_to_feed", strconv.FormatBool(*r.ShareToFeed))
	}
	set("audio_name", r.AudioName)
	set("upload_type", r.UploadType)
	if r.TrialParams != nil {
		s, err := jsonString(r.TrialParams)
		if err != nil {
			return nil, err
		}
		v.Set("trial_params", s)
	}
	return v, r.Labels.set(v)
}

// jsonString encodes without HTML escaping so usernames stay readable in
// the form body.
func jsonString(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// GetContainer: GET /{containerID}?fields=id,status_code,status.
func (c *Client) GetContainer(ctx context.Context, containerID string) (*Container, *Response, error) {
	if containerID == "" {
		return nil, nil, argError("GetContainer", "empty container id")
	}
	out := new(Container)
	resp, err := c.Do(ctx, http.MethodGet, seg(containerID), url.Values{"fields": {containerFields}}, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Publish: POST /{igUserID}/media_publish with creation_id, asking
// fields=id,permalink (read-after-write). Permalink may come back empty.
func (c *Client) Publish(ctx context.Context, igUserID, creationID string) (*Media, *Response, error) {
	const op = "Publish"
	if igUserID == "" {
		return nil, nil, argError(op, "empty Instagram user id")
	}
	if creationID == "" {
		return nil, nil, argError(op, "empty creation id")
	}
	params := url.Values{"creation_id": {creationID}, "fields": {publishFields}}
	out := new(Media)
	path := seg(igUserID) + "/media_publish"
	resp, err := c.Do(ctx, http.MethodPost, path, params, out)
	if err != nil {
		return nil, resp, err
	}
	if out.ID == "" {
		// A 2xx without an id means we cannot tell what was published;
		// the caller must reconcile rather than publish again.
		return nil, resp, &DecodeError{Method: http.MethodPost, Path: "/" + path, Err: errMissingID}
	}
	return out, resp, nil
}

// GetMedia: GET /{mediaID}?fields=... (default id,media_type,media_product_type,caption,permalink,timestamp).
func (c *Client) GetMedia(ctx context.Context, mediaID string, fields ...string) (*Media, *Response, error) {
	if mediaID == "" {
		return nil, nil, argError("GetMedia", "empty media id")
	}
	f := defaultMediaFields
	if len(fields) > 0 {
		f = strings.Join(fields, ",")
	}
	out := new(Media)
	resp, err := c.Do(ctx, http.MethodGet, seg(mediaID), url.Values{"fields": {f}}, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// ErrorSubcode is the error code at the end of Status, e.g. 2207026 for
// "Error: Media upload has failed with error code 2207026"; 0 when Status
// does not end in a number.
func (c *Container) ErrorSubcode() int {
	if c == nil {
		return 0
	}
	s := strings.TrimRight(c.Status, " .\t\r\n")
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) {
		return 0
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return 0
	}
	return n
}

// RecentMedia: GET /{igUserID}/media?fields=…&limit=… — the account's most
// recent media, newest first (stories excluded), with the default media
// fields. limit ≤ 0 leaves the page size to Graph (25). Response.Paging
// carries the cursors for more.
func (c *Client) RecentMedia(ctx context.Context, igUserID string, limit int) ([]Media, *Response, error) {
	return c.ListMedia(ctx, igUserID, &ListOptions{Fields: strings.Split(defaultMediaFields, ","), Limit: limit})
}

// RecentStories: GET /{igUserID}/stories?fields=…&limit=… — the account's
// live stories with the same fields as RecentMedia.
func (c *Client) RecentStories(ctx context.Context, igUserID string, limit int) ([]Media, *Response, error) {
	return c.ListStories(ctx, igUserID, &ListOptions{Fields: strings.Split(defaultMediaFields, ","), Limit: limit})
}
