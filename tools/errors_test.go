package tools_test

import (
	"strings"
	"testing"

	"github.com/igmcp/igmcp/fakegraph"
)

func graphFault(method, suffix string, status, code, subcode int, msg string) fakegraph.Fault {
	return fakegraph.Fault{Method: method, PathSuffix: suffix, Action: fakegraph.FaultGraphError,
		GraphError: &fakegraph.ErrorSpec{HTTPStatus: status, Code: code, Subcode: subcode, Message: msg, Type: "OAuthException"}}
}

// Every error kind of docs/reference.md §4 that Instagram can cause, produced by the
// fake and read back through the MCP client.
func TestErrorKinds(t *testing.T) {
	post := map[string]any{"image_url": jpeg, "caption": "x"}
	cases := []struct {
		name       string
		setup      func(*fakegraph.Server)
		opts       fakegraph.Options
		tool       string
		args       map[string]any
		kind       string
		retryable  bool
		code       float64
		retryAfter float64 // exact when > 0
		published  int
	}{
		{name: "token expired 190/463", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media", 400, 190, 463, "Error validating access token: Session has expired"))
		}, tool: "create_post", args: post, kind: "auth_expired", code: 190},
		{name: "permission 10", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media", 403, 10, 0, "(#10) Application does not have permission for this action"))
		}, tool: "create_post", args: post, kind: "permission_denied", code: 10},
		{name: "app rate limit 4", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media", 400, 4, 0, "(#4) Application request limit reached"))
		}, tool: "create_post", args: post, kind: "rate_limited", retryable: true, code: 4},
		{name: "BUC 80002 with regain time", setup: func(s *fakegraph.Server) {
			s.SetUsage(fakegraph.DefaultAccount.ID, 100, 30)
		}, tool: "create_post", args: post, kind: "rate_limited", retryable: true, code: 80002, retryAfter: 1800},
		{name: "publish quota", opts: fakegraph.Options{QuotaTotal: 1}, setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media_publish", 400, 9, 2207042, "You reached maximum number of posts that is allowed to be published by Content Publishing API."))
		}, tool: "create_post", args: post, kind: "publish_limit_reached", retryable: true, code: 9},
		{name: "aspect ratio 36003", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media", 400, 36003, 2207009, "The aspect ratio is not supported."))
		}, tool: "create_post", args: post, kind: "media_rejected", code: 36003},
		{name: "fetch failed 9004", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media", 400, 9004, 2207052, "The media could not be fetched from this uri"))
		}, tool: "create_post", args: post, kind: "media_rejected", code: 9004},
		{name: "not ready 9007", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media_publish", 400, 9007, 2207027, "The media is not ready for publishing, please wait for a moment"))
		}, tool: "create_post", args: post, kind: "container_not_ready", retryable: true, code: 9007},
		{name: "container ERROR", setup: func(s *fakegraph.Server) {
			s.SetMediaOutcome("bad.mp4", fakegraph.Outcome{StatusCode: "ERROR", Subcode: 2207026})
		}, tool: "publish_reel", args: map[string]any{"video_url": "https://cdn.example.com/bad.mp4"}, kind: "container_failed"},
		{name: "container EXPIRED", setup: func(s *fakegraph.Server) {
			s.SetMediaOutcome("old.jpg", fakegraph.Outcome{StatusCode: "EXPIRED"})
		}, tool: "create_post", args: map[string]any{"image_url": "https://cdn.example.com/old.jpg"}, kind: "container_expired"},
		{name: "spam 368", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media", 400, 368, 0, "The action attempted has been deemed abusive or is otherwise disallowed"))
		}, tool: "create_post", args: post, kind: "spam_blocked", code: 368},
		{name: "spam 4/2207051 is not a rate limit", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media", 400, 4, 2207051, "We restrict certain activity to protect our community."))
		}, tool: "create_post", args: post, kind: "spam_blocked", code: 4},
		{name: "unknown container", tool: "get_container_status", args: map[string]any{"container_id": "999999999"}, kind: "not_found"},
		{name: "persistent 500 on create", setup: func(s *fakegraph.Server) {
			s.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media", Action: fakegraph.FaultHTTP500})
		}, tool: "create_post", args: post, kind: "transient", retryable: true},
		{name: "transient code 2", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media", 400, 2, 0, "Service temporarily unavailable"))
		}, tool: "create_post", args: post, kind: "transient", retryable: true, code: 2},
		{name: "unknown code is upstream", setup: func(s *fakegraph.Server) {
			s.Inject(graphFault("POST", "/media", 400, 12345, 0, "Something new"))
		}, tool: "create_post", args: post, kind: "upstream", code: 12345},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{fake: tc.opts})
			if tc.setup != nil {
				tc.setup(e.fake)
			}
			errObj := mustErr(t, e.call(t, tc.tool, tc.args), tc.kind)
			if errObj["retryable"] != tc.retryable {
				t.Errorf("retryable = %v, want %v", errObj["retryable"], tc.retryable)
			}
			if tc.code != 0 {
				g, _ := errObj["graph"].(map[string]any)
				if g == nil || g["code"] != tc.code {
					t.Errorf("graph = %v, want code %v", errObj["graph"], tc.code)
				}
				if g != nil && g["fbtrace_id"] == "" {
					t.Errorf("no fbtrace_id: %v", g)
				}
			}
			if tc.retryable {
				if ra, _ := errObj["retry_after_seconds"].(float64); ra <= 0 {
					t.Errorf("retryable error without retry_after_seconds: %v", errObj)
				}
			}
			if tc.retryAfter > 0 && errObj["retry_after_seconds"] != tc.retryAfter {
				t.Errorf("retry_after_seconds = %v, want %v", errObj["retry_after_seconds"], tc.retryAfter)
			}
			if got := len(e.fake.Published(e.account.ID)); got != tc.published {
				t.Errorf("published %d, want %d", got, tc.published)
			}
		})
	}
}

// A publish whose answer is lost after it went live is reconciled through the
// container status, never published twice.
func TestPublishThenFail_NoDoublePost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Nth: 1, Action: fakegraph.FaultPublishThenFail})
	m := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "caption": "once only"}))
	if m["status"] != "published" {
		t.Fatalf("result: %v", m)
	}
	pub := e.fake.Published(e.account.ID)
	if len(pub) != 1 {
		t.Fatalf("published %d, want 1", len(pub))
	}
	if e.fake.CountCalls("POST", "/media_publish") != 1 {
		t.Fatalf("media_publish sent %d times", e.fake.CountCalls("POST", "/media_publish"))
	}
	if m["media_id"] != pub[0].ID {
		t.Fatalf("media id %v, fake published %v", m["media_id"], pub[0].ID)
	}
	if w, _ := m["warnings"].([]any); len(w) == 0 {
		t.Fatalf("reconciled publish should carry a warning: %v", m)
	}
}

// A transient publish failure that left the container FINISHED is sent
// again once, after the container read FINISHED for the whole send grace
// (the first send might still have taken effect until then).
func TestTransientPublishFailure_RetriedAfterStatusCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Nth: 1, Action: fakegraph.FaultHTTP500})
	m := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}))
	if m["status"] != "published" || len(e.fake.Published(e.account.ID)) != 1 {
		t.Fatalf("result %v, published %d", m, len(e.fake.Published(e.account.ID)))
	}
	if n := e.fake.MediaPublishes(m["container_id"].(string)); n != 2 {
		t.Fatalf("media_publish sent %d times, want the failed send and one more", n)
	}
}

// When neither the publish answer nor the container status can be had, the
// outcome is unknown and must not invite a retry.
func TestPublishOutcomeUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media_publish", Action: fakegraph.FaultPublishThenFail})
	e.fake.Inject(fakegraph.Fault{Method: "GET", Nth: 0, Action: fakegraph.FaultHTTP500})
	// With every GET failing, the create's read-after-write status (FINISHED)
	// lets the publish go out; its answer is lost and reconciliation fails.
	errObj := mustErr(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}), "outcome_unknown")
	if errObj["retryable"] != false {
		t.Fatalf("outcome_unknown must not be retryable: %v", errObj)
	}
	if !strings.Contains(errObj["action"].(string), "get_container_status") {
		t.Fatalf("action should say how to check: %v", errObj["action"])
	}
	if got := len(e.fake.Published(e.account.ID)); got != 1 {
		t.Fatalf("published %d, want 1", got)
	}
}

func TestFirstCommentFailure_IsAWarning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.fake.Inject(graphFault("POST", "/comments", 400, 100, 0, "Invalid parameter"))
	m := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "first_comment": "hi"}))
	if m["status"] != "published" || m["first_comment_id"] != nil {
		t.Fatalf("result: %v", m)
	}
	if w, _ := m["warnings"].([]any); len(w) != 1 || !strings.Contains(w[0].(string), "first comment") {
		t.Fatalf("warnings: %v", m["warnings"])
	}
}

func TestNoToken_AuthExpiredWithoutGraphCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noToken: true})
	errObj := mustErr(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}), "auth_expired")
	if !strings.Contains(errObj["action"].(string), "INSTAGRAM_ACCESS_TOKEN") {
		t.Fatalf("action: %v", errObj["action"])
	}
	if n := len(e.fake.Calls()); n != 0 {
		t.Fatalf("%d Graph calls without a token", n)
	}
}

// Many hosts hand the model only the text of a result: it names the kind
// and the field, and keeps message, retry time and action apart.
func TestErrorText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	res := e.call(t, "create_post", map[string]any{"image_url": jpeg, "user_tags": []any{map[string]any{"username": "bob", "x": 1.5, "y": 0.5}}})
	errObj := mustErr(t, res, "invalid_input")
	if want := "invalid_input (user_tags[0].x): x must be between 0 and 1, got 1.5. Action: " + errObj["action"].(string); text(t, res) != want {
		t.Errorf("text:\n got %q\nwant %q", text(t, res), want)
	}
	res = e.call(t, "create_post", map[string]any{"image_url": jpeg, "captoin": "x"})
	errObj = mustErr(t, res, "invalid_input")
	if want := `invalid_input (captoin): unknown argument "captoin"; see the tool's input schema. Action: ` + errObj["action"].(string); text(t, res) != want {
		t.Errorf("text:\n got %q\nwant %q", text(t, res), want)
	}

	e.fake.SetUsage(fakegraph.DefaultAccount.ID, 100, 30)
	res = e.call(t, "create_post", map[string]any{"image_url": jpeg})
	errObj = mustErr(t, res, "rate_limited")
	if want := "rate_limited: " + strings.TrimSuffix(errObj["message"].(string), ".") + ". Retry after 1800 seconds. Action: " + errObj["action"].(string); text(t, res) != want {
		t.Errorf("text:\n got %q\nwant %q", text(t, res), want)
	}
}
