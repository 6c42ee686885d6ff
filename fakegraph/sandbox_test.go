package fakegraph

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// POST /{ig-user-id}/mentions: a reply under the mentioning comment, or on
// a media whose caption mentions the account; anything else is refused.
func TestReplyToMention(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	c := start(t, s)
	media, comment := s.SeedMention(acct, "brand_x", "Look", "which lens?")
	a := c.do("POST", "/"+acct+"/mentions", vals("media_id", media, "comment_id", comment, "message", "A 35mm"))
	if a.status != 200 || a.str("id") == "" {
		t.Fatalf("comment mention: %d %s", a.status, a.raw)
	}
	b := c.do("POST", "/"+acct+"/mentions", vals("media_id", media, "message", "Thanks!"))
	if b.status != 200 {
		t.Fatalf("caption mention: %d %s", b.status, b.raw)
	}
	got := s.MentionReplies()
	want := []MentionReply{
		{ID: a.str("id"), MediaID: media, CommentID: comment, Username: DefaultAccount.Username, Text: "A 35mm"},
		{ID: b.str("id"), MediaID: media, Username: DefaultAccount.Username, Text: "Thanks!"},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("replies %+v, want %+v", got, want)
	}
	plain := s.AddPublicMedia(PublicMedia{Username: "brand_x", Caption: "no mention here"})
	other := s.AddPublicComment(plain, "brand_y", "nice")
	own := c.post("https://example.com/a.jpg", "mine")
	for name, p := range map[string][]string{
		"no media_id":            {"message", "x"},
		"no message":             {"media_id", media},
		"caption without @":      {"media_id", plain, "message", "x"},
		"comment without @":      {"media_id", plain, "comment_id", other, "message", "x"},
		"comment of other media": {"media_id", plain, "comment_id", comment, "message", "x"},
		"own media":              {"media_id", own, "message", "x"},
	} {
		if a := c.do("POST", "/"+acct+"/mentions", vals(p...)); a.code() != 100 {
			t.Errorf("%s: %d %s", name, a.status, a.raw)
		}
	}
	if a := c.do("GET", "/"+acct+"/mentions", nil); a.status == 200 {
		t.Errorf("GET mentions answered %s", a.raw)
	}
	if n := len(s.MentionReplies()); n != 2 {
		t.Errorf("%d replies after refusals", n)
	}
}

// GET /{ig-media-id}/collaborators lists the container's collaborators
// (Facebook Login only).
func TestCollaboratorsEdge(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	c := start(t, s)
	id := c.createImage("https://example.com/a.jpg", "collaborators", `["alice","bob"]`)
	media := c.publish(id).str("id")
	a := c.do("GET", "/"+media+"/collaborators", nil)
	if a.status != 200 || len(a.data()) != 2 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	for i, name := range []string{"alice", "bob"} {
		d := a.data()[i].(map[string]any)
		if d["username"] != name || d["id"] != igsid(name) || (d["invite_status"] != "Pending" && d["invite_status"] != "Accepted") {
			t.Errorf("collaborator %d: %v", i, d)
		}
	}
	plain := c.post("https://example.com/b.jpg", "")
	if a := c.do("GET", "/"+plain+"/collaborators", nil); a.status != 200 || len(a.data()) != 0 {
		t.Errorf("no collaborators: %s", a.raw)
	}
	ig := Account{ID: "17841400000000042", Username: "ig_creator", Token: "IGAAx", Login: LoginInstagram}
	s2 := New(Options{Accounts: []Account{ig}})
	c2 := start(t, s2).with(ig.Token)
	cid := c2.do("POST", "/"+ig.ID+"/media", vals("image_url", "https://example.com/a.jpg", "collaborators", `["alice"]`)).str("id")
	m2 := c2.do("POST", "/"+ig.ID+"/media_publish", vals("creation_id", cid)).str("id")
	wantErr(t, c2.do("GET", "/"+m2+"/collaborators", nil), 400, 2500, 0)
}

// The sandbox: fake permalinks, simulated comments on new posts, and the
// reject markers, each failing as documented.
func TestNewSandbox(t *testing.T) {
	t.Parallel()
	s := NewSandbox(Options{})
	c := start(t, s)
	media := c.post("https://cdn.example.com/ok.jpg", "hi")
	a := c.do("GET", "/"+media, vals("fields", "permalink,comments_count"))
	if !strings.HasPrefix(a.str("permalink"), "https://sandbox.igmcp.invalid/p/") {
		t.Errorf("permalink %q", a.str("permalink"))
	}
	if n, _ := a.body["comments_count"].(float64); n != SandboxSeedComments {
		t.Errorf("comments_count %v, want %d", a.body["comments_count"], SandboxSeedComments)
	}
	for _, tc := range []struct {
		url           string
		code, subcode int
	}{
		{"https://cdn.example.com/sandbox-reject.jpg", 36003, 2207009},
		{"https://cdn.example.com/x-sandbox-reject-aspect.jpg", 36003, 2207009},
		{"https://cdn.example.com/sandbox-reject-size.jpg", 36000, 2207004},
		{"https://cdn.example.com/sandbox-reject-fetch.jpg", 9004, 2207052},
	} {
		wantErr(t, c.do("POST", "/"+acct+"/media", vals("image_url", tc.url)), 400, tc.code, tc.subcode)
	}
	// a video fails in processing, as Instagram reports format errors
	v := c.do("POST", "/"+acct+"/media", vals("media_type", "REELS", "video_url", "https://cdn.example.com/sandbox-reject-format.mp4"))
	if v.status != 200 {
		t.Fatalf("reel container: %s", v.raw)
	}
	if st := c.status(v.str("id")); st != StatusError {
		t.Errorf("status %s, want ERROR", st)
	}
	if got := SandboxRejectMarkers(); len(got) != 5 || got[len(got)-1] != SandboxReject {
		t.Errorf("markers %v", got)
	}
	// Options win over the sandbox defaults.
	plain := NewSandbox(Options{PermalinkBase: "https://www.instagram.com", SeedComments: -1})
	pc := start(t, plain)
	pm := pc.post("https://cdn.example.com/ok.jpg", "")
	if a := pc.do("GET", "/"+pm, vals("fields", "permalink,comments_count")); !strings.HasPrefix(a.str("permalink"), "https://www.instagram.com/p/") || a.body["comments_count"] != 0.0 {
		t.Errorf("overridden: %s", a.raw)
	}
}

// ConnectWebhooks: the handshake through the receiver, then deliveries
// for sandbox activity, signed with the given secret.
func TestConnectWebhooks(t *testing.T) {
	t.Parallel()
	const token, secret = "vt-123", "s3cret"
	rc := &recordingReceiver{token: token}
	s := NewSandbox(Options{Accounts: []Account{DefaultAccount, {ID: "17841400000000042", Username: "ig_creator", Token: "IGAAx", Login: LoginInstagram}}})
	if err := s.ConnectWebhooks(t.Context(), rc, "wrong", secret); err == nil {
		t.Fatal("connected with a wrong verify token")
	}
	if err := s.ConnectWebhooks(t.Context(), rc, token, ""); err == nil {
		t.Fatal("connected without a secret")
	}
	if err := s.ConnectWebhooks(t.Context(), rc, token, secret); err != nil {
		t.Fatal(err)
	}
	if got := s.Subscribed(DefaultAccount.ID); len(got) != 1 || got[0] != "feed" {
		t.Errorf("Facebook Login subscription %v", got)
	}
	if got := s.Subscribed("17841400000000042"); len(got) != len(instagramWebhookFields) {
		t.Errorf("Instagram Login subscription %v", got)
	}
	c := start(t, s)
	c.post("https://cdn.example.com/ok.jpg", "") // two seeded comments: two deliveries
	ctx := t.Context()
	if err := s.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	bodies := rc.posted()
	if len(bodies) != SandboxSeedComments {
		t.Fatalf("%d deliveries", len(bodies))
	}
	for _, b := range bodies {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(b.body)
		if b.sig != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("signature %q", b.sig)
		}
		var d struct {
			Entry []struct {
				Changes []struct {
					Field string `json:"field"`
				} `json:"changes"`
			} `json:"entry"`
		}
		if json.Unmarshal(b.body, &d) != nil || d.Entry[0].Changes[0].Field != "comments" {
			t.Errorf("body %s", b.body)
		}
	}
}

type posted struct {
	body []byte
	sig  string
}

// recordingReceiver answers the verification with the challenge when the
// token matches and records every POST.
type recordingReceiver struct {
	token string
	mu    sync.Mutex
	got   []posted
}

func (r *recordingReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodGet {
		if req.URL.Query().Get("hub.verify_token") != r.token {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		io.WriteString(w, req.URL.Query().Get("hub.challenge"))
		return
	}
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, posted{bytes.Clone(b), req.Header.Get("X-Hub-Signature-256")})
	r.mu.Unlock()
}

func (r *recordingReceiver) posted() []posted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]posted(nil), r.got...)
}
