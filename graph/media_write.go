package graph

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Changing published media and answering mentions (docs/graph-api.md §7,
// §9): deleting a media (Facebook Login), turning its comments on or off,
// replying where the account was @mentioned, and reading its
// collaborators (Facebook Login). Every write here is sent once.

// DeleteMedia: DELETE /{mediaID} — removes a published post, Reel, Story or
// whole carousel (Facebook Login, instagram_manage_contents). Instagram
// answers {"success":true,"deleted_id":…}; a type it does not delete is
// code -1, subcode 2207073 ("Media Type Not Supported"), a carousel item
// among them.
func (c *Client) DeleteMedia(ctx context.Context, mediaID string) (*Response, error) {
	if mediaID == "" {
		return nil, argError("DeleteMedia", "empty media id")
	}
	return c.success(ctx, http.MethodDelete, seg(mediaID), nil)
}

// SetCommentEnabled: POST /{mediaID}?comment_enabled=true|false — turns
// comments on a media on or off ({"success":true}).
func (c *Client) SetCommentEnabled(ctx context.Context, mediaID string, enabled bool) (*Response, error) {
	if mediaID == "" {
		return nil, argError("SetCommentEnabled", "empty media id")
	}
	return c.success(ctx, http.MethodPost, seg(mediaID), url.Values{"comment_enabled": {strconv.FormatBool(enabled)}})
}

// ReplyToMention: POST /{igUserID}/mentions with media_id, message and,
// for a comment that @mentioned the account, comment_id — a comment on
// someone else's media where the account was mentioned (in the caption
// when commentID is empty). Stories are not supported. The answer is
// {"id"} of the new comment.
func (c *Client) ReplyToMention(ctx context.Context, igUserID, mediaID, commentID, message string) (*Comment, *Response, error) {
	switch {
	case igUserID == "":
		return nil, nil, argError("ReplyToMention", "empty Instagram user id")
	case mediaID == "":
		return nil, nil, argError("ReplyToMention", "empty media id")
	case message == "":
		return nil, nil, argError("ReplyToMention", "empty message")
	}
	params := url.Values{"media_id": {mediaID}, "message": {message}}
	if commentID != "" {
		params.Set("comment_id", commentID)
	}
	path := seg(igUserID) + "/mentions"
	out := new(Comment)
	resp, err := c.Do(ctx, http.MethodPost, path, params, out)
	if err != nil {
		return nil, resp, err
	}
	if out.ID == "" {
		return nil, resp, &DecodeError{Method: http.MethodPost, Path: "/" + path, Err: errMissingID}
	}
	out.Text = message
	return out, resp, nil
}

// Collaborator is one account invited to co-author a media.
type Collaborator struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	// InviteStatus as Instagram spells it (its sample answers "Accpeted"
	// and "Pending"); shown as given.
	InviteStatus string `json:"invite_status"`
}

// Collaborators: GET /{mediaID}/collaborators — the accounts invited as
// collaborators and their invitation status (Facebook Login; feed images,
// Reels and carousels, not Stories; only users who allow collaborator
// tagging are listed).
func (c *Client) Collaborators(ctx context.Context, mediaID string) ([]Collaborator, *Response, error) {
	if mediaID == "" {
		return nil, nil, argError("Collaborators", "empty media id")
	}
	type collabJSON struct {
		ID           flexString `json:"id"`
		Username     string     `json:"username"`
		InviteStatus string     `json:"invite_status"`
	}
	data, resp, err := list[collabJSON](ctx, c, seg(mediaID)+"/collaborators", nil)
	if err != nil {
		return nil, resp, err
	}
	out := make([]Collaborator, 0, len(data))
	for _, d := range data {
		out = append(out, Collaborator{ID: string(d.ID), Username: d.Username, InviteStatus: d.InviteStatus})
	}
	return out, resp, nil
}
