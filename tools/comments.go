package tools

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/store"
)

var numericID = regexp.MustCompile(`^[0-9]{1,30}$`)

func invalid(field, format string, args ...any) error { return failure.Invalid(field, format, args...) }

func checkID(field, v string) error {
	if !numericID.MatchString(v) {
		return invalid(field, "%s must be a numeric Instagram id, got %q", field, v)
	}
	return nil
}

// checkMessage applies the comment rules, the very ones a post's
// first_comment is checked by.
func checkMessage(field, msg string) error { return publish.CheckComment(field, msg) }

// journal records a comment or moderation write (issue 4: every write is
// in the journal); a journal failure never fails the write itself.
func journal(ctx context.Context, d *Deps, acct *auth.Account, action, outcome string, err error, ids ...string) {
	if d.Journal == nil {
		return
	}
	e := store.JournalEntry{AccountID: acct.ID, Action: action, GraphIDs: ids, Outcome: outcome}
	if err != nil {
		e.ErrorKind = string(failure.Classify(err).Kind)
	}
	if _, jerr := d.Journal.AppendJournal(context.WithoutCancel(ctx), e); jerr != nil && d.Logger != nil {
		d.Logger.Error("could not append to the journal", "action", action, "err", jerr)
	}
}

type replyCommentArgs struct {
	CommentID string `json:"comment_id,omitempty" jsonschema_description:"Comment to reply to."`
	Message   string `json:"message" jsonschema:"minLength=1,maxLength=2200" jsonschema_description:"≤30 #hashtags, ≤20 @mentions."`
	MediaID   string `json:"media_id,omitempty" jsonschema_description:"Mentioning media (comment_id optional)."`
	AccountArg
}

// ReplyResult is the reply_comment result.
type ReplyResult struct {
	CommentID string `json:"comment_id" jsonschema_description:"The comment replied to."`
	ReplyID   string `json:"reply_id" jsonschema_description:"Id of the new reply."`
	// MediaID is set for a reply to a mention.
	MediaID string `json:"media_id,omitempty"`
}

// ReplyComment replies to a comment on the account's media, or, with
// media_id, where someone @mentioned the account on their own media
// (POST /{ig-user-id}/mentions): under the mentioning comment, or on the
// media for a caption mention.
func ReplyComment(d *Deps) Tool {
	return newTool[replyCommentArgs, ReplyResult](d, "reply_comment", "Reply to a comment or a mention.",
		annotations{}, auth.CommentScopes(),
		func(ctx context.Context, c *call, a *replyCommentArgs) (any, string, error) {
			if a.MediaID != "" {
				return replyMention(ctx, c, a)
			}
			if a.CommentID == "" {
				return nil, "", invalid("comment_id", "comment_id is required (only a reply to a caption mention, with media_id, has none)")
			}
			cm, err := writeComment(ctx, c, "comment_id", a.CommentID, a.Message, func(ctx context.Context, acct *auth.Account) (*graph.Comment, error) {
				cm, _, err := acct.Client.ReplyComment(ctx, a.CommentID, a.Message)
				return cm, err
			})
			if err != nil {
				return nil, "", err
			}
			r := ReplyResult{CommentID: a.CommentID, ReplyID: cm.ID}
			return r, fmt.Sprintf("replied to comment %s with reply %s", r.CommentID, r.ReplyID), nil
		})
}

// replyMention answers a mention: a comment by the account on someone
// else's media, under the comment that mentioned it when comment_id is
// given.
func replyMention(ctx context.Context, c *call, a *replyCommentArgs) (any, string, error) {
	if a.CommentID != "" {
		if err := checkID("comment_id", a.CommentID); err != nil {
			return nil, "", err
		}
	}
	cm, err := writeComment(ctx, c, "media_id", a.MediaID, a.Message, func(ctx context.Context, acct *auth.Account) (*graph.Comment, error) {
		cm, _, err := acct.Client.ReplyToMention(ctx, acct.ID, a.MediaID, a.CommentID, a.Message)
		return cm, err
	}, a.CommentID)
	if err != nil {
		return nil, "", err
	}
	r := ReplyResult{CommentID: a.CommentID, ReplyID: cm.ID, MediaID: a.MediaID}
	where := "the caption mention on media " + a.MediaID
	if a.CommentID != "" {
		where = "the mention in comment " + a.CommentID
	}
	return r, fmt.Sprintf("replied to %s with comment %s", where, cm.ID), nil
}

type createCommentArgs struct {
	MediaID string `json:"media_id" jsonschema_description:"Media id."`
	Message string `json:"message" jsonschema:"minLength=1,maxLength=2200" jsonschema_description:"≤30 #hashtags, ≤20 @mentions."`
	AccountArg
}

// CommentCreated is the create_comment result.
type CommentCreated struct {
	MediaID   string `json:"media_id"`
	CommentID string `json:"comment_id"`
}

// CreateComment comments on one of the account's media.
func CreateComment(d *Deps) Tool {
	return newTool[createCommentArgs, CommentCreated](d, "create_comment", "Comment on the account's media.",
		annotations{}, auth.CommentScopes(),
		func(ctx context.Context, c *call, a *createCommentArgs) (any, string, error) {
			cm, err := writeComment(ctx, c, "media_id", a.MediaID, a.Message, func(ctx context.Context, acct *auth.Account) (*graph.Comment, error) {
				cm, _, err := acct.Client.CreateComment(ctx, a.MediaID, a.Message)
				return cm, err
			})
			if err != nil {
				return nil, "", err
			}
			return CommentCreated{MediaID: a.MediaID, CommentID: cm.ID}, fmt.Sprintf("commented on %s: comment %s", a.MediaID, cm.ID), nil
		})
}

type moderateCommentArgs struct {
	CommentID string `json:"comment_id" jsonschema_description:"Comment id."`
	Action    string `json:"action" jsonschema:"enum=hide,enum=unhide,enum=delete" jsonschema_description:"delete is permanent."`
	AccountArg
}

// Moderated is the moderate_comment result.
type Moderated struct {
	CommentID string `json:"comment_id"`
	Action    string `json:"action"`
	Done      bool   `json:"done"`
}

// ModerateComment hides, unhides or deletes a comment.
func ModerateComment(d *Deps) Tool {
	return newTool[moderateCommentArgs, Moderated](d, "moderate_comment", "Hide, unhide or delete a comment.",
		annotations{destructive: true, idempotent: true}, auth.CommentScopes(),
		func(ctx context.Context, c *call, a *moderateCommentArgs) (any, string, error) {
			if err := checkID("comment_id", a.CommentID); err != nil {
				return nil, "", err
			}
			switch a.Action {
			case "hide", "unhide", "delete":
			default:
				return nil, "", invalid("action", "action must be hide, unhide or delete, got %q", a.Action)
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			if a.Action == "delete" {
				_, err = acct.Client.DeleteComment(ctx, a.CommentID)
			} else {
				_, err = acct.Client.HideComment(ctx, a.CommentID, a.Action == "hide")
			}
			if err != nil {
				journal(ctx, d, acct, "moderate", "failed", err, a.CommentID)
				return nil, "", err
			}
			journal(ctx, d, acct, "moderate", a.Action, nil, a.CommentID)
			return Moderated{CommentID: a.CommentID, Action: a.Action, Done: true}, fmt.Sprintf("comment %s: %s done", a.CommentID, a.Action), nil
		})
}

type listCommentsArgs struct {
	MediaID   string `json:"media_id,omitempty" jsonschema_description:"Media id."`
	CommentID string `json:"comment_id,omitempty" jsonschema_description:"Or this comment's replies."`
	Replies   *int   `json:"replies,omitempty" jsonschema:"minimum=0,maximum=50" jsonschema_description:"Per comment; default 5."`
	ListOptions
	AccountArg
}

func (listCommentsArgs) maxLimit() int { return 50 }

// Reply is one comment without its replies. Text the account wrote itself
// is `text`; text by anyone else is only ever `untrusted_text`.
type Reply struct {
	ID            string `json:"id"`
	Username      string `json:"username,omitempty"`
	Own           bool   `json:"own"`
	Text          string `json:"text,omitempty"`
	UntrustedText string `json:"untrusted_text,omitempty"`
	Timestamp     string `json:"timestamp,omitempty"`
	LikeCount     *int   `json:"like_count,omitempty"`
	Hidden        bool   `json:"hidden,omitempty"`
}

// CommentItem is one comment with its first replies.
type CommentItem struct {
	Reply
	Replies []Reply `json:"replies,omitempty"`
}

// CommentList is the list_comments result.
type CommentList struct {
	Comments   []CommentItem `json:"comments"`
	NextCursor string        `json:"next_cursor,omitempty"`
	Notice     string        `json:"notice"`
}

// commentJSON is a comment as Graph answers it, with replies expanded.
type commentJSON struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	Timestamp string `json:"timestamp"`
	Username  string `json:"username"`
	From      *struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"from"`
	LikeCount *int `json:"like_count"`
	Hidden    bool `json:"hidden"`
	Replies   *struct {
		Data []commentJSON `json:"data"`
	} `json:"replies"`
}

const commentFields = "id,text,timestamp,username,from{id,username},like_count,hidden"

// ListComments lists comments (with replies) on a media, or the replies of
// one comment, marking other users' text as untrusted.
func ListComments(d *Deps) Tool {
	return newTool[listCommentsArgs, CommentList](d, "list_comments", "Comments and replies on a media.",
		annotations{readOnly: true, idempotent: true}, auth.CommentScopes(),
		func(ctx context.Context, c *call, a *listCommentsArgs) (any, string, error) {
			parent, edge := a.MediaID, "comments"
			switch {
			case a.MediaID != "" && a.CommentID != "":
				return nil, "", invalid("comment_id", "give media_id or comment_id, not both")
			case a.CommentID != "":
				parent, edge = a.CommentID, "replies"
				if err := checkID("comment_id", a.CommentID); err != nil {
					return nil, "", err
				}
			default:
				if err := checkID("media_id", a.MediaID); err != nil {
					return nil, "", err
				}
			}
			replies := 5
			if a.Replies != nil {
				replies = *a.Replies
			}
			if replies < 0 || replies > 50 {
				return nil, "", invalid("replies", "replies must be between 0 and 50")
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			fields := commentFields
			if replies > 0 && edge == "comments" {
				fields += ",replies.limit(" + strconv.Itoa(replies) + "){" + commentFields + "}"
			}
			params := url.Values{"fields": {fields}}
			if a.Limit > 0 {
				params.Set("limit", strconv.Itoa(a.Limit))
			}
			if a.Cursor != "" {
				params.Set("after", a.Cursor)
			}
			var env struct {
				Data   []commentJSON `json:"data"`
				Paging *struct {
					Cursors struct {
						After string `json:"after"`
					} `json:"cursors"`
					Next string `json:"next"`
				} `json:"paging"`
			}
			if _, err := acct.Client.Do(ctx, http.MethodGet, url.PathEscape(parent)+"/"+edge, params, &env); err != nil {
				return nil, "", err
			}
			res := CommentList{Comments: []CommentItem{}, Notice: untrustedNotice}
			if env.Paging != nil && env.Paging.Next != "" {
				res.NextCursor = env.Paging.Cursors.After
			}
			for _, cm := range env.Data {
				res.Comments = append(res.Comments, commentItem(acct, cm, replies))
			}
			return res, count(len(res.Comments), "comment", "comments") + " (text by others is in untrusted_text)", nil
		})
}

func commentItem(acct *auth.Account, c commentJSON, maxReplies int) CommentItem {
	it := CommentItem{Reply: reply(acct, c)}
	if c.Replies != nil {
		for i, r := range c.Replies.Data {
			if i == maxReplies {
				break
			}
			it.Replies = append(it.Replies, reply(acct, r))
		}
	}
	return it
}

func reply(acct *auth.Account, c commentJSON) Reply {
	username := c.Username
	fromID := ""
	if c.From != nil {
		fromID = c.From.ID
		if username == "" {
			username = c.From.Username
		}
	}
	own := fromID == acct.ID || (acct.Username != "" && strings.EqualFold(username, acct.Username))
	r := Reply{ID: c.ID, Username: untrusted(username), Own: own, Timestamp: c.Timestamp, LikeCount: c.LikeCount, Hidden: c.Hidden}
	if own {
		r.Text = c.Text
	} else {
		r.UntrustedText = untrusted(c.Text)
	}
	return r
}

// writeComment is the path of every comment write: rules first (no Graph
// call on bad input), then the account, the write, and the journal entry
// (targetID, the further ids, and the new comment's).
func writeComment(ctx context.Context, c *call, idField, targetID, message string,
	write func(context.Context, *auth.Account) (*graph.Comment, error), ids ...string) (*graph.Comment, error) {
	if err := checkID(idField, targetID); err != nil {
		return nil, err
	}
	if err := checkMessage("message", message); err != nil {
		return nil, err
	}
	acct, err := c.account(ctx)
	if err != nil {
		return nil, err
	}
	ids = append([]string{targetID}, slices.DeleteFunc(ids, func(id string) bool { return id == "" })...)
	cm, err := write(ctx, acct)
	if err != nil {
		journal(ctx, c.d, acct, "comment", "failed", err, ids...)
		return nil, err
	}
	journal(ctx, c.d, acct, "comment", "ok", nil, append(ids, cm.ID)...)
	return cm, nil
}
