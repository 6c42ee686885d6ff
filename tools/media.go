package tools

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/localfile"
	"github.com/igmcp/igmcp/publish"
)

// local is how publish_story sends a local file: the staging bucket, the
// upload tuning, and the upload's progress.
func (d *Deps) local(progress func(sent, total int64)) publish.Local {
	l := publish.Local{Stager: d.Stager, Upload: d.Upload}
	l.Upload.Progress = progress
	return l
}

// checkRoot is the media-root gate (localfile.Policy.Check) every tool
// applies to a file_path before anything opens it.
func (d *Deps) checkRoot(field, path string) error {
	if path == "" {
		return nil
	}
	_, err := d.files().Check(field, path)
	return err
}

func (d *Deps) files() *localfile.Policy {
	if d.Files != nil {
		return d.Files
	}
	p, err := localfile.NewPolicy(localfile.Options{Root: d.MediaRoot})
	if err != nil { // a root that is not a directory: refuse every path
		p, _ = localfile.NewPolicy(localfile.Options{Remote: true})
	}
	return p
}

// filePathOf is the file_path of a post given as arguments
// (validate_post, schedule_post); "" when absent or not a string.
func filePathOf(post map[string]any) string {
	s, _ := post["file_path"].(string)
	return s
}

// progress sends notifications/progress while a tool uploads and waits,
// when (and only when) the client asked for them with a progress token: one
// 0–100 scale, rounded down to a tenth. MCP requires progress to increase;
// the upload and the processing count in different units, and carousel
// items report from several goroutines, so only a value above the last one
// sent goes out.
type progress struct {
	ctx   context.Context
	srv   *server.MCPServer
	token mcp.ProgressToken
	mu    sync.Mutex
	last  float64
}

func newProgress(ctx context.Context, req mcp.CallToolRequest) *progress {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	return &progress{ctx: ctx, srv: srv, token: req.Params.Meta.ProgressToken, last: -1}
}

func (p *progress) send(v float64, msg string) {
	if p == nil {
		return
	}
	v = math.Floor(min(max(v, 0), 100)*10) / 10
	p.mu.Lock()
	defer p.mu.Unlock()
	if v <= p.last {
		return
	}
	p.last = v
	_ = p.srv.SendNotificationToClient(p.ctx, string(mcp.MethodNotificationProgress), map[string]any{
		"progressToken": p.token, "progress": v, "total": 100, "message": msg,
	})
}

// upload reports bytes sent as 0–50.
func (p *progress) upload() func(sent, total int64) {
	if p == nil {
		return nil
	}
	return func(sent, total int64) {
		if total > 0 {
			p.send(50*float64(sent)/float64(total), fmt.Sprintf("uploaded %s of %s", megabytes(sent), megabytes(total)))
		}
	}
}

// megabytes rounds a byte count for a progress message.
func megabytes(n int64) string {
	if n < 10e6 {
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

// wait reports Instagram's processing from base to 100.
func (p *progress) wait(base float64) func(publish.Progress) {
	if p == nil {
		return nil
	}
	return func(pr publish.Progress) {
		f := 0.0
		if pr.Total > 0 {
			f = min(pr.Elapsed.Seconds()/pr.Total.Seconds(), 1)
		}
		p.send(base+(100-base)*f, pr.Message)
	}
}

// MediaItem is one media object in a list.
type MediaItem struct {
	ID            string `json:"id"`
	MediaType     string `json:"media_type,omitempty"`
	ProductType   string `json:"media_product_type,omitempty"`
	Caption       string `json:"caption,omitempty"`
	Permalink     string `json:"permalink,omitempty"`
	Timestamp     string `json:"timestamp,omitempty"`
	LikeCount     *int   `json:"like_count,omitempty"`
	CommentsCount *int   `json:"comments_count,omitempty"`
}

func mediaItem(m graph.Media) MediaItem {
	return MediaItem{ID: m.ID, MediaType: m.MediaType, ProductType: m.MediaProductType, Caption: m.Caption,
		Permalink: m.Permalink, Timestamp: m.Timestamp, LikeCount: m.LikeCount, CommentsCount: m.CommentsCount}
}

type listMediaArgs struct {
	Stories bool `json:"stories,omitempty" jsonschema_description:"Live stories instead."`
	ListOptions
	AccountArg
}

func (listMediaArgs) maxLimit() int { return 100 }

// MediaList is the list_media result.
type MediaList struct {
	Media      []MediaItem `json:"media"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// ListMedia lists the account's recent media (or live stories).
func ListMedia(d *Deps) Tool {
	return newTool[listMediaArgs, MediaList](d, "list_media", "The account's media, newest first.",
		annotations{readOnly: true, idempotent: true}, auth.BasicScopes(),
		func(ctx context.Context, c *call, a *listMediaArgs) (any, string, error) {
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			list := acct.Client.ListMedia
			if a.Stories {
				list = acct.Client.ListStories
			}
			media, resp, err := list(ctx, acct.ID, a.graph())
			if err != nil {
				return nil, "", err
			}
			res := MediaList{Media: []MediaItem{}, NextCursor: nextCursor(resp)}
			for _, m := range media {
				res.Media = append(res.Media, mediaItem(m))
			}
			return res, count(len(res.Media), "media", "media"), nil
		})
}

type mediaIDArgs struct {
	MediaID string `json:"media_id" jsonschema_description:"Media id."`
	AccountArg
}

// MediaDetail is the get_media result.
type MediaDetail struct {
	MediaItem
	Shortcode        string   `json:"shortcode,omitempty"`
	MediaURL         string   `json:"media_url,omitempty"`
	ThumbnailURL     string   `json:"thumbnail_url,omitempty"`
	AltText          string   `json:"alt_text,omitempty"`
	IsCommentEnabled *bool    `json:"is_comment_enabled,omitempty"`
	Children         []string `json:"children,omitempty"`
	// Collaborators (Facebook Login, not Stories); CollaboratorsError says
	// why they could not be read.
	Collaborators      []CollaboratorItem `json:"collaborators,omitempty"`
	CollaboratorsError string             `json:"collaborators_error,omitempty"`
}

// GetMedia reads one of the account's media.
func GetMedia(d *Deps) Tool {
	return newTool[mediaIDArgs, MediaDetail](d, "get_media", "One media's details.",
		annotations{readOnly: true, idempotent: true}, auth.BasicScopes(),
		func(ctx context.Context, c *call, a *mediaIDArgs) (any, string, error) {
			if err := checkID("media_id", a.MediaID); err != nil {
				return nil, "", err
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			m, _, err := acct.Client.GetMediaInfo(ctx, a.MediaID)
			if err != nil {
				return nil, "", err
			}
			res := MediaDetail{MediaItem: mediaItem(m.Media), Shortcode: m.Shortcode, MediaURL: m.MediaURL,
				ThumbnailURL: m.ThumbnailURL, AltText: m.AltText, IsCommentEnabled: m.IsCommentEnabled}
			if m.Children != nil {
				for _, c := range m.Children.Data {
					res.Children = append(res.Children, c.ID)
				}
			}
			res.Collaborators, res.CollaboratorsError = collaborators(ctx, acct, m)
			return res, strings.TrimSpace(fmt.Sprintf("%s %s %s", res.MediaType, res.ID, res.Permalink)), nil
		})
}

// Quota is the content publishing quota (docs/graph-api.md §5): posts used
// and allowed in the rolling window. It is the get_publishing_limit result
// and the quota of validate_post, list_accounts and the accounts resources.
type Quota struct {
	Used            int `json:"quota_usage"`
	Total           int `json:"quota_total"`
	Remaining       int `json:"remaining"`
	DurationSeconds int `json:"quota_duration_seconds"`
}

// quotaOf is the one remaining-quota computation.
func quotaOf(l *graph.PublishingLimit) *Quota {
	return &Quota{Used: l.QuotaUsage, Total: l.QuotaTotal, Remaining: max(l.QuotaTotal-l.QuotaUsage, 0), DurationSeconds: int(l.QuotaDuration.Seconds())}
}

// readQuota reads the account's quota.
func readQuota(ctx context.Context, a *auth.Account) (*Quota, error) {
	l, _, err := a.Client.PublishingLimit(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return quotaOf(l), nil
}

// text is the quota in words.
func (q *Quota) text() string {
	return fmt.Sprintf("%s of %d used in the last %s, %d left", count(q.Used, "post", "posts"), q.Total, hours(q.DurationSeconds), q.Remaining)
}

func hours(seconds int) string {
	if seconds > 0 && seconds%3600 == 0 {
		return count(seconds/3600, "hour", "hours")
	}
	return count(seconds, "second", "seconds")
}

// GetPublishingLimit reads the 24-hour content publishing quota.
func GetPublishingLimit(d *Deps) Tool {
	return newTool[AccountArg, Quota](d, "get_publishing_limit", "Posts used and allowed in 24 hours.",
		annotations{readOnly: true, idempotent: true}, auth.BasicScopes(),
		func(ctx context.Context, c *call, _ *AccountArg) (any, string, error) {
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			q, err := readQuota(ctx, acct)
			if err != nil {
				return nil, "", err
			}
			return q, q.text(), nil
		})
}

// facebookOnly refuses, before any call, a feature Instagram offers only
// with Facebook Login.
func facebookOnly(acct *auth.Account, what string) error {
	if acct.Login != auth.LoginInstagram {
		return nil
	}
	e := failure.New(failure.PermissionDenied, what+" exists only with Facebook Login; this account uses Instagram Login. Nothing was sent to Instagram.")
	e.Action = "Use an account connected through Facebook Login (INSTAGRAM_LOGIN=facebook, a professional account linked to a Page); Instagram Login tokens cannot call this API."
	return e
}
