package tools

import (
	"context"
	"fmt"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
)

// Changing a published media: deleting it (Facebook Login only, as Meta
// allows) and turning its comments on or off. Both go through the
// confirmation of IGMCP_CONFIRM like every write, and both are journalled.

// MediaDeleted is the delete_media result.
type MediaDeleted struct {
	MediaID string `json:"media_id"`
	Deleted bool   `json:"deleted"`
}

// deletePermission is what Meta requires for DELETE /{ig-media-id}
// (docs/graph-api.md §9). It is not checked up front nor asked for by
// `igmcp auth login` by default: a Meta app needs it granted in App Review,
// and asking for a permission the app lacks breaks the login of everyone
// else. Instagram refuses the delete without it; the error names it.
const deletePermission = "instagram_manage_contents"

// DeleteMedia deletes a published post, Reel, Story or whole carousel.
func DeleteMedia(d *Deps) Tool {
	return newTool[mediaIDArgs, MediaDeleted](d, "delete_media",
		"Delete a media for good (Facebook Login).",
		annotations{destructive: true, idempotent: true}, auth.FacebookOnlyScopes(),
		func(ctx context.Context, c *call, a *mediaIDArgs) (any, string, error) {
			if err := checkID("media_id", a.MediaID); err != nil {
				return nil, "", err
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			if err := facebookOnly(acct, "Deleting media through the API"); err != nil {
				return nil, "", err
			}
			if _, err := acct.Client.DeleteMedia(ctx, a.MediaID); err != nil {
				journal(ctx, d, acct, "delete", "failed", err, a.MediaID)
				if fe := failure.Classify(err); fe.Kind == failure.PermissionDenied {
					fe.Action = "Deleting needs the " + deletePermission + " permission: the Meta app must have it, then log in again with `igmcp auth login --scopes` listing it with the usual permissions."
					return nil, "", fe
				}
				return nil, "", err
			}
			journal(ctx, d, acct, "delete", "deleted", nil, a.MediaID)
			return MediaDeleted{MediaID: a.MediaID, Deleted: true}, "deleted media " + a.MediaID, nil
		})
}

type setCommentsArgs struct {
	MediaID string `json:"media_id" jsonschema_description:"Media id."`
	Enabled *bool  `json:"enabled" jsonschema_description:"false turns them off."`
	AccountArg
}

// CommentsSwitched is the set_comments_enabled result.
type CommentsSwitched struct {
	MediaID        string `json:"media_id"`
	CommentEnabled bool   `json:"comment_enabled"`
}

// SetCommentsEnabled turns comments on a media on or off.
func SetCommentsEnabled(d *Deps) Tool {
	return newTool[setCommentsArgs, CommentsSwitched](d, "set_comments_enabled", "Turn a media's comments on or off.",
		annotations{idempotent: true}, auth.CommentScopes(),
		func(ctx context.Context, c *call, a *setCommentsArgs) (any, string, error) {
			if err := checkID("media_id", a.MediaID); err != nil {
				return nil, "", err
			}
			if a.Enabled == nil {
				return nil, "", invalid("enabled", "enabled is required: true or false")
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			on := *a.Enabled
			if _, err := acct.Client.SetCommentEnabled(ctx, a.MediaID, on); err != nil {
				journal(ctx, d, acct, "moderate", "failed", err, a.MediaID)
				return nil, "", err
			}
			state := map[bool]string{true: "comments_on", false: "comments_off"}[on]
			journal(ctx, d, acct, "moderate", state, nil, a.MediaID)
			return CommentsSwitched{MediaID: a.MediaID, CommentEnabled: on}, fmt.Sprintf("media %s: %s", a.MediaID, state), nil
		})
}

// collaborators reads a media's collaborators for get_media: Facebook
// Login only, and never for Stories (Meta supports neither). A failure is
// the result's collaborators_error, not the tool's: the media itself was
// read.
func collaborators(ctx context.Context, acct *auth.Account, m *graph.MediaInfo) ([]CollaboratorItem, string) {
	if acct.Login == auth.LoginInstagram || m.MediaProductType == "STORY" {
		return nil, ""
	}
	list, _, err := acct.Client.Collaborators(ctx, m.ID)
	if err != nil {
		return nil, errorText(failure.Classify(err))
	}
	out := make([]CollaboratorItem, 0, len(list))
	for _, c := range list {
		out = append(out, CollaboratorItem{ID: c.ID, Username: untrusted(c.Username), InviteStatus: untrusted(c.InviteStatus)})
	}
	return out, ""
}

// CollaboratorItem is one collaborator of a media.
type CollaboratorItem struct {
	ID           string `json:"id,omitempty"`
	Username     string `json:"username"`
	InviteStatus string `json:"invite_status,omitempty"`
}
