package graph

import (
	"encoding/json"
	"net/http"
	"time"
)

// Container status codes (IG Container `status_code`).
const (
	StatusInProgress = "IN_PROGRESS"
	StatusFinished   = "FINISHED"
	StatusPublished  = "PUBLISHED"
	StatusError      = "ERROR"
	StatusExpired    = "EXPIRED"
)

// Media types accepted by POST /{ig-user-id}/media. An empty MediaType is a
// single feed image.
const (
	MediaTypeCarousel = "CAROUSEL"
	MediaTypeReels    = "REELS"
	MediaTypeStories  = "STORIES"
	MediaTypeVideo    = "VIDEO" // only for carousel video items
)

// UserTag is one entry of the `user_tags` container parameter.
type UserTag struct {
	Username string   `json:"username"`
	X        *float64 `json:"x,omitempty"` // nil: no position (Stories only)
	Y        *float64 `json:"y,omitempty"`
}

// ContainerRequest holds the parameters of POST /{ig-user-id}/media.
// Zero values are not sent.
type ContainerRequest struct {
	MediaType      string       // "", CAROUSEL, REELS, STORIES, VIDEO
	ImageURL       string       // image_url
	VideoURL       string       // video_url
	IsCarouselItem bool         // is_carousel_item=true
	Children       []string     // children, sent comma-separated
	Caption        string       // caption
	AltText        string       // alt_text
	LocationID     string       // location_id
	UserTags       []UserTag    // user_tags (JSON array)
	Collaborators  []string     // collaborators (JSON array)
	CoverURL       string       // cover_url
	ThumbOffset    *int         // thumb_offset in ms
	ShareToFeed    *bool        // share_to_feed
	AudioName      string       // audio_name
	UploadType     string       // upload_type ("resumable")
	TrialParams    *TrialParams // trial_params (Reels only)
	Labels                      // is_ai_generated, is_paid_partnership, branded_content_sponsor_ids
}

// TrialParams makes a Reel a trial reel, shown to non-followers first.
type TrialParams struct {
	// GraduationStrategy is MANUAL or SS_PERFORMANCE.
	GraduationStrategy string `json:"graduation_strategy"`
}

// Container is an IG Container as read back from the API.
type Container struct {
	ID         string `json:"id"`
	StatusCode string `json:"status_code,omitempty"`
	// Status is the human string, e.g. "Error: Media upload has failed with
	// error code 2207026"; ErrorSubcode parses the trailing code.
	Status string `json:"status,omitempty"`
	// URI is set for resumable uploads.
	URI string `json:"uri,omitempty"`
}

// Media is an IG Media object (only the fields igmcp reads).
type Media struct {
	ID               string `json:"id"`
	MediaType        string `json:"media_type,omitempty"`
	MediaProductType string `json:"media_product_type,omitempty"`
	Caption          string `json:"caption,omitempty"`
	Permalink        string `json:"permalink,omitempty"`
	Shortcode        string `json:"shortcode,omitempty"`
	Timestamp        string `json:"timestamp,omitempty"`
	Username         string `json:"username,omitempty"`
	MediaURL         string `json:"media_url,omitempty"`
	ThumbnailURL     string `json:"thumbnail_url,omitempty"`
	LikeCount        *int   `json:"like_count,omitempty"`
	CommentsCount    *int   `json:"comments_count,omitempty"`
}

// Comment is an IG Comment.
type Comment struct {
	ID        string `json:"id"`
	Text      string `json:"text,omitempty"`
	Timestamp string `json:"timestamp,omitempty"`
	Username  string `json:"username,omitempty"`
	From      *struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"from,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	Hidden   bool   `json:"hidden,omitempty"`
}

// InsightsOptions are the query parameters of the insights edges.
type InsightsOptions struct {
	Metrics    []string // metric (required), sent comma-separated
	Period     string   // period
	MetricType string   // metric_type: total_value | time_series (account only)
	Breakdown  string   // breakdown
	Timeframe  string   // timeframe (demographics)
	Since      time.Time
	Until      time.Time
}

// Insight is one element of an insights response `data` array.
type Insight struct {
	Name        string         `json:"name"`
	Period      string         `json:"period"`
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description,omitempty"`
	ID          string         `json:"id,omitempty"`
	Values      []InsightValue `json:"values,omitempty"`
	TotalValue  *InsightTotal  `json:"total_value,omitempty"`
}

// InsightValue is one value of a time series; Value is a number or, for
// demographics, an object.
type InsightValue struct {
	Value   json.RawMessage `json:"value"`
	EndTime string          `json:"end_time,omitempty"`
}

// InsightTotal is the `total_value` of an insight.
type InsightTotal struct {
	Value      json.RawMessage    `json:"value"`
	Breakdowns []InsightBreakdown `json:"breakdowns,omitempty"`
}

// InsightBreakdown is one breakdown of a total value.
type InsightBreakdown struct {
	DimensionKeys []string `json:"dimension_keys"`
	Results       []struct {
		DimensionValues []string        `json:"dimension_values"`
		Value           json.RawMessage `json:"value"`
	} `json:"results"`
}

// PublishingLimit is GET /{ig-user-id}/content_publishing_limit.
type PublishingLimit struct {
	QuotaUsage    int           // posts published in the window
	QuotaTotal    int           // config.quota_total
	QuotaDuration time.Duration // config.quota_duration
}

// Paging is the cursor paging block of list responses.
type Paging struct {
	Before   string
	After    string
	Next     string // full URL, credentials redacted; only its presence matters to callers
	Previous string // as Next
}

// Response wraps the HTTP response with what igmcp reads from every answer.
type Response struct {
	*http.Response
	Usage  Usage   // parsed usage headers (may be empty)
	Paging *Paging // list responses only
}
