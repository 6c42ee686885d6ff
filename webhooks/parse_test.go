package webhooks

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

var received = time.Date(2026, 9, 24, 8, 0, 0, 0, time.UTC)

func keysOf(t *testing.T, body string) []string {
	t.Helper()
	p, err := parseDelivery([]byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range p.events {
		out = append(out, e.Key)
	}
	return out
}

// The key survives what a redelivery may change (whitespace, the send
// time, the batch around it, the body's shape) and changes with what makes
// another event (account, field, value).
func TestEventKey(t *testing.T) {
	base := keysOf(t, `{"object":"instagram","entry":[{"id":"1","time":1758700000,"changes":[{"field":"comments","value":{"id":"9","text":"hi"}}]}]}`)[0]
	same := map[string]string{
		"spacing":        `{ "object" : "instagram", "entry" : [ { "id" : "1", "time" : 1758700000, "changes" : [ { "field" : "comments", "value" : { "id" : "9", "text" : "hi" } } ] } ] }`,
		"send time":      `{"object":"instagram","entry":[{"id":"1","time":1758799999,"changes":[{"field":"comments","value":{"id":"9","text":"hi"}}]}]}`,
		"Login shape":    `{"object":"instagram","entry":[{"id":"1","time":1758700000,"field":"comments","value":{"id":"9","text":"hi"}}]}`,
		"account number": `{"object":"instagram","entry":[{"id":1,"time":1758700000,"changes":[{"field":"comments","value":{"id":"9","text":"hi"}}]}]}`,
		"in an array":    `[{"object":"instagram","entry":[{"id":"1","changes":[{"field":"comments","value":{"id":"9","text":"hi"}}]}]}]`,
	}
	for name, body := range same {
		if got := keysOf(t, body)[0]; got != base {
			t.Errorf("%s changed the key", name)
		}
	}
	other := map[string]string{
		"account":   `{"object":"instagram","entry":[{"id":"2","time":1758700000,"changes":[{"field":"comments","value":{"id":"9","text":"hi"}}]}]}`,
		"field":     `{"object":"instagram","entry":[{"id":"1","time":1758700000,"changes":[{"field":"live_comments","value":{"id":"9","text":"hi"}}]}]}`,
		"value":     `{"object":"instagram","entry":[{"id":"1","time":1758700000,"changes":[{"field":"comments","value":{"id":"9","text":"hi!"}}]}]}`,
		"key order": `{"object":"instagram","entry":[{"id":"1","time":1758700000,"changes":[{"field":"comments","value":{"text":"hi","id":"9"}}]}]}`,
	}
	for name, body := range other {
		if got := keysOf(t, body)[0]; got == base {
			t.Errorf("another %s kept the key", name)
		}
	}
	// Values without an id or timestamp of their own are told apart by
	// the send time.
	a := keysOf(t, `{"object":"instagram","entry":[{"id":"1","time":1758700000,"changes":[{"field":"x","value":{"v":1}}]}]}`)[0]
	b := keysOf(t, `{"object":"instagram","entry":[{"id":"1","time":1758700001,"changes":[{"field":"x","value":{"v":1}}]}]}`)[0]
	if a == b {
		t.Error("id-less values sent at different times share a key")
	}
}

func TestEntryTime(t *testing.T) {
	tests := map[string]time.Time{
		`1758700000`:      time.Unix(1758700000, 0).UTC(),
		`"1758700000"`:    time.Unix(1758700000, 0).UTC(),
		`1569262486134`:   time.UnixMilli(1569262486134).UTC(),
		`1758700000.5`:    time.Unix(1758700000, 0).UTC(),
		``:                received,
		`0`:               received,
		`-5`:              received,
		`"soon"`:          received,
		`1e300`:           received,
		`{"a":1}`:         received,
		`99999999999999`:  time.UnixMilli(99999999999999).UTC(),
		`100000000000001`: received,
	}
	for raw, want := range tests {
		if got := entryTime(json.RawMessage(raw), received); !got.Equal(want) {
			t.Errorf("entryTime(%s) = %v, want %v", raw, got, want)
		}
	}
}

func TestMessagingFields(t *testing.T) {
	tests := map[string]string{
		`{"sender":{"id":"1"},"message":{"mid":"m","text":"t"}}`:        "messages",
		`{"sender":{"id":"1"},"reaction":{"mid":"m","action":"react"}}`: "message_reactions",
		`{"sender":{"id":"1"},"postback":{"payload":"p"}}`:              "messaging_postbacks",
		`{"sender":{"id":"1"},"read":{"mid":"m"}}`:                      "messaging_seen",
		`{"sender":{"id":"1"},"referral":{"ref":"r"}}`:                  "messaging_referral",
		`{"sender":{"id":"1"},"optin":{"type":"t"}}`:                    "messaging_optins",
		`{"sender":{"id":"1"},"pass_thread_control":{}}`:                "messaging_handover",
		`{"sender":{"id":"1"},"something":{}}`:                          "messaging",
		`"not an object"`:                                               "messaging",
	}
	for raw, want := range tests {
		if got := messagingField(json.RawMessage(raw)); got != want {
			t.Errorf("messagingField(%s) = %q, want %q", raw, got, want)
		}
	}
}

// Whatever a signed body holds, parsing never panics, and every event it
// yields is one the store accepts (so a valid delivery is never refused
// forever): a key, an account, a field name of safe characters, a JSON
// value.
func FuzzParseDelivery(f *testing.F) {
	for _, seed := range []string{
		`{"object":"instagram","entry":[{"id":"1","time":1758700000,"changes":[{"field":"comments","value":{"id":"9","text":"hi","from":{"id":"2","username":"u"},"media":{"id":"3"}}}]}]}`,
		`{"object":"instagram","entry":[{"id":"1","field":"mentions","value":{"media_id":"5","comment_id":"6"}}]}`,
		`{"object":"instagram","entry":[{"id":"1","messaging":[{"sender":{"id":"1"},"message":{"text":"x"}}],"standby":[{}]}]}`,
		`[{"object":"instagram","entry":[{"id":{},"time":"x","changes":"no"}]}]`,
		`{"object":"instagram","entry":[{"id":"1","changes":[{"field":"story_insights"}]}]}`,
		`{"object":"instagram","entry":[null,1,"s",[],{}]}`,
		`{"object":"page","entry":[]}`,
		`nope`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseDelivery(body, received)
		if err != nil {
			return
		}
		for _, e := range p.events {
			if len(e.Key) != 64 || e.AccountID == "" || !json.Valid(e.Value) {
				t.Fatalf("event %+v", e)
			}
			if cleanField(e.Field) != e.Field || e.Field == "" {
				t.Fatalf("field %q", e.Field)
			}
			for _, s := range []string{e.Text, e.FromUsername, e.FromID, e.MediaID, e.CommentID, e.AccountID} {
				if !utf8.ValidString(s) {
					t.Fatalf("not UTF-8: %q", s)
				}
			}
		}
	})
}
