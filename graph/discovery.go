package graph

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Listing and discovering media (docs/graph-api.md §9): the account's own
// media and stories with cursors, one media object in full, hashtag search
// and hashtag media, media the account is tagged or mentioned in, and
// business discovery of other professional accounts. Hashtag search and
// business discovery exist only with Facebook Login.

// Field sets asked for by default.
const (
	// MediaListFields are the fields of the account's own media lists.
	MediaListFields = "id,media_type,media_product_type,caption,permalink,timestamp,like_count,comments_count"
	// MediaDetailFields are the fields of one media object.
	MediaDetailFields = "id,media_type,media_product_type,caption,permalink,shortcode,timestamp,username,media_url,thumbnail_url,like_count,comments_count,is_comment_enabled,alt_text,children{id,media_type,media_url,permalink}"
	// PublicMediaFields are the fields of other accounts' media (hashtag
	// media may not ask username).
	PublicMediaFields = "id,media_type,caption,permalink,timestamp,like_count,comments_count"
	// MentionedCommentFields are the fields of a comment that mentions the account.
	MentionedCommentFields = "id,text,timestamp,username,like_count,media{id,permalink}"
	// BusinessProfileFields are the profile fields of business discovery.
	BusinessProfileFields = "id,username,name,biography,website,profile_picture_url,followers_count,follows_count,media_count"
)

// Hashtag edges.
const (
	HashtagTopMedia    = "top_media"
	HashtagRecentMedia = "recent_media"
)

var (
	// discUsernameRE is an Instagram username; it is spliced into a field
	// expression, so nothing else may pass.
	discUsernameRE = regexp.MustCompile(`^[A-Za-z0-9._]{1,30}$`)
	// hashtagNameRE: letters, digits and _ (no '#', no emoji, no spaces).
	hashtagNameRE = regexp.MustCompile(`^[\p{L}\p{N}_]{1,100}$`)
	numericIDRE   = regexp.MustCompile(`^[0-9]{1,30}$`)
	// cursorRE: Graph cursors are base64url-ish; anything else could break
	// out of a field expression.
	cursorRE = regexp.MustCompile(`^[A-Za-z0-9_=-]{1,512}$`)
)

// ListOptions are the query parameters of a media list. Zero values are
// not sent.
type ListOptions struct {
	Fields []string // default depends on the list
	Limit  int
	After  string
	Before string
	Since  time.Time // own media only
	Until  time.Time
}

func (o *ListOptions) values(defFields string) url.Values {
	v := url.Values{"fields": {defFields}}
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
	if !o.Since.IsZero() {
		v.Set("since", strconv.FormatInt(o.Since.Unix(), 10))
	}
	if !o.Until.IsZero() {
		v.Set("until", strconv.FormatInt(o.Until.Unix(), 10))
	}
	return v
}

// MediaChild is one item of a carousel.
type MediaChild struct {
	ID        string `json:"id"`
	MediaType string `json:"media_type,omitempty"`
	MediaURL  string `json:"media_url,omitempty"`
	Permalink string `json:"permalink,omitempty"`
}

// MediaInfo is an IG Media object with the fields of MediaDetailFields.
type MediaInfo struct {
	Media
	AltText          string `json:"alt_text,omitempty"`
	IsCommentEnabled *bool  `json:"is_comment_enabled,omitempty"`
	IsSharedToFeed   *bool  `json:"is_shared_to_feed,omitempty"`
	Children         *struct {
		Data []MediaChild `json:"data"`
	} `json:"children,omitempty"`
}

// ListMedia: GET /{igUserID}/media — one page of the account's media,
// newest first (stories excluded).
func (c *Client) ListMedia(ctx context.Context, igUserID string, opts *ListOptions) ([]Media, *Response, error) {
	if igUserID == "" {
		return nil, nil, argError("ListMedia", "empty Instagram user id")
	}
	return list[Media](ctx, c, seg(igUserID)+"/media", opts.values(MediaListFields))
}

// ListStories: GET /{igUserID}/stories — the account's live stories (24 h).
func (c *Client) ListStories(ctx context.Context, igUserID string, opts *ListOptions) ([]Media, *Response, error) {
	if igUserID == "" {
		return nil, nil, argError("ListStories", "empty Instagram user id")
	}
	return list[Media](ctx, c, seg(igUserID)+"/stories", opts.values(MediaListFields))
}

// GetMediaInfo: GET /{mediaID}?fields=MediaDetailFields.
func (c *Client) GetMediaInfo(ctx context.Context, mediaID string) (*MediaInfo, *Response, error) {
	if mediaID == "" {
		return nil, nil, argError("GetMediaInfo", "empty media id")
	}
	out := new(MediaInfo)
	resp, err := c.Do(ctx, http.MethodGet, seg(mediaID), url.Values{"fields": {MediaDetailFields}}, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Hashtag is an IG Hashtag.
type Hashtag struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// ValidHashtagName reports whether name can be searched: letters, digits
// and underscores, without the '#'.
func ValidHashtagName(name string) bool { return hashtagNameRE.MatchString(name) }

// SearchHashtag: GET /ig_hashtag_search?user_id=…&q=… — the id of a
// hashtag. Each new hashtag counts against the account's 30 unique
// hashtags per rolling 7 days. An empty id with a nil error means Instagram
// knows no such hashtag.
func (c *Client) SearchHashtag(ctx context.Context, igUserID, name string) (string, *Response, error) {
	const op = "SearchHashtag"
	if igUserID == "" {
		return "", nil, argError(op, "empty Instagram user id")
	}
	if !ValidHashtagName(name) {
		return "", nil, argError(op, "hashtag names are letters, digits and _ without '#'")
	}
	tags, resp, err := list[Hashtag](ctx, c, "ig_hashtag_search", url.Values{"user_id": {igUserID}, "q": {name}})
	if err != nil || len(tags) == 0 {
		return "", resp, err
	}
	return tags[0].ID, resp, nil
}

// GetHashtag: GET /{hashtagID}?fields=id,name.
func (c *Client) GetHashtag(ctx context.Context, hashtagID string) (*Hashtag, *Response, error) {
	if !numericIDRE.MatchString(hashtagID) {
		return nil, nil, argError("GetHashtag", "hashtag id must be numeric")
	}
	out := new(Hashtag)
	resp, err := c.Do(ctx, http.MethodGet, seg(hashtagID), url.Values{"fields": {"id,name"}}, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// HashtagMedia: GET /{hashtagID}/top_media|recent_media?user_id=… — public
// media with the hashtag (recent: the last 24 hours), at most 50 a page.
func (c *Client) HashtagMedia(ctx context.Context, igUserID, hashtagID, edge string, opts *ListOptions) ([]Media, *Response, error) {
	const op = "HashtagMedia"
	if igUserID == "" {
		return nil, nil, argError(op, "empty Instagram user id")
	}
	if !numericIDRE.MatchString(hashtagID) {
		return nil, nil, argError(op, "hashtag id must be numeric")
	}
	if edge != HashtagTopMedia && edge != HashtagRecentMedia {
		return nil, nil, argError(op, "edge must be top_media or recent_media")
	}
	v := opts.values(PublicMediaFields)
	v.Set("user_id", igUserID)
	return list[Media](ctx, c, seg(hashtagID)+"/"+edge, v)
}

// RecentlySearchedHashtags: GET /{igUserID}/recently_searched_hashtags —
// the hashtags the account searched in the last 7 days (they are the ones
// that count against the 30-hashtag budget).
func (c *Client) RecentlySearchedHashtags(ctx context.Context, igUserID string) ([]Hashtag, *Response, error) {
	if igUserID == "" {
		return nil, nil, argError("RecentlySearchedHashtags", "empty Instagram user id")
	}
	// Meta's reference shows only id on this edge: the name is not asked
	// for, and callers match the list by id.
	return list[Hashtag](ctx, c, seg(igUserID)+"/recently_searched_hashtags", url.Values{"fields": {"id"}, "limit": {"30"}})
}

// TaggedMedia: GET /{igUserID}/tags — media of other accounts in which the
// account is tagged.
func (c *Client) TaggedMedia(ctx context.Context, igUserID string, opts *ListOptions) ([]Media, *Response, error) {
	if igUserID == "" {
		return nil, nil, argError("TaggedMedia", "empty Instagram user id")
	}
	return list[Media](ctx, c, seg(igUserID)+"/tags", opts.values(PublicMediaFields+",username"))
}

// MentionedMedia: GET /{igUserID}?fields=mentioned_media.media_id(…){…} —
// a media (from a mentions webhook) whose caption @mentions the account.
func (c *Client) MentionedMedia(ctx context.Context, igUserID, mediaID string) (*Media, *Response, error) {
	const op = "MentionedMedia"
	if igUserID == "" || !numericIDRE.MatchString(mediaID) {
		return nil, nil, argError(op, "need the account id and a numeric media id")
	}
	var out struct {
		M *Media `json:"mentioned_media"`
	}
	f := "mentioned_media.media_id(" + mediaID + "){" + PublicMediaFields + ",username,media_url}"
	resp, err := c.Do(ctx, http.MethodGet, seg(igUserID), url.Values{"fields": {f}}, &out)
	if err != nil {
		return nil, resp, err
	}
	if out.M == nil {
		return nil, resp, &DecodeError{Method: http.MethodGet, Path: "/" + seg(igUserID), Err: errMissingID}
	}
	return out.M, resp, nil
}

// MentionedComment is a comment that @mentions the account.
type MentionedComment struct {
	Comment
	LikeCount *int `json:"like_count,omitempty"`
	Media     *struct {
		ID        string `json:"id"`
		Permalink string `json:"permalink,omitempty"`
	} `json:"media,omitempty"`
}

// MentionedComment: GET /{igUserID}?fields=mentioned_comment.comment_id(…){…}.
func (c *Client) MentionedComment(ctx context.Context, igUserID, commentID string) (*MentionedComment, *Response, error) {
	const op = "MentionedComment"
	if igUserID == "" || !numericIDRE.MatchString(commentID) {
		return nil, nil, argError(op, "need the account id and a numeric comment id")
	}
	var out struct {
		C *MentionedComment `json:"mentioned_comment"`
	}
	f := "mentioned_comment.comment_id(" + commentID + "){" + MentionedCommentFields + "}"
	resp, err := c.Do(ctx, http.MethodGet, seg(igUserID), url.Values{"fields": {f}}, &out)
	if err != nil {
		return nil, resp, err
	}
	if out.C == nil {
		return nil, resp, &DecodeError{Method: http.MethodGet, Path: "/" + seg(igUserID), Err: errMissingID}
	}
	return out.C, resp, nil
}

// BusinessProfile is what business discovery tells about another
// professional account.
type BusinessProfile struct {
	ID                string `json:"id"`
	Username          string `json:"username,omitempty"`
	Name              string `json:"name,omitempty"`
	Biography         string `json:"biography,omitempty"`
	Website           string `json:"website,omitempty"`
	ProfilePictureURL string `json:"profile_picture_url,omitempty"`
	FollowersCount    *int   `json:"followers_count,omitempty"`
	FollowsCount      *int   `json:"follows_count,omitempty"`
	MediaCount        *int   `json:"media_count,omitempty"`
	// Media is the page of recent media asked for.
	Media []Media `json:"-"`
	// MediaAfter is the cursor of the next page of media, "" at the end.
	MediaAfter string `json:"-"`
}

// BusinessDiscoveryOptions select the media page of business discovery.
type BusinessDiscoveryOptions struct {
	MediaLimit int    // 0: no media; at most 50
	After      string // cursor from BusinessProfile.MediaAfter
}

// BusinessDiscovery: GET /{igUserID}?fields=business_discovery.username(…){…}.
// A personal or unknown username answers 110/2207013 (observed).
func (c *Client) BusinessDiscovery(ctx context.Context, igUserID, username string, o BusinessDiscoveryOptions) (*BusinessProfile, *Response, error) {
	const op = "BusinessDiscovery"
	if igUserID == "" {
		return nil, nil, argError(op, "empty Instagram user id")
	}
	if !discUsernameRE.MatchString(username) {
		return nil, nil, argError(op, "not an Instagram username")
	}
	if o.After != "" && !cursorRE.MatchString(o.After) {
		return nil, nil, argError(op, "malformed cursor")
	}
	sub := BusinessProfileFields
	if o.MediaLimit > 0 {
		media := "media"
		if o.After != "" {
			media += ".after(" + o.After + ")"
		}
		media += ".limit(" + strconv.Itoa(min(o.MediaLimit, 50)) + "){" + PublicMediaFields + ",username,media_product_type}"
		sub += "," + media
	}
	var out struct {
		BD *struct {
			BusinessProfile
			MediaPage *struct {
				Data   []Media     `json:"data"`
				Paging *pagingJSON `json:"paging"`
			} `json:"media"`
		} `json:"business_discovery"`
	}
	f := "business_discovery.username(" + username + "){" + sub + "}"
	resp, err := c.Do(ctx, http.MethodGet, seg(igUserID), url.Values{"fields": {f}}, &out)
	if err != nil {
		return nil, resp, err
	}
	if out.BD == nil {
		return nil, resp, &DecodeError{Method: http.MethodGet, Path: "/" + seg(igUserID), Err: errMissingID}
	}
	p := out.BD.BusinessProfile
	if mp := out.BD.MediaPage; mp != nil {
		p.Media = mp.Data
		if pg := mp.Paging.toPaging(); pg != nil && pg.Next != "" {
			p.MediaAfter = pg.After
		}
	}
	return &p, resp, nil
}
