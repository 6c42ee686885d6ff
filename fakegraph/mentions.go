package fakegraph

import (
	"net/http"
	"strings"
)

// Replying to mentions and reading collaborators (docs/graph-api.md §9):
//
//	POST /{ig-user-id}/mentions   media_id, message, comment_id?   → {"id"}
//	GET  /{ig-media-id}/collaborators (Facebook Login)             → {"data":[{id,username,invite_status}]}
//
// A mention reply is a comment by the account on another account's public
// media: on the media when its caption @mentions the account, or under the
// comment (comment_id) that @mentions it. Both login flows have the edge
// (graph.instagram.com documents it with instagram_business_manage_comments).

// MentionReply is a comment an account wrote through the mentions edge.
type MentionReply struct {
	ID        string
	MediaID   string
	CommentID string // the comment answered; "" for a caption mention
	Username  string // the account that wrote it
	Text      string
}

// MentionReplies returns the comments written through POST
// /{ig-user-id}/mentions, in order.
func (s *Server) MentionReplies() []MentionReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []MentionReply
	for _, m := range s.discovery().media {
		for _, c := range m.comments {
			if c.replyTo != nil || c.mentionReply {
				r := MentionReply{ID: c.id, MediaID: m.id, Username: c.username, Text: c.text}
				if c.replyTo != nil {
					r.CommentID = c.replyTo.id
				}
				out = append(out, r)
			}
		}
	}
	return out
}

// replyToMention serves POST /{ig-user-id}/mentions.
func (s *Server) replyToMention(w http.ResponseWriter, q *request, a *account) *apiError {
	if q.method != http.MethodPost {
		return errUnsupported(q.method, a.ID)
	}
	mediaID := q.params.Get("media_id")
	if mediaID == "" {
		return errRequired("media_id")
	}
	msg, e := commentMessage(q)
	if e != nil {
		return e
	}
	s.discovery()
	m, ok := s.objs[mediaID].(*publicMedia)
	if !ok {
		// the account's own media, a Story, or nothing: the edge only
		// answers mentions by others (test assumption: 100, no subcode,
		// as mentioned_media answers)
		return errParam("The media %s does not mention this account or does not exist", mediaID)
	}
	var target *publicComment
	if id := q.params.Get("comment_id"); id != "" {
		c, ok := s.objs[id].(*publicComment)
		if !ok || c.media != m || !mentions(c.text, a.Username) {
			return errParam("The comment %s does not mention this account or does not exist", id)
		}
		target = c
	} else if !oneOf(m.mentions, strings.ToLower(a.Username)) {
		return errParam("The media %s does not mention this account or does not exist", mediaID)
	}
	c := s.addPublicComment(m, a.Username, msg)
	c.replyTo, c.mentionReply = target, true
	s.mentionWebhooks(m.id, c.id, msg)
	writeJSON(w, 200, map[string]any{"id": c.id})
	return nil
}

func mentions(text, username string) bool {
	return strings.Contains(strings.ToLower(text), "@"+strings.ToLower(username))
}

// collaborators serves GET /{ig-media-id}/collaborators: the usernames the
// container named in `collaborators`, with an invitation status. Test
// assumptions: every collaborator allows collaborator tagging (Meta leaves
// out those who do not); the status is "Pending" or "Accepted", stable
// per media and username; media without collaborators (Stories among
// them) answer an empty list.
func (s *Server) collaborators(w http.ResponseWriter, q *request, m *media) *apiError {
	if q.method != http.MethodGet {
		return errUnsupported(q.method, m.id)
	}
	if m.acct.Login != LoginFacebook {
		// the edge is documented for Facebook Login only
		return errUnknownPath("/collaborators")
	}
	data := []any{}
	if m.container != nil {
		names, _ := parseList(m.container.params.Get("collaborators"))
		for _, u := range names {
			status := "Pending"
			if hash64("collab:"+m.id+":"+u)%2 == 0 {
				status = "Accepted"
			}
			data = append(data, map[string]any{"id": igsid(u), "username": u, "invite_status": status})
		}
	}
	writeJSON(w, 200, map[string]any{"data": data})
	return nil
}
