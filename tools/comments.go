package tools

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/publish"
)

var numericID = regexp.MustCompile(`^[0-9]{1,30}$`)

func invalid(field, format string, args ...any) error { return failure.Invalid(field, format, args...) }

func checkID(field, v string) error {
	if !numericID.MatchString(v) {
		return invalid(field, "%s must be a numeric Instagram id, got %q", field, v)
	}
	return nil
}

type replyCommentArgs struct {
	CommentID string `json:"comment_id" jsonschema_description:"Id of the comment to reply to (replies attach to the top-level comment)."`
	Message   string `json:"message" jsonschema:"minLength=1,maxLength=2200" jsonschema_description:"Reply text: at most 2200 characters, 30 hashtags and 20 @mentions."`
	AccountArg
}

// ReplyResult is the reply_comment result.
type ReplyResult struct {
	CommentID string `json:"comment_id" jsonschema_description:"The comment replied to."`
	ReplyID   string `json:"reply_id" jsonschema_description:"Id of the new reply."`
}

// ReplyComment replies to a comment on the account's media.
func ReplyComment(d *Deps) Tool {
	return Tool{
		Toolset: ToolsetComments,
		Tool: tool("reply_comment",
			"Reply to a comment on one of the account's media.",
			inputSchema[replyCommentArgs](), outputSchema[ReplyResult](),
			annotations{title: "Reply to comment"}),
		Handler: bind(d, func(ctx context.Context, _ mcp.CallToolRequest, a *replyCommentArgs) (any, string, error) {
			if err := checkID("comment_id", a.CommentID); err != nil {
				return nil, "", err
			}
			if strings.TrimSpace(a.Message) == "" {
				return nil, "", invalid("message", "message is required")
			}
			if utf8.RuneCountInString(a.Message) > publish.MaxCaptionChars {
				return nil, "", invalid("message", "message is at most %d characters", publish.MaxCaptionChars)
			}
			if err := publish.CheckCaption("message", a.Message); err != nil {
				return nil, "", err
			}
			acct, err := d.Accounts.Resolve(ctx, a.Account)
			if err != nil {
				return nil, "", err
			}
			c, _, err := acct.Client.ReplyComment(ctx, a.CommentID, a.Message)
			if err != nil {
				return nil, "", err
			}
			r := ReplyResult{CommentID: a.CommentID, ReplyID: c.ID}
			return r, fmt.Sprintf("replied to comment %s with reply %s", r.CommentID, r.ReplyID), nil
		}),
	}
}
