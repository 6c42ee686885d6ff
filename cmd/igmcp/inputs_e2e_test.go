package main

import (
	"testing"
)

// A sandbox restarted on the same IGMCP_DATA_DIR never adopts another
// post's container: the ledger remembers the last run's containers by id,
// and the new run's simulated Instagram must not hand those ids to other
// posts. Run 1 leaves a Reel processing under a key; run 2 publishes an
// image, then repeats the Reel's call: it must not come back as the
// image's post. (Mutant: fakegraph ids counted from 1 in every run: the
// Reel's key returns the image's media as "published".)
func TestE2E_SandboxRestartNeverAdoptsAnotherPost(t *testing.T) {
	t.Parallel()
	env := childEnv("IGMCP_DATA_DIR=" + t.TempDir())
	args := []string{"stdio", "--sandbox", "--sandbox-image-delay", "0s", "--sandbox-video-delay", "1h"}
	reel := map[string]any{"video_url": "https://cdn.example.com/clip.mp4", "caption": "the reel", "idempotency_key": "reel-1", "wait_seconds": 0}

	first := startClient(t, "", env, args...)
	r1 := first.ok(t, "publish_reel", reel)
	if r1["status"] != "processing" || r1["container_id"] == nil {
		t.Fatalf("run 1 reel: %v", r1)
	}
	first.close(t)

	second := startClient(t, "", env, args...)
	img := second.ok(t, "create_post", map[string]any{"image_url": "https://cdn.example.com/photo.jpg", "caption": "another post"})
	requirePublished(t, "run 2 image", img)
	if img["container_id"] == r1["container_id"] {
		t.Errorf("run 2 gave container id %v again", img["container_id"])
	}
	res, r2 := second.call(t, "publish_reel", reel)
	if !res.IsError && (r2["media_id"] == img["media_id"] || r2["container_id"] == img["container_id"]) {
		t.Fatalf("the reel's key adopted the image post: %v (image %v)", r2, img)
	}
	second.close(t)
}

// Over the real stdio stream, a caption with bytes that are not UTF-8 is
// invalid_input on caption, and the stream stays intact for the next call,
// which publishes. (Mutant: tools' decodeArgs without checkText: the post is
// published with U+FFFD in its caption.)
func TestE2E_InvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	r := startRaw(t, childEnv(), "stdio", "--sandbox", "--sandbox-image-delay", "0s")
	r.initialize(t)
	r.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_post","arguments":{"image_url":"https://cdn.example.com/a.jpg","caption":"caf`+"\xe9"+` au lait"}}}`)
	resp := r.readUntil(t, "the create_post answer", responseTo(2))
	res, _ := resp["result"].(map[string]any)
	sc, _ := res["structuredContent"].(map[string]any)
	e, _ := sc["error"].(map[string]any)
	if res["isError"] != true || e["kind"] != "invalid_input" || e["field"] != "caption" {
		t.Fatalf("invalid UTF-8 caption: %v", resp)
	}
	r.send(t, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_post","arguments":{"image_url":"https://cdn.example.com/a.jpg","caption":"café au lait"}}}`)
	resp = r.readUntil(t, "the next answer", responseTo(3))
	if res, _ := resp["result"].(map[string]any); res["isError"] == true {
		t.Fatalf("valid caption after the refusal: %v", resp)
	}
}
