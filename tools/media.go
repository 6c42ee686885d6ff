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
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/publish"
)

// MediaDeps are what the media, story, validation and discovery tools need
// beyond Deps. A nil *MediaDeps means: preflight off, no staging bucket,
// default uploads and a hashtag budget kept in memory only.
type MediaDeps struct {
	// Preflight checks media before containers are created
	// (IGMCP_PREFLIGHT=on); nil when off.
	Preflight *preflight.Checker
	// Stager stages image files given as file_path (IGMCP_STAGING_*); nil
	// without a bucket.
	Stager publish.Stager
	// MediaRoot, when set (IGMCP_MEDIA_ROOT), is the only directory
	// file_path may point into. Files, when set, wins over it.
	MediaRoot string
	// Files is the media-root gate for file_path (IGMCP_MEDIA_ROOT and the
	// transport's default, docs/reference.md §2); nil: one built from
	// MediaRoot with the stdio defaults.
	Files *localfile.Policy
	// Upload tunes resumable uploads (chunk size, attempts).
	Upload graph.UploadOptions
	// Hashtags tracks the 30-hashtags-per-7-days budget per account
	// (shared through the store when it has one).
	Hashtags *HashtagBudget
}

func (m *MediaDeps) checker() *preflight.Checker {
	if m == nil {
		return nil
	}
	return m.Preflight
}

func (m *MediaDeps) local(progress func(sent, total int64)) publish.Local {
	var l publish.Local
	if m != nil {
		l.Stager, l.Upload = m.Stager, m.Upload
	}
	l.Upload.Progress = progress
	return l
}

// checkRoot is the media-root gate (localfile.Policy.Check) every tool
// applies to a file_path before anything opens it.
func (m *MediaDeps) checkRoot(field, path string) error {
	if path == "" {
		return nil
	}
	_, err := m.files().Check(field, path)
	return err
}

func (m *MediaDeps) files() *localfile.Policy {
	if m != nil && m.Files != nil {
		return m.Files
	}
	var o localfile.Options
	if m != nil {
		o.Root = m.MediaRoot
	}
	p, err := localfile.NewPolicy(o)
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

// progress sends monotonic notifications/progress on a 0–100 scale for a
// call with an upload phase and a processing phase (MCP requires progress
// to increase; the two phases count in different units).
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
			p.send(50*float64(sent)/float64(total), fmt.Sprintf("uploaded %.1f of %.1f MB", float64(sent)/1e6, float64(total)/1e6))
		}
	}
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

// PageArgs are the paging arguments of list tools.
type PageArgs struct {
	Limit  int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=100" jsonschema_description:"Page size."`
	Cursor string `json:"cursor,omitempty" jsonschema_description:"next_cursor of the last page."`
}

func (p PageArgs) options(max int) (*graph.ListOptions, error) {
	if p.Limit < 0 || p.Limit > max {
		return nil, invalid("limit", "limit must be between 1 and %d", max)
	}
	if len(p.Cursor) > 512 || strings.ContainsAny(p.Cursor, " \t\r\n&?#") {
		return nil, invalid("cursor", "cursor must be the next_cursor of a previous page")
	}
	return &graph.ListOptions{Limit: p.Limit, After: p.Cursor}, nil
}

// nextCursor is the cursor of the next page, "" on the last one.
func nextCursor(resp *graph.Response) string {
	if resp == nil || resp.Paging == nil || resp.Paging.Next == "" {
		return ""
	}
	return resp.Paging.After
}

type listMediaArgs struct {
	Stories bool `json:"stories,omitempty" jsonschema_description:"Live stories instead."`
	PageArgs
	AccountArg
}

// MediaList is the list_media result.
type MediaList struct {
	Media      []MediaItem `json:"media"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// ListMedia lists the account's recent media (or live stories).
func ListMedia(d *Deps) Tool {
	return Tool{
		Toolset:  ToolsetInsights,
		ReadOnly: true,
		Tool: tool("list_media",
			"The account's media (or live stories), newest first.",
			inputSchema[listMediaArgs](), outputSchema[MediaList](),
			annotations{readOnly: true, idempotent: true}),
		Handler: bind(d, func(ctx context.Context, _ mcp.CallToolRequest, a *listMediaArgs) (any, string, error) {
			opts, err := a.options(100)
			if err != nil {
				return nil, "", err
			}
			acct, err := d.Accounts.Resolve(ctx, a.Account)
			if err != nil {
				return nil, "", err
			}
			list := acct.Client.ListMedia
			if a.Stories {
				list = acct.Client.ListStories
			}
			media, resp, err := list(ctx, acct.ID, opts)
			if err != nil {
				return nil, "", err
			}
			res := MediaList{Media: []MediaItem{}, NextCursor: nextCursor(resp)}
			for _, m := range media {
				res.Media = append(res.Media, mediaItem(m))
			}
			return res, fmt.Sprintf("%d media", len(res.Media)), nil
		}),
	}
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
}

// GetMedia reads one of the account's media.
func GetMedia(d *Deps) Tool {
	return Tool{
		Toolset:  ToolsetInsights,
		ReadOnly: true,
		Tool: tool("get_media",
			"One media: type, caption, permalink, counts, items.",
			inputSchema[mediaIDArgs](), outputSchema[MediaDetail](),
			annotations{readOnly: true, idempotent: true}),
		Handler: bind(d, func(ctx context.Context, _ mcp.CallToolRequest, a *mediaIDArgs) (any, string, error) {
			if err := checkID("media_id", a.MediaID); err != nil {
				return nil, "", err
			}
			acct, err := d.Accounts.Resolve(ctx, a.Account)
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
			return res, fmt.Sprintf("%s %s %s", res.MediaType, res.ID, res.Permalink), nil
		}),
	}
}

// PublishingLimit is the get_publishing_limit result.
type PublishingLimit struct {
	QuotaUsage      int `json:"quota_usage"`
	QuotaTotal      int `json:"quota_total"`
	Remaining       int `json:"remaining"`
	DurationSeconds int `json:"quota_duration_seconds"`
}

// GetPublishingLimit reads the 24-hour content publishing quota.
func GetPublishingLimit(d *Deps) Tool {
	return Tool{
		Toolset:  ToolsetPublish,
		ReadOnly: true,
		Tool: tool("get_publishing_limit",
			"Posts used and allowed in 24 hours.",
			inputSchema[AccountArg](), outputSchema[PublishingLimit](),
			annotations{readOnly: true, idempotent: true}),
		Handler: bind(d, func(ctx context.Context, _ mcp.CallToolRequest, a *AccountArg) (any, string, error) {
			acct, err := d.Accounts.Resolve(ctx, a.Account)
			if err != nil {
				return nil, "", err
			}
			l, _, err := acct.Client.PublishingLimit(ctx, acct.ID)
			if err != nil {
				return nil, "", err
			}
			res := PublishingLimit{QuotaUsage: l.QuotaUsage, QuotaTotal: l.QuotaTotal, Remaining: max(l.QuotaTotal-l.QuotaUsage, 0), DurationSeconds: int(l.QuotaDuration.Seconds())}
			return res, fmt.Sprintf("%d of %d posts used in the last %d hours", res.QuotaUsage, res.QuotaTotal, res.DurationSeconds/3600), nil
		}),
	}
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

// MediaTools are the publishing, comment, media and discovery tools of
// issue 7, in display order (tools.All appends them).
func MediaTools(d *Deps, m *MediaDeps) []Tool {
	return []Tool{
		PublishStory(d, m),
		ValidatePost(d, m),
		GetPublishingLimit(d),
		ListComments(d),
		CreateComment(d),
		ModerateComment(d),
		ListMedia(d),
		GetMedia(d),
		SearchHashtag(d, m),
		GetHashtagMedia(d),
		ListMentions(d),
		GetBusinessProfile(d),
	}
}
