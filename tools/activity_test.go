package tools_test

import "testing"

func TestListActivity_JournalOfWrites(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "first_comment": "hi"}))
	e.fake.Inject(graphFault("POST", "/media", 400, 36003, 2207009, "aspect ratio"))
	mustErr(t, e.call(t, "create_post", map[string]any{"image_url": jpeg, "caption": "bad"}), "media_rejected")

	m := mustOK(t, e.call(t, "list_activity", map[string]any{}))
	entries, _ := m["entries"].([]any)
	if len(entries) != 3 {
		t.Fatalf("want 3 entries (publish, comment, failed publish), got %v", m)
	}
	// Newest first: the failed publish came last.
	failed := entries[0].(map[string]any)
	if failed["action"] != "publish" || failed["outcome"] != "failed" || failed["error_kind"] != "media_rejected" {
		t.Fatalf("newest entry: %v", failed)
	}
	var published map[string]any
	for _, en := range entries[1:] {
		if m := en.(map[string]any); m["action"] == "publish" {
			published = m
		}
	}
	if published == nil || published["outcome"] != "published" {
		t.Fatalf("entries: %v", entries)
	}
	ids, _ := published["graph_ids"].([]any)
	found := false
	for _, id := range ids {
		found = found || id == p["media_id"]
	}
	if !found {
		t.Fatalf("publish entry lacks the media id %v: %v", p["media_id"], ids)
	}
	res := e.call(t, "list_activity", map[string]any{"action": "publish", "limit": 1})
	pubs := mustOK(t, res)
	if got := pubs["entries"].([]any); len(got) != 1 || pubs["next_cursor"] == nil {
		t.Fatalf("page: %v", pubs)
	}
	if got := text(t, res); got != "1 journal entry" {
		t.Errorf("text %q", got)
	}
	mustErr(t, e.call(t, "list_activity", map[string]any{"limit": 201}), "invalid_input")
}
