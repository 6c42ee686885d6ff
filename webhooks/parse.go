package webhooks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/igmcp/igmcp/store"
)

// Fields igmcp reads into typed columns (docs/graph-api.md §14).
const (
	FieldComments      = "comments"
	FieldLiveComments  = "live_comments"
	FieldMentions      = "mentions"
	FieldStoryInsights = "story_insights"
)

// fieldUnknown names what no field name says: an entry with neither
// changes, a field nor messaging, or a field name that is not a name.
const fieldUnknown = "unknown"

// maxFieldLen bounds a field name taken from a delivery; Meta's are short.
const maxFieldLen = 64

// errNotJSON: the body is not a JSON delivery at all.
var errNotJSON = errors.New("body is not a JSON object or array of objects")

// delivery is one notification body. Meta sends an object; its examples
// page prints it inside an array, so both are read.
type delivery struct {
	Object string            `json:"object"`
	Entry  []json.RawMessage `json:"entry"`
}

type entryJSON struct {
	ID   json.RawMessage `json:"id"`
	Time json.RawMessage `json:"time"`
	// Graph webhooks: changes[]; the Instagram-Login examples page puts
	// field/value in the entry itself (docs/graph-api.md §14).
	Changes []struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	} `json:"changes"`
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
	// Messaging platform events come as messaging[] (or standby[] while
	// another app holds the thread), without a field name.
	Messaging []json.RawMessage `json:"messaging"`
	Standby   []json.RawMessage `json:"standby"`
}

// parsed is what one delivery held.
type parsed struct {
	events []store.Event
	// ignored counts deliveries for other objects (a Page subscription
	// pointed at the same URL): acknowledged, not stored.
	ignored []string
}

// parseDelivery turns a body into events, one per change. Only a body
// that is not JSON, or not an object or array of objects, is an error:
// anything else Meta sends is kept, raw where its shape is unknown, so a
// change in Meta's format loses nothing.
func parseDelivery(body []byte, received time.Time) (parsed, error) {
	var out parsed
	body = bytes.TrimSpace(body)
	var ds []delivery
	switch {
	case len(body) > 0 && body[0] == '{':
		var d delivery
		if err := json.Unmarshal(body, &d); err != nil {
			return out, errNotJSON
		}
		ds = []delivery{d}
	case len(body) > 0 && body[0] == '[':
		if err := json.Unmarshal(body, &ds); err != nil {
			return out, errNotJSON
		}
	default:
		return out, errNotJSON
	}
	for _, d := range ds {
		if d.Object != "instagram" {
			out.ignored = append(out.ignored, d.Object)
			continue
		}
		for _, raw := range d.Entry {
			out.events = append(out.events, parseEntry(raw, received)...)
		}
	}
	return out, nil
}

func parseEntry(raw json.RawMessage, received time.Time) []store.Event {
	var e entryJSON
	if err := json.Unmarshal(raw, &e); err != nil {
		// An entry of an unexpected shape is kept whole.
		return []store.Event{newEvent(idString(jsonField(raw, "id")), fieldUnknown, raw, received, received)}
	}
	account := idString(e.ID)
	at := entryTime(e.Time, received)
	var out []store.Event
	for _, c := range e.Changes {
		out = append(out, newEvent(account, c.Field, c.Value, at, received))
	}
	if e.Field != "" || len(e.Value) > 0 {
		out = append(out, newEvent(account, e.Field, e.Value, at, received))
	}
	for _, m := range e.Messaging {
		out = append(out, newEvent(account, messagingField(m), m, at, received))
	}
	for _, m := range e.Standby {
		out = append(out, newEvent(account, "standby", m, at, received))
	}
	if len(out) == 0 {
		out = append(out, newEvent(account, fieldUnknown, raw, at, received))
	}
	return out
}

// newEvent reads the typed columns of the fields igmcp knows and derives
// the event's key.
func newEvent(account, field string, value json.RawMessage, at, received time.Time) store.Event {
	if account == "" {
		account = fieldUnknown
	}
	field = cleanField(field)
	if len(bytes.TrimSpace(value)) == 0 {
		value = json.RawMessage("null")
	}
	ev := store.Event{AccountID: account, Field: field, Time: at, ReceivedAt: received, Value: value}
	switch field {
	case FieldComments, FieldLiveComments:
		var v struct {
			ID       json.RawMessage `json:"id"`
			Text     string          `json:"text"`
			ParentID json.RawMessage `json:"parent_id"`
			From     struct {
				ID       json.RawMessage `json:"id"`
				Username string          `json:"username"`
			} `json:"from"`
			Media struct {
				ID json.RawMessage `json:"id"`
			} `json:"media"`
		}
		if json.Unmarshal(value, &v) == nil {
			ev.CommentID, ev.ParentID, ev.MediaID = idString(v.ID), idString(v.ParentID), idString(v.Media.ID)
			ev.FromID, ev.FromUsername, ev.Text = idString(v.From.ID), v.From.Username, v.Text
		}
	case FieldMentions:
		var v struct {
			MediaID   json.RawMessage `json:"media_id"`
			CommentID json.RawMessage `json:"comment_id"`
		}
		if json.Unmarshal(value, &v) == nil {
			ev.MediaID, ev.CommentID = idString(v.MediaID), idString(v.CommentID)
		}
	case FieldStoryInsights:
		var v struct {
			MediaID json.RawMessage `json:"media_id"`
		}
		if json.Unmarshal(value, &v) == nil {
			ev.MediaID = idString(v.MediaID)
		}
	case "messages":
		var v struct {
			Sender struct {
				ID json.RawMessage `json:"id"`
			} `json:"sender"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
		}
		if json.Unmarshal(value, &v) == nil {
			ev.FromID, ev.Text = idString(v.Sender.ID), v.Message.Text
		}
	}
	ev.Key = eventKey(ev, at)
	return ev
}

// eventKey identifies a change across Meta's redeliveries: a hash of the
// account, the field and the value with insignificant whitespace removed.
// Meta redelivers the same body, but entry.time is when Meta sent it, so
// it takes part only for values that carry no id or timestamp of their
// own (two such values could otherwise be told apart by nothing).
func eventKey(ev store.Event, at time.Time) string {
	var compact bytes.Buffer
	if json.Compact(&compact, ev.Value) != nil {
		compact.Write(ev.Value)
	}
	h := sha256.New()
	for _, part := range []string{ev.AccountID, ev.Field, compact.String()} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	if ev.CommentID == "" && ev.MediaID == "" && !hasOwnID(ev.Value) {
		h.Write([]byte(strconv.FormatInt(at.UnixMilli(), 10)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hasOwnID reports whether a value names its own object or moment.
func hasOwnID(value json.RawMessage) bool {
	var v map[string]json.RawMessage
	if json.Unmarshal(value, &v) != nil {
		return false
	}
	for _, k := range []string{"id", "mid", "timestamp", "media_id", "comment_id"} {
		if len(v[k]) > 0 && string(v[k]) != "null" {
			return true
		}
	}
	return false
}

// messagingField names a messaging event after the webhook field that
// subscribes to it (docs/graph-api.md §14).
func messagingField(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return "messaging"
	}
	for _, kf := range [][2]string{
		{"message", "messages"}, {"reaction", "message_reactions"}, {"postback", "messaging_postbacks"},
		{"read", "messaging_seen"}, {"referral", "messaging_referral"}, {"optin", "messaging_optins"},
		{"pass_thread_control", "messaging_handover"}, {"take_thread_control", "messaging_handover"},
		{"request_thread_control", "messaging_handover"},
	} {
		if _, ok := m[kf[0]]; ok {
			return kf[1]
		}
	}
	return "messaging"
}

// cleanField keeps a field name that looks like one (Meta's are
// lower-case words joined by underscores) and calls anything else unknown.
func cleanField(f string) string {
	if f == "" || len(f) > maxFieldLen || !utf8.ValidString(f) {
		return fieldUnknown
	}
	for _, r := range f {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return fieldUnknown
		}
	}
	return f
}

// idString reads a Graph id, which may come as a JSON string or number.
func idString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return ""
	}
	return n.String()
}

// entryTime reads entry.time: Unix seconds, or milliseconds in messaging
// deliveries. Missing or absurd, it is the time of receipt.
func entryTime(raw json.RawMessage, received time.Time) time.Time {
	n, err := strconv.ParseFloat(idString(raw), 64)
	if err != nil || n <= 0 || n > 1e14 {
		return received
	}
	if n > 1e11 { // milliseconds: 1e11 s is the year 5138
		return time.UnixMilli(int64(n)).UTC()
	}
	return time.Unix(int64(n), 0).UTC()
}

func jsonField(raw json.RawMessage, name string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m[name]
}
