package tools_test

import (
	"strings"
	"testing"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/tools"
)

// The sandbox as an agent meets it: plainly fake permalinks, comments by
// simulated users on a new post (other people's text, untrusted), and the
// reject markers the instructions name, each failing with the kind and
// Graph codes Instagram gives.
func TestSandbox_AsAnAgentSeesIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{sandbox: true, sandboxFake: true})
	post := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}))
	if p, _ := post["permalink"].(string); !strings.HasPrefix(p, fakegraph.SandboxPermalinkBase+"/p/") {
		t.Fatalf("permalink %q", p)
	}
	list := mustOK(t, e.call(t, "list_comments", map[string]any{"media_id": post["media_id"]}))
	cs := list["comments"].([]any)
	if len(cs) != fakegraph.SandboxSeedComments {
		t.Fatalf("%d comments, want %d", len(cs), fakegraph.SandboxSeedComments)
	}
	for _, c := range cs {
		if c.(map[string]any)["untrusted_text"] == "" {
			t.Errorf("comment %v", c)
		}
	}
	for _, tc := range []struct {
		marker        string
		code, subcode float64
	}{
		{"sandbox-reject-fetch", 9004, 2207052},
		{"sandbox-reject-size", 36000, 2207004},
		{"sandbox-reject-aspect", 36003, 2207009},
		{"sandbox-reject", 36003, 2207009},
	} {
		errObj := mustErr(t, e.call(t, "create_post", map[string]any{"image_url": "https://cdn.example.com/" + tc.marker + ".jpg"}), "media_rejected")
		if g := errObj["graph"].(map[string]any); g["code"] != tc.code || g["subcode"] != tc.subcode {
			t.Errorf("%s: %v", tc.marker, errObj)
		}
	}
	errObj := mustErr(t, e.call(t, "publish_reel", map[string]any{"video_url": "https://cdn.example.com/sandbox-reject-format.mp4", "wait_seconds": 30}), "container_failed")
	if !strings.Contains(errObj["message"].(string), "2207026") {
		t.Errorf("format: %v", errObj)
	}
	// Every marker is named where an agent reads it.
	init := wireOf(t, &tools.Deps{Sandbox: true}, tools.Selection{}).instructions
	for _, m := range fakegraph.SandboxRejectMarkers() {
		short := strings.TrimPrefix(m, fakegraph.SandboxReject)
		if !strings.Contains(init, fakegraph.SandboxReject) || (short != "" && !strings.Contains(init, short)) {
			t.Errorf("instructions do not name %s: %q", m, init)
		}
	}
}
