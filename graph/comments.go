package graph

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// defaultCommentFields are what igmcp shows for a comment. Reading
// username needs the manage_comments permission, which commenting needs too.
const defaultCommentFields = "id,text,timestamp,username,from{id,username},parent_id,hidden"

// ListCommentsOptions are the query parameters of the comments and replies
// edges. Zero values are not sent.
type ListCommentsOptions struct {
	Fields []string // default id,text,timestamp,username,from{id,username},parent_id,hidden
	Limit  int      // page size; Graph caps it at 50
	After  string   // cursor from Response.Paging.After
	Before string   // cursor from Response.Paging.Before
}

func (o *ListCommentsOptions) values() url.Values {
	v := url.Values{"fields": {defaultCommentFields}}
	if o == nil {
		return v
	}
	if len(o.Fields) > 0 {
		v.Set("fields", strings.Join(o.Fields, ","))
	}
	if o.Limit > 0 {
		v.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.After != "" {
		v.Set("after", o.After)
	}
	if o.Before != "" {
		v.Set("before", o.Before)
	}
	return v
}

// CreateComment: POST /{mediaID}/comments with message.
func (c *Client) CreateComment(ctx context.Context, mediaID, message string) (*Comment, *Response, error) {
	if mediaID == "" {
		return nil, nil, argError("CreateComment", "empty media id")
	}
	return c.postComment(ctx, seg(mediaID)+"/comments", message)
}

// ReplyComment: POST /{commentID}/replies with message.
func (c *Client) ReplyComment(ctx context.Context, commentID, message string) (*Comment, *Response, error) {
	if commentID == "" {
		return nil, nil, argError("ReplyComment", "empty comment id")
	}
	return c.postComment(ctx, seg(commentID)+"/replies", message)
}

func (c *Client) postComment(ctx context.Context, path, message string) (*Comment, *Response, error) {
	if message == "" {
		return nil, nil, argError("comment", "empty message")
	}
	out := new(Comment)
	resp, err := c.Do(ctx, http.MethodPost, path, url.Values{"message": {message}}, out)
	if err != nil {
		return nil, resp, err
	}
	if out.ID == "" {
		return nil, resp, &DecodeError{Method: http.MethodPost, Path: "/" + path, Err: errMissingID}
	}
	// The answer is only {"id"}; fill in what we know was written.
	if out.Text == "" {
		out.Text = message
	}
	return out, resp, nil
}

// ListComments: GET /{mediaID}/comments — one page of top-level comments,
// newest first. Response.Paging carries the cursors; stop when Next is empty.
func (c *Client) ListComments(ctx context.Context, mediaID string, opts *ListCommentsOptions) ([]Comment, *Response, error) {
	if mediaID == "" {
		return nil, nil, argError("ListComments", "empty media id")
	}
	return list[Comment](ctx, c, seg(mediaID)+"/comments", opts.values())
}

// ListReplies: GET /{commentID}/replies — one page of replies to a
// top-level comment.
func (c *Client) ListReplies(ctx context.Context, commentID string, opts *ListCommentsOptions) ([]Comment, *Response, error) {
	if commentID == "" {
		return nil, nil, argError("ListReplies", "empty comment id")
	}
	return list[Comment](ctx, c, seg(commentID)+"/replies", opts.values())
}

// HideComment: POST /{commentID} with hide=true|false.
func (c *Client) HideComment(ctx context.Context, commentID string, hide bool) (*Response, error) {
	if commentID == "" {
		return nil, argError("HideComment", "empty comment id")
	}
	return c.success(ctx, http.MethodPost, seg(commentID), url.Values{"hide": {strconv.FormatBool(hide)}})
}

// DeleteComment: DELETE /{commentID}. Only the media owner can delete.
func (c *Client) DeleteComment(ctx context.Context, commentID string) (*Response, error) {
	if commentID == "" {
		return nil, argError("DeleteComment", "empty comment id")
	}
	return c.success(ctx, http.MethodDelete, seg(commentID), nil)
}

// success sends a call answered with {"success":true}; a 2xx saying false
// is reported as a DecodeError since Graph gave no reason.
func (c *Client) success(ctx context.Context, method, path string, params url.Values) (*Response, error) {
	var out struct {
		Success *bool `json:"success"`
	}
	resp, err := c.Do(ctx, method, path, params, &out)
	if err != nil {
		return resp, err
	}
	if out.Success != nil && !*out.Success {
		return resp, &DecodeError{Method: method, Path: "/" + path, Err: errNotSuccess}
	}
	return resp, nil
}
