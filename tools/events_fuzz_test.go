package tools

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/store"
)

// Whatever a signed delivery carries, an event renders as JSON the model
// can read: bounded, every string of others cleaned of invisible and
// direction-changing characters, never a panic.
func FuzzEventItem(f *testing.F) {
	for _, seed := range []struct{ field, value string }{
		{"messages", `{"sender":{"id":"1"},"message":{"text":"hi\u200b\u202e"}}`},
		{"comments", `{"id":"1","text":"x","from":{"username":"\u2066u"}}`},
		{"story_insights", `{"media_id":"1","reach":-1,"impressions":1e300}`},
		{"custom", `[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]`},
		{"custom", `{"\u200bkey":"\udb40\udc41tag"}`},
		{"custom", `123456789012345678901234567890`},
	} {
		f.Add(seed.field, seed.value, "mallory", "text\u202e")
	}
	acct := &auth.Account{ID: "17841400000000001", Username: "me"}
	f.Fuzz(func(t *testing.T, field, value, username, text string) {
		if !json.Valid([]byte(value)) {
			return
		}
		it := eventItem(acct, store.Event{ID: 1, Field: field, AccountID: acct.ID, FromUsername: username, Text: text,
			Time: time.Unix(0, 0), Value: json.RawMessage(value)})
		b, err := json.Marshal(it)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if it.UntrustedValue != nil {
			v, _ := json.Marshal(it.UntrustedValue)
			if len(v) > maxEventValue {
				t.Fatalf("untrusted_value of %d bytes", len(v))
			}
		}
		var back any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unreadable: %v", err)
		}
		checkClean(t, back, it.Own)
	})
}

// checkClean fails on an invisible character in any string or key of v,
// except in the account's own text.
func checkClean(t *testing.T, v any, own bool) {
	switch x := v.(type) {
	case string:
		for _, r := range x {
			if invisible(r) {
				t.Fatalf("invisible %U in %q", r, x)
			}
		}
	case []any:
		for _, y := range x {
			checkClean(t, y, own)
		}
	case map[string]any:
		for k, y := range x {
			if k == "text" && own {
				continue
			}
			checkClean(t, k, own)
			checkClean(t, y, own)
		}
	}
}
