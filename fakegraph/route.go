package fakegraph

import (
	"net/http"
	"strings"
	"time"
)

type media struct {
	id          string
	seq         int64
	acct        *account
	container   *container
	mediaType   string
	productType string
	caption     string
	permalink   string
	shortcode   string
	timestamp   time.Time
	mediaURL    string
	thumbURL    string
	altText     string
	children    []*media
	parent      *media
	comments    []*comment // top-level, creation order

	commentEnabled, shareToFeed, aiGenerated, deleted bool
}

func (m *media) snapshot() Media {
	out := Media{ID: m.id, AccountID: m.acct.ID, ContainerID: m.container.id, MediaType: m.mediaType,
		ProductType: m.productType, Caption: m.caption, Permalink: m.permalink, Shortcode: m.shortcode,
		Timestamp: m.timestamp, MediaURL: m.mediaURL, Deleted: m.deleted}
	for _, c := range m.children {
		out.Children = append(out.Children, c.id)
	}
	return out
}

// likeCount is a stable, plausible like count.
func (m *media) likeCount() int {
	if m.parent != nil {
		return 0
	}
	return 3 + int(hash64("likes:"+m.id)%250)
}

func (m *media) commentsCount() int {
	n := 0
	for _, c := range m.comments {
		if !c.deleted {
			n++
			for _, r := range c.replies {
				if !r.deleted {
					n++
				}
			}
		}
	}
	return n
}

// route dispatches an authenticated call.
func (s *Server) route(w http.ResponseWriter, q *request) *apiError {
	if len(q.segs) == 0 {
		return errUnsupported(q.method, "")
	}
	id := q.segs[0]
	ti := q.ti
	if id == "ig_hashtag_search" {
		return s.hashtagSearch(w, q)
	}
	if id == "me" {
		if ti.login == LoginInstagram {
			return s.routeUser(w, q, ti.accounts[0], true)
		}
		return s.routeFBUser(w, q)
	}
	if a := s.acctByID[id]; a != nil {
		if !ti.owns(a) {
			return errUnsupported(q.method, id)
		}
		return s.routeUser(w, q, a, false)
	}
	if a := s.pages[id]; a != nil {
		if !ti.owns(a) || ti.login != LoginFacebook {
			return errUnsupported(q.method, id)
		}
		if len(q.segs) == 2 && q.segs[1] == "subscribed_apps" {
			return s.pageSubscribedApps(w, q, a)
		}
		if len(q.segs) > 1 {
			return errUnknownPath("/" + strings.Join(q.segs[1:], "/"))
		}
		if q.method != http.MethodGet {
			return errUnsupported(q.method, id)
		}
		return s.renderAndWrite(w, q, "Page", "id,name", s.pageGetter(a))
	}
	switch o := s.objs[id].(type) {
	case *container:
		if !ti.owns(o.acct) {
			return errUnsupported(q.method, id)
		}
		if len(q.segs) > 1 {
			return errUnknownPath("/" + strings.Join(q.segs[1:], "/"))
		}
		if q.method != http.MethodGet {
			return errUnsupported(q.method, id)
		}
		return s.getContainer(w, q, o)
	case *media:
		if o.deleted || !ti.owns(o.acct) {
			return errUnsupported(q.method, id)
		}
		return s.routeMedia(w, q, o)
	case *comment:
		if o.deleted || !ti.owns(o.media.acct) {
			return errUnsupported(q.method, id)
		}
		return s.routeComment(w, q, o)
	case *hashtag:
		return s.routeHashtag(w, q, o)
	}
	return errUnsupported(q.method, id)
}

func (s *Server) renderAndWrite(w http.ResponseWriter, q *request, node, def string, get getter) *apiError {
	fields, e := fieldsParam(q, def)
	if e != nil {
		return e
	}
	out, e := renderNode(node, fields, get)
	if e != nil {
		return e
	}
	writeJSON(w, 200, out)
	return nil
}

// routeFBUser serves /me and /me/accounts for a Facebook Login token.
func (s *Server) routeFBUser(w http.ResponseWriter, q *request) *apiError {
	ti := q.ti
	if len(q.segs) == 1 {
		if q.method != http.MethodGet {
			return errUnsupported(q.method, ti.fbUserID)
		}
		return s.renderAndWrite(w, q, "User", "id,name", func(f field) (any, bool, bool, *apiError) {
			switch f.name {
			case "id":
				return ti.fbUserID, true, true, nil
			case "name":
				return "Sandbox User", true, true, nil
			}
			return nil, false, false, nil
		})
	}
	if len(q.segs) == 2 && q.segs[1] == "accounts" && q.method == http.MethodGet {
		fields, e := fieldsParam(q, "id,name")
		if e != nil {
			return e
		}
		var items []pageItem
		for i, a := range ti.accounts {
			v, e := renderNode("Page", fields, s.pageGetter(a))
			if e != nil {
				return e
			}
			// keys descend in list order, as paginate expects
			items = append(items, pageItem{key: int64(len(ti.accounts) - i), val: v})
		}
		out, e := paginate(q, items, 25, 100)
		if e != nil {
			return e
		}
		writeJSON(w, 200, out)
		return nil
	}
	if len(q.segs) == 2 && q.segs[1] == "permissions" && q.method == http.MethodGet {
		return s.mePermissions(w, q) // permissions.go
	}
	return errUnknownPath("/" + strings.Join(q.segs[1:], "/"))
}

func (s *Server) pageGetter(a *account) getter {
	return func(f field) (any, bool, bool, *apiError) {
		switch f.name {
		case "id":
			return a.pageID, true, true, nil
		case "name":
			return a.Username + " (Page)", true, true, nil
		case "category":
			return "Digital creator", true, true, nil
		case "tasks":
			return []string{"ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"}, true, true, nil
		case "access_token":
			// documented, but the fake never hands out tokens
			return nil, false, true, nil
		case "instagram_business_account":
			sub := f.sub
			if !f.hasSub {
				sub = fieldList("id")
			}
			v, e := renderNode("IGUser", sub, s.userGetter(a, false))
			return v, e == nil, true, e
		}
		return nil, false, false, nil
	}
}

func (s *Server) userGetter(a *account, viaMe bool) getter {
	instagram := a.Login == LoginInstagram
	return func(f field) (any, bool, bool, *apiError) {
		switch f.name {
		case "id":
			if viaMe {
				return a.appScopedID, true, true, nil
			}
			return a.ID, true, true, nil
		case "user_id", "account_type":
			if !instagram {
				return nil, false, false, nil
			}
			if f.name == "account_type" {
				return "MEDIA_CREATOR", true, true, nil
			}
			return a.ID, true, true, nil
		case "username":
			return a.Username, true, true, nil
		case "name":
			return strings.ReplaceAll(a.Username, "_", " "), true, true, nil
		case "biography":
			return "Simulated account (igmcp sandbox).", true, true, nil
		case "website":
			return "https://example.com/", true, true, nil
		case "profile_picture_url":
			return "https://scontent.cdninstagram.com/v/t51/fakegraph/" + a.ID + "_profile.jpg", true, true, nil
		case "followers_count":
			return s.followers(a), true, true, nil
		case "follows_count":
			return 100 + int(hash64("follows:"+a.ID)%900), true, true, nil
		case "media_count":
			return len(s.feedMedia(a)), true, true, nil
		case "ig_id":
			return int64(hash64("igid:"+a.ID) % 1e10), true, true, nil
		}
		return nil, false, false, nil
	}
}

// feedMedia is the account's live media for GET /{ig-user-id}/media:
// newest first, no stories, no carousel children, nothing deleted.
func (s *Server) feedMedia(a *account) []*media {
	var out []*media
	for i := len(a.published) - 1; i >= 0; i-- {
		m := s.objs[a.published[i]].(*media)
		if !m.deleted && m.productType != "STORY" {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) routeUser(w http.ResponseWriter, q *request, a *account, viaMe bool) *apiError {
	if len(q.segs) == 1 {
		if q.method != http.MethodGet {
			return errUnsupported(q.method, a.ID)
		}
		return s.renderAndWrite(w, q, "IGUser", "id", s.discoveryUserGetter(q, a, s.userGetter(a, viaMe)))
	}
	if len(q.segs) > 2 {
		return errUnknownPath("/" + strings.Join(q.segs[1:], "/"))
	}
	edge := q.segs[1]
	switch {
	case edge == "media" && q.method == http.MethodPost:
		return s.createContainer(w, q, a)
	case edge == "media" && q.method == http.MethodGet:
		return s.listMedia(w, q, s.feedMedia(a), 25, 100)
	case edge == "media_publish" && q.method == http.MethodPost:
		return s.publish(w, q, a)
	case edge == "content_publishing_limit" && q.method == http.MethodGet:
		return s.publishingLimit(w, q, a)
	case edge == "insights" && q.method == http.MethodGet:
		return s.userInsights(w, q, a)
	case edge == "stories" && q.method == http.MethodGet:
		var live []*media
		cut := s.now().Add(-24 * time.Hour)
		for i := len(a.published) - 1; i >= 0; i-- {
			m := s.objs[a.published[i]].(*media)
			if !m.deleted && m.productType == "STORY" && m.timestamp.After(cut) {
				live = append(live, m)
			}
		}
		return s.listMedia(w, q, live, 25, 100)
	case edge == "tags" && q.method == http.MethodGet:
		return s.taggedMedia(w, q, a)
	case edge == "recently_searched_hashtags" && q.method == http.MethodGet:
		return s.recentlySearched(w, q, a)
	case edge == "subscribed_apps":
		return s.subscribedApps(w, q, a)
	case edge == "mentions":
		return s.replyToMention(w, q, a)
	case edge == "media", edge == "media_publish", edge == "content_publishing_limit", edge == "insights", edge == "stories", edge == "tags", edge == "recently_searched_hashtags":
		return errUnsupported(q.method, a.ID)
	}
	return errUnknownPath("/" + edge)
}

func (s *Server) listMedia(w http.ResponseWriter, q *request, list []*media, def, max int) *apiError {
	fields, e := fieldsParam(q, "id")
	if e != nil {
		return e
	}
	since, until, e := timeRange(q)
	if e != nil {
		return e
	}
	var items []pageItem
	for _, m := range list {
		if !since.IsZero() && m.timestamp.Before(since) || !until.IsZero() && !m.timestamp.Before(until) {
			continue
		}
		v, e := renderNode("IGMedia", fields, s.mediaGetter(m))
		if e != nil {
			return e
		}
		items = append(items, pageItem{key: m.seq, val: v})
	}
	out, e := paginate(q, items, def, max)
	if e != nil {
		return e
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Server) mediaGetter(m *media) getter {
	fbLogin := m.acct.Login == LoginFacebook
	return func(f field) (any, bool, bool, *apiError) {
		switch f.name {
		case "id":
			return m.id, true, true, nil
		case "media_type":
			return m.mediaType, true, true, nil
		case "media_product_type":
			return m.productType, true, true, nil
		case "caption":
			return m.caption, m.caption != "", true, nil
		case "permalink":
			return m.permalink, true, true, nil
		case "shortcode":
			return m.shortcode, true, true, nil
		case "timestamp":
			return isoTime(m.timestamp), true, true, nil
		case "username":
			return m.acct.Username, true, true, nil
		case "like_count":
			return m.likeCount(), true, true, nil
		case "comments_count":
			return m.commentsCount(), true, true, nil
		case "media_url":
			return m.mediaURL, true, true, nil
		case "thumbnail_url":
			return m.thumbURL, m.thumbURL != "", true, nil
		case "is_comment_enabled":
			return m.commentEnabled, true, true, nil
		case "is_shared_to_feed":
			return m.shareToFeed, m.productType == "REELS", true, nil
		case "alt_text":
			return m.altText, m.altText != "", true, nil
		case "is_ai_generated":
			return m.container.aiGenerated, true, true, nil
		case "media_audio_type":
			return nil, false, true, nil
		case "legacy_instagram_media_id":
			return derivedID("3", "legacy:"+m.id, 18), true, true, nil
		case "owner":
			sub := f.sub
			if !f.hasSub {
				sub = fieldList("id")
			}
			v, e := renderNode("IGUser", sub, s.userGetter(m.acct, false))
			return v, e == nil, true, e
		case "children":
			if m.mediaType != "CAROUSEL_ALBUM" {
				return nil, false, true, nil
			}
			sub := f.sub
			if !f.hasSub {
				sub = fieldList("id")
			}
			var data []any
			for _, ch := range m.children {
				v, e := renderNode("IGMedia", sub, s.mediaGetter(ch))
				if e != nil {
					return nil, false, true, e
				}
				data = append(data, v)
			}
			return nestedList(data), true, true, nil
		case "comments":
			sub := f.sub
			if !f.hasSub {
				sub = fieldList("id", "text", "timestamp")
			}
			data, e := s.renderComments(m.liveComments(), sub, f.limit)
			return nestedList(data), e == nil, true, e
		case "shares_count", "saved_count", "reposts_count":
			// labelled "Facebook Login only" on the IG Media reference
			if !fbLogin {
				return nil, false, false, nil
			}
			return int(hash64(f.name+":"+m.id) % 40), true, true, nil
		}
		return nil, false, false, nil
	}
}

func (s *Server) routeMedia(w http.ResponseWriter, q *request, m *media) *apiError {
	if len(q.segs) == 1 {
		switch q.method {
		case http.MethodGet:
			return s.renderAndWrite(w, q, "IGMedia", "id", s.mediaGetter(m))
		case http.MethodPost:
			b, aerr := requiredBool(q, "comment_enabled")
			if aerr != nil {
				return aerr
			}
			m.commentEnabled = b
			writeJSON(w, 200, map[string]any{"success": true})
			return nil
		case http.MethodDelete:
			if m.acct.Login != LoginFacebook {
				return errUnsupported(q.method, m.id)
			}
			if m.productType == "STORY" || m.parent != nil {
				return errIG(-1, 2207073, "Media Type Not Supported", "", "", false)
			}
			m.deleted = true
			for _, ch := range m.children {
				ch.deleted = true
			}
			writeJSON(w, 200, map[string]any{"success": true, "deleted_id": m.id})
			return nil
		}
		return errUnsupported(q.method, m.id)
	}
	if len(q.segs) > 2 {
		return errUnknownPath("/" + strings.Join(q.segs[1:], "/"))
	}
	switch edge := q.segs[1]; {
	case edge == "comments" && q.method == http.MethodGet:
		return s.listComments(w, q, m.liveComments())
	case edge == "comments" && q.method == http.MethodPost:
		return s.postComment(w, q, m)
	case edge == "insights" && q.method == http.MethodGet:
		return s.mediaInsights(w, q, m)
	case edge == "collaborators":
		return s.collaborators(w, q, m)
	case edge == "children" && q.method == http.MethodGet:
		fields, e := fieldsParam(q, "id")
		if e != nil {
			return e
		}
		var data []any
		for _, ch := range m.children {
			v, e := renderNode("IGMedia", fields, s.mediaGetter(ch))
			if e != nil {
				return e
			}
			data = append(data, v)
		}
		if data == nil {
			data = []any{}
		}
		writeJSON(w, 200, nestedList(data))
		return nil
	case edge == "comments", edge == "insights", edge == "children":
		return errUnsupported(q.method, m.id)
	default:
		return errUnknownPath("/" + edge)
	}
}
