package tools_test

import (
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
)

// Instagram refusing an argument of the container (docs/graph-api.md §10.3)
// is invalid_input on that argument, sent once: the same request would be
// refused the same way.
func TestMetaInputErrors(t *testing.T) {
	cases := []struct {
		name      string
		tool      string
		args      func(e *testEnv) map[string]any
		field     string
		code      float64
		subcode   float64
		codeName  string
		actionHas string
	}{
		{name: "thumb_offset past the video (1/2207057)", tool: "publish_reel",
			args:  func(*testEnv) map[string]any { return map[string]any{"video_url": mp4, "thumb_offset": 900001} },
			field: "thumb_offset", code: 1, subcode: 2207057, actionHas: "smaller offset"},
		{name: "location_id that is no place (string code)", tool: "create_post",
			args: func(e *testEnv) map[string]any {
				return map[string]any{"image_url": jpeg, "location_id": e.account.ID}
			},
			field: "location_id", codeName: "INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID", actionHas: "Facebook Page"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{})
			errObj := mustErr(t, e.call(t, tc.tool, tc.args(e)), "invalid_input")
			g, _ := errObj["graph"].(map[string]any)
			if errObj["field"] != tc.field || errObj["retryable"] != false || g == nil || g["code"] != tc.code ||
				g["subcode"] != tc.subcode || (tc.codeName != "" && g["code_name"] != tc.codeName) ||
				!strings.Contains(errObj["action"].(string), tc.actionHas) {
				t.Fatalf("%v", errObj)
			}
			if n := e.fake.CountCalls("POST", "/media"); n != 1 {
				t.Fatalf("%d container creations, want 1 (never retried)", n)
			}
			if n := e.fake.CountCalls("POST", "/media_publish"); n != 0 {
				t.Fatalf("%d publishes", n)
			}
		})
	}
}

// The 400-containers-per-24-hours limit (the sandbox's answer: code 9 with
// no subcode on container creation) is rate_limited and says containers,
// not the publishing quota.
func TestContainerLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	c, err := graph.NewClient(graph.WithBaseURL(e.base), graph.WithRetryPolicy(graph.RetryPolicy{MaxTries: 1}),
		graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.account.Token})))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		if _, _, err := c.CreateContainer(t.Context(), e.account.ID, &graph.ContainerRequest{ImageURL: jpeg}); err != nil {
			t.Fatalf("container %d: %v", i+1, err)
		}
	}
	errObj := mustErr(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}), "rate_limited")
	msg, action := errObj["message"].(string), errObj["action"].(string)
	if !strings.Contains(msg, "400 media containers") || !strings.Contains(msg, "not the publishing quota") ||
		strings.Contains(action, "publishing quota") || errObj["retry_after_seconds"] != float64(3600) || errObj["retryable"] != true {
		t.Fatalf("%v", errObj)
	}
	if n := e.fake.CountCalls("POST", "/media"); n != 401 {
		t.Fatalf("%d container creations, want 401 (the refused one not retried)", n)
	}
}

// Whether creator accounts may publish Stories is not clear in Meta's docs:
// igmcp never refuses one before calling (the sandbox's Instagram Login
// accounts read account_type MEDIA_CREATOR and publish Stories), and when
// Instagram refuses, the error says so.
func TestStoryRefusedForAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{login: auth.LoginInstagram})
	story := map[string]any{"image_url": jpeg}
	if res := mustOK(t, e.call(t, "publish_story", story)); res["status"] != "published" {
		t.Fatalf("creator story: %v", res)
	}
	for _, f := range []fakegraph.Fault{
		graphFault("POST", "/media", 400, 10, 0, "(#10) Application does not have permission for this action"),
		graphFault("POST", "/media", 400, 100, 2207023, "The media type is not supported"),
	} {
		before := e.fake.CountCalls("POST", "/media")
		e.fake.Inject(f)
		errObj := mustErr(t, e.call(t, "publish_story", story), "permission_denied")
		if msg := errObj["message"].(string); !strings.Contains(msg, "Story") || !strings.Contains(msg, "Creator") ||
			!strings.Contains(errObj["action"].(string), "Business account") || errObj["retryable"] != false {
			t.Fatalf("%v", errObj)
		}
		if n := e.fake.CountCalls("POST", "/media") - before; n != 1 {
			t.Fatalf("%d container creations, want 1", n)
		}
	}
	// the same codes on a feed post keep their usual meaning
	e.fake.Inject(graphFault("POST", "/media", 400, 10, 0, "(#10) Application does not have permission for this action"))
	errObj := mustErr(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}), "permission_denied")
	if strings.Contains(errObj["message"].(string), "Story") {
		t.Fatalf("feed post: %v", errObj)
	}
}
