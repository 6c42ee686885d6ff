package fakegraph

import (
	"net/http"
	"strings"
	"time"
)

type comment struct {
	id       string
	seq      int64
	media    *media
	parent   *comment // nil for top-level comments
	username string
	userID   string
	byOwner  bool // written by the media owner through the API
	text     string
	ts       time.Time
	hidden   bool
	deleted  bool
	replies  []*comment // creation order
}

const maxCommentsPerPage = 50

func (s *Server) newComment(m *media, parent *comment, username, userID, text string) *comment {
	id, seq := s.newID("17850")
	c := &comment{id: id, seq: seq, media: m, parent: parent, username: username, userID: userID, text: text, ts: s.now()}
	c.byOwner = userID == m.acct.ID
	if parent != nil {
		parent.replies = append(parent.replies, c)
	} else {
		m.comments = append(m.comments, c)
	}
	s.objs[id] = c
	s.commentWebhook(c)
	return c
}

// liveComments are the media's top-level comments, newest first (the
// documented reverse chronological order).
func (m *media) liveComments() []*comment {
	return newestFirst(m.comments)
}

// newestFirst lists the live comments newest first. Replies use the same
// order as comments (test assumption: the docs only fix the order of
// top-level comments).
func newestFirst(list []*comment) []*comment {
	var out []*comment
	for i := len(list) - 1; i >= 0; i-- {
		if !list[i].deleted {
			out = append(out, list[i])
		}
	}
	return out
}

func (s *Server) commentGetter(c *comment) getter {
	return func(f field) (any, bool, bool, *apiError) {
		switch f.name {
		case "id":
			return c.id, true, true, nil
		case "text":
			return c.text, true, true, nil
		case "timestamp":
			return isoTime(c.ts), true, true, nil
		case "username":
			return c.username, true, true, nil
		case "from":
			return map[string]string{"id": c.userID, "username": c.username}, true, true, nil
		case "user":
			// only returned when the app user wrote the comment
			return map[string]string{"id": c.userID}, c.byOwner, true, nil
		case "like_count":
			return int(hash64("clikes:"+c.id) % 12), true, true, nil
		case "hidden":
			return c.hidden, true, true, nil
		case "parent_id":
			if c.parent == nil {
				return nil, false, true, nil
			}
			return c.parent.id, true, true, nil
		case "media":
			return map[string]string{"id": c.media.id, "media_product_type": c.media.productType}, true, true, nil
		case "legacy_instagram_comment_id":
			return derivedID("1", "legacyc:"+c.id, 17), true, true, nil
		case "replies":
			sub := f.sub
			if !f.hasSub {
				sub = fieldList("id", "text", "timestamp")
			}
			data, e := s.renderComments(newestFirst(c.replies), sub, f.limit)
			return nestedList(data), e == nil, true, e
		}
		return nil, false, false, nil
	}
}

func (s *Server) renderComments(list []*comment, fields []field, limit int) ([]any, *apiError) {
	if limit <= 0 || limit > maxCommentsPerPage {
		limit = maxCommentsPerPage
	}
	data := []any{}
	for i, c := range list {
		if i == limit {
			break
		}
		v, e := renderNode("IGComment", fields, s.commentGetter(c))
		if e != nil {
			return nil, e
		}
		data = append(data, v)
	}
	return data, nil
}

// listComments answers a comments or replies edge: at most 50 per page,
// cursor paging.
func (s *Server) listComments(w http.ResponseWriter, q *request, list []*comment) *apiError {
	fields, e := fieldsParam(q, "timestamp,text,id")
	if e != nil {
		return e
	}
	items := make([]pageItem, 0, len(list))
	for _, c := range list {
		v, e := renderNode("IGComment", fields, s.commentGetter(c))
		if e != nil {
			return e
		}
		items = append(items, pageItem{key: c.seq, val: v})
	}
	out, e := paginate(q, items, maxCommentsPerPage, maxCommentsPerPage)
	if e != nil {
		return e
	}
	writeJSON(w, 200, out)
	return nil
}

func commentMessage(q *request) (string, *apiError) {
	msg := q.params.Get("message")
	if strings.TrimSpace(msg) == "" {
		return "", errRequired("message")
	}
	return msg, nil
}

// postComment: POST /{ig-media-id}/comments as the media owner.
func (s *Server) postComment(w http.ResponseWriter, q *request, m *media) *apiError {
	msg, e := commentMessage(q)
	if e != nil {
		return e
	}
	if m.productType == "STORY" || m.parent != nil {
		return errParam("Comments are not supported on this media")
	}
	if !m.commentEnabled {
		// test assumption: code 100, no subcode
		return errParam("Comments are disabled for this media")
	}
	c := s.newComment(m, nil, m.acct.Username, m.acct.ID, msg)
	writeJSON(w, 200, map[string]any{"id": c.id})
	return nil
}

func (s *Server) routeComment(w http.ResponseWriter, q *request, c *comment) *apiError {
	if len(q.segs) == 1 {
		switch q.method {
		case http.MethodGet:
			return s.renderAndWrite(w, q, "IGComment", "id", s.commentGetter(c))
		case http.MethodPost:
			b, aerr := requiredBool(q, "hide")
			if aerr != nil {
				return aerr
			}
			c.hidden = b
			writeJSON(w, 200, map[string]any{"success": true})
			return nil
		case http.MethodDelete:
			c.deleted = true
			writeJSON(w, 200, map[string]any{"success": true})
			return nil
		}
		return errUnsupported(q.method, c.id)
	}
	if len(q.segs) > 2 {
		return errUnknownPath("/" + strings.Join(q.segs[1:], "/"))
	}
	if q.segs[1] != "replies" {
		return errUnknownPath("/" + q.segs[1])
	}
	switch q.method {
	case http.MethodGet:
		return s.listComments(w, q, newestFirst(c.replies))
	case http.MethodPost:
		msg, e := commentMessage(q)
		if e != nil {
			return e
		}
		// a reply to a reply goes to the top-level comment; hidden
		// comments cannot be replied to
		top := c
		if c.parent != nil {
			top = c.parent
		}
		if c.hidden || top.hidden {
			// test assumption: code 100, no subcode
			return errParam("Cannot reply to a hidden comment")
		}
		r := s.newComment(c.media, top, c.media.acct.Username, c.media.acct.ID, msg)
		writeJSON(w, 200, map[string]any{"id": r.id})
		return nil
	}
	return errUnsupported(q.method, c.id)
}
