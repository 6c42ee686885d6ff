package graph

import (
	"context"
	"net/http"

	"golang.org/x/oauth2"
)

// Default hosts per login flow and the API version igmcp is written against.
const (
	FacebookGraphURL  = "https://graph.facebook.com"
	InstagramGraphURL = "https://graph.instagram.com"
	DefaultAPIVersion = "v25.0"
)

// Client calls the Graph API as one Instagram account. It is safe for
// concurrent use. Build one per account; they may share an *http.Client.
type Client struct {
	// fields are private to the implementation
	hc *http.Client
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the scheme+host (and optional path prefix) of the Graph
// API, e.g. https://graph.facebook.com or an httptest server URL.
func WithBaseURL(u string) Option { panic("todo") }

// WithAPIVersion sets the version path segment, e.g. "v25.0".
func WithAPIVersion(v string) Option { panic("todo") }

// WithHTTPClient sets the HTTP client (timeouts, transport).
func WithHTTPClient(hc *http.Client) Option { panic("todo") }

// WithTokenSource sets where the access token comes from; it is asked on
// every request, so a refreshed token is used at once.
func WithTokenSource(ts oauth2.TokenSource) Option { panic("todo") }

// WithAppSecret enables appsecret_proof on every request.
func WithAppSecret(secret string) Option { panic("todo") }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { panic("todo") }

// WithObserver registers a function called after every response that
// carried a status (success or Graph error) with the parsed usage; the
// rate-limit governor hooks in here.
func WithObserver(fn func(method, path string, status int, u Usage)) Option { panic("todo") }

// NewClient builds a Client. Invalid options give an error, not a panic.
func NewClient(opts ...Option) (*Client, error) { panic("todo") }

// CreateContainer: POST /{igUserID}/media. It asks for
// fields=id,status_code,status (Graph read-after-write) so a container that
// is ready at once needs no status poll; when the answer lacks status_code the
// caller must poll.
func (c *Client) CreateContainer(ctx context.Context, igUserID string, req *ContainerRequest) (*Container, *Response, error) {
	panic("todo")
}

// GetContainer: GET /{containerID}?fields=id,status_code,status.
func (c *Client) GetContainer(ctx context.Context, containerID string) (*Container, *Response, error) {
	panic("todo")
}

// Publish: POST /{igUserID}/media_publish with creation_id, asking
// fields=id,permalink (read-after-write). Permalink may come back empty.
func (c *Client) Publish(ctx context.Context, igUserID, creationID string) (*Media, *Response, error) {
	panic("todo")
}

// GetMedia: GET /{mediaID}?fields=... (default id,media_type,media_product_type,caption,permalink,timestamp).
func (c *Client) GetMedia(ctx context.Context, mediaID string, fields ...string) (*Media, *Response, error) {
	panic("todo")
}

// CreateComment: POST /{mediaID}/comments with message.
func (c *Client) CreateComment(ctx context.Context, mediaID, message string) (*Comment, *Response, error) {
	panic("todo")
}

// ReplyComment: POST /{commentID}/replies with message.
func (c *Client) ReplyComment(ctx context.Context, commentID, message string) (*Comment, *Response, error) {
	panic("todo")
}

// MediaInsights: GET /{mediaID}/insights.
func (c *Client) MediaInsights(ctx context.Context, mediaID string, opts *InsightsOptions) ([]Insight, *Response, error) {
	panic("todo")
}

// UserInsights: GET /{igUserID}/insights.
func (c *Client) UserInsights(ctx context.Context, igUserID string, opts *InsightsOptions) ([]Insight, *Response, error) {
	panic("todo")
}

// PublishingLimit: GET /{igUserID}/content_publishing_limit?fields=quota_usage,config.
func (c *Client) PublishingLimit(ctx context.Context, igUserID string) (*PublishingLimit, *Response, error) {
	panic("todo")
}

// Me: GET /me?fields=user_id,username (Instagram Login) — the professional
// account id and username behind the token.
func (c *Client) Me(ctx context.Context) (igUserID, username string, resp *Response, err error) {
	panic("todo")
}

// PageAccounts: GET /me/accounts?fields=id,name,instagram_business_account{id,username}
// (Facebook Login) — the IG professional accounts linked to the user's Pages.
type PageAccount struct {
	PageID     string
	PageName   string
	IGUserID   string
	IGUsername string
}

func (c *Client) PageAccounts(ctx context.Context) ([]PageAccount, *Response, error) {
	panic("todo")
}
