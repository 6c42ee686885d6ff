package tools_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
)

// publishCarousel publishes a two-image carousel through the fake's API
// and returns the carousel's media id and its items' (test setup).
func (e *testEnv) publishCarousel(t *testing.T) (string, []string) {
	t.Helper()
	c, err := graph.NewClient(graph.WithBaseURL(e.base), graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.account.Token})))
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for range 2 {
		ct, _, err := c.CreateContainer(t.Context(), e.account.ID, &graph.ContainerRequest{ImageURL: jpeg, IsCarouselItem: true})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, ct.ID)
	}
	id := e.publishVia(t, &graph.ContainerRequest{MediaType: graph.MediaTypeCarousel, Children: items})
	for _, m := range e.fake.Published(e.account.ID) {
		if m.ID == id {
			return id, m.Children
		}
	}
	t.Fatalf("carousel %s not published", id)
	return "", nil
}

// lastActivity is the newest journal entry, through list_activity.
func lastActivity(t *testing.T, e *testEnv) map[string]any {
	t.Helper()
	entries := mustOK(t, e.call(t, "list_activity", map[string]any{"limit": 1}))["entries"].([]any)
	if len(entries) == 0 {
		t.Fatal("empty journal")
	}
	return entries[0].(map[string]any)
}

func TestDeleteMedia(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{era: era})
			post := e.publishImage(t, jpeg, "bye")
			res := e.call(t, "delete_media", map[string]any{"media_id": post})
			if m := mustOK(t, res); m["media_id"] != post || m["deleted"] != true {
				t.Fatalf("result %v", m)
			}
			if n := e.fake.CountCalls("DELETE", "/"+post); n != 1 {
				t.Fatalf("%d DELETE calls, want 1", n)
			}
			if a := lastActivity(t, e); a["action"] != "delete" || a["outcome"] != "deleted" || !slices.Equal(toStrings(a["graph_ids"]), []string{post}) {
				t.Fatalf("journal %v", a)
			}
			mustErr(t, e.call(t, "get_media", map[string]any{"media_id": post}), "not_found")

			// A whole carousel goes, items included; an item alone is
			// refused (Meta's -1/2207073), with a clear error.
			carousel, items := e.publishCarousel(t)
			errObj := mustErr(t, e.call(t, "delete_media", map[string]any{"media_id": items[0]}), "upstream")
			g := errObj["graph"].(map[string]any)
			if g["code"] != float64(-1) || g["subcode"] != float64(2207073) || errObj["retryable"] != false ||
				!strings.Contains(errObj["action"].(string), "whole carousel") {
				t.Fatalf("item delete error %v", errObj)
			}
			if a := lastActivity(t, e); a["action"] != "delete" || a["outcome"] != "failed" || a["error_kind"] != "upstream" {
				t.Fatalf("journal %v", a)
			}
			mustOK(t, e.call(t, "delete_media", map[string]any{"media_id": carousel}))
			for _, id := range append([]string{carousel}, items...) {
				mustErr(t, e.call(t, "get_media", map[string]any{"media_id": id}), "not_found")
			}
			before := e.fake.CountCalls("DELETE", "")
			if f := mustErr(t, e.call(t, "delete_media", map[string]any{"media_id": "12/../34"}), "invalid_input")["field"]; f != "media_id" {
				t.Fatalf("field %v", f)
			}
			if n := e.fake.CountCalls("DELETE", ""); n != before {
				t.Fatalf("a bad id reached Instagram")
			}
		})
	}
}

// Instagram Login cannot delete through the API: refused before any call.
func TestDeleteMedia_InstagramLoginRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{login: auth.LoginInstagram})
	post := e.publishImage(t, jpeg, "")
	errObj := mustErr(t, e.call(t, "delete_media", map[string]any{"media_id": post}), "permission_denied")
	if !strings.Contains(errObj["message"].(string), "Facebook Login") || !strings.Contains(errObj["message"].(string), "Nothing was sent") {
		t.Fatalf("error %v", errObj)
	}
	if n := e.fake.CountCalls("DELETE", ""); n != 0 {
		t.Fatalf("%d DELETE calls", n)
	}
}

// Without instagram_manage_contents Instagram refuses the delete; the
// error names the permission and how to get it.
func TestDeleteMedia_MissingPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	post := e.publishImage(t, jpeg, "")
	e.fake.Inject(graphFault("DELETE", "/"+post, 400, 200, 0, "(#200) Requires instagram_manage_contents permission to manage the object"))
	errObj := mustErr(t, e.call(t, "delete_media", map[string]any{"media_id": post}), "permission_denied")
	if a := errObj["action"].(string); !strings.Contains(a, "instagram_manage_contents") || !strings.Contains(a, "igmcp auth login --scopes") {
		t.Fatalf("action %q", a)
	}
	if m := e.fake.Published(e.account.ID); len(m) != 1 || m[0].Deleted {
		t.Fatalf("media %+v", m)
	}
}

// IGMCP_CONFIRM: the user sees what will be deleted; declining sends
// nothing, accepting sends the DELETE once.
func TestDeleteMedia_Confirmation(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			no := &elicitor{action: mcp.ElicitationResponseActionDecline}
			e := newMCPEnv(t, mcpEnvOpts{era: era, confirm: true, elicit: no})
			const id = "17900000000000042"
			mustErr(t, e.call(t, context.Background(), "delete_media", map[string]any{"media_id": id}), "permission_denied")
			if n := e.fake.CountCalls("DELETE", ""); n != 0 {
				t.Fatalf("declined, yet %d DELETE calls", n)
			}
			asked := no.messages()
			if len(asked) != 1 || !strings.Contains(asked[0], "Delete this media") || !strings.Contains(asked[0], id) {
				t.Fatalf("dialog %q", asked)
			}
			yes := &elicitor{action: mcp.ElicitationResponseActionAccept, content: map[string]any{"confirm": true}}
			e = newMCPEnv(t, mcpEnvOpts{era: era, confirm: true, elicit: yes})
			// the media does not exist: Instagram says so, after the DELETE was sent
			mustErr(t, e.call(t, context.Background(), "delete_media", map[string]any{"media_id": id}), "not_found")
			if n := e.fake.CountCalls("DELETE", "/"+id); n != 1 {
				t.Fatalf("accepted, %d DELETE calls", n)
			}
		})
	}
}

func TestSetCommentsEnabled(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{era: era})
			post := e.publishImage(t, jpeg, "")
			m := mustOK(t, e.call(t, "set_comments_enabled", map[string]any{"media_id": post, "enabled": false}))
			if m["comment_enabled"] != false || m["media_id"] != post {
				t.Fatalf("result %v", m)
			}
			if id := e.fake.AddComment(post, "fan", "can I comment?"); id != "" {
				t.Fatal("a comment was accepted with comments off")
			}
			if got := mustOK(t, e.call(t, "get_media", map[string]any{"media_id": post}))["is_comment_enabled"]; got != false {
				t.Fatalf("is_comment_enabled %v", got)
			}
			if a := lastActivity(t, e); a["action"] != "moderate" || a["outcome"] != "comments_off" {
				t.Fatalf("journal %v", a)
			}
			mustOK(t, e.call(t, "set_comments_enabled", map[string]any{"media_id": post, "enabled": true}))
			if id := e.fake.AddComment(post, "fan", "now?"); id == "" {
				t.Fatal("comments still off")
			}
			posts := e.fake.CountCalls("POST", "/"+post)
			if f := mustErr(t, e.call(t, "set_comments_enabled", map[string]any{"media_id": post}), "invalid_input")["field"]; f != "enabled" {
				t.Fatalf("field %v", f)
			}
			mustErr(t, e.call(t, "set_comments_enabled", map[string]any{"media_id": post, "enabled": "no"}), "invalid_input")
			if n := e.fake.CountCalls("POST", "/"+post); n != posts || posts != 2 {
				t.Fatalf("POSTs %d then %d, want 2 and no more", posts, n)
			}
		})
	}
}

// reply_comment with media_id answers a mention through
// /{ig-user-id}/mentions: under the mentioning comment, or on the media
// for a caption mention; one POST each.
func TestReplyComment_Mention(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{era: era})
			media, comment := e.fake.SeedMention(e.account.ID, "brand_x", "Look", "which lens?")
			m := mustOK(t, e.call(t, "reply_comment", map[string]any{"media_id": media, "comment_id": comment, "message": "A 35mm!"}))
			caption := mustOK(t, e.call(t, "reply_comment", map[string]any{"media_id": media, "message": "Thanks for the mention"}))
			replies := e.fake.MentionReplies()
			if len(replies) != 2 {
				t.Fatalf("replies %+v", replies)
			}
			r0, r1 := replies[0], replies[1]
			if r0.ID != m["reply_id"] || r0.CommentID != comment || r0.MediaID != media || r0.Text != "A 35mm!" || r0.Username != e.account.Username {
				t.Errorf("comment mention reply %+v, result %v", r0, m)
			}
			if r1.ID != caption["reply_id"] || r1.CommentID != "" || r1.MediaID != media || caption["media_id"] != media {
				t.Errorf("caption mention reply %+v, result %v", r1, caption)
			}
			if n := e.fake.CountCalls("POST", "/mentions"); n != 2 {
				t.Fatalf("%d POST /mentions, want 2", n)
			}
			if a := lastActivity(t, e); a["action"] != "comment" || !slices.Equal(toStrings(a["graph_ids"]), []string{media, caption["reply_id"].(string)}) {
				t.Fatalf("journal %v", a)
			}
			// a media that does not mention the account: Instagram refuses
			other := e.publishImage(t, jpeg, "mine")
			res := e.call(t, "reply_comment", map[string]any{"media_id": other, "message": "hi"})
			if !res.IsError {
				t.Fatal("reply to a media without mention accepted")
			}
			mustErr(t, e.call(t, "reply_comment", map[string]any{"message": "hi"}), "invalid_input")
			mustErr(t, e.call(t, "reply_comment", map[string]any{"media_id": media, "comment_id": "x1", "message": "hi"}), "invalid_input")
			if n := e.fake.CountCalls("POST", "/mentions"); n != 3 {
				t.Fatalf("%d POST /mentions, want 3", n)
			}
		})
	}
}

func TestGetMedia_Collaborators(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	post := e.publishVia(t, &graph.ContainerRequest{ImageURL: jpeg, Collaborators: []string{"alice.co", "bob_co"}})
	m := mustOK(t, e.call(t, "get_media", map[string]any{"media_id": post}))
	cs, _ := m["collaborators"].([]any)
	if len(cs) != 2 {
		t.Fatalf("collaborators %v", m)
	}
	for i, want := range []string{"alice.co", "bob_co"} {
		c := cs[i].(map[string]any)
		if c["username"] != want || (c["invite_status"] != "Pending" && c["invite_status"] != "Accepted") || c["id"] == "" {
			t.Errorf("collaborator %d: %v", i, c)
		}
	}
	story := e.publishVia(t, &graph.ContainerRequest{MediaType: graph.MediaTypeStories, ImageURL: jpeg})
	if _, ok := mustOK(t, e.call(t, "get_media", map[string]any{"media_id": story}))["collaborators"]; ok {
		t.Error("collaborators read for a Story")
	}
	if n := e.fake.CountCalls("GET", "/collaborators"); n != 1 {
		t.Fatalf("%d collaborators reads, want 1 (not for the Story)", n)
	}

	ig := newEnv(t, envOpts{login: auth.LoginInstagram})
	igPost := ig.publishVia(t, &graph.ContainerRequest{ImageURL: jpeg, Collaborators: []string{"alice.co"}})
	if m := mustOK(t, ig.call(t, "get_media", map[string]any{"media_id": igPost})); m["collaborators"] != nil || m["collaborators_error"] != nil {
		t.Errorf("Instagram Login: %v", m)
	}
	if n := ig.fake.CountCalls("GET", "/collaborators"); n != 0 {
		t.Fatalf("Instagram Login read collaborators %d times", n)
	}
}

// A failed collaborators read is part of the result, not a failure.
func TestGetMedia_CollaboratorsError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	post := e.publishImage(t, jpeg, "")
	e.fake.Inject(graphFault("GET", "/collaborators", 400, 10, 0, "(#10) Application does not have permission for this action"))
	m := mustOK(t, e.call(t, "get_media", map[string]any{"media_id": post}))
	if m["id"] != post || !strings.HasPrefix(m["collaborators_error"].(string), "permission_denied") {
		t.Fatalf("result %v", m)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
