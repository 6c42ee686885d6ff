package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/webhooks"
)

// Events are what Meta's webhooks delivered (docs/reference.md §5): the
// receiver stores them, list_events and the instagram://events resource
// show them. Everything in them that someone other than the account wrote
// (comment text, usernames, message text, and any field igmcp does not
// read) is shown only in untrusted_* fields, cleaned as everywhere else.

// EventSource tells of newly stored events: a webhooks.Hub, one per
// process, watching the store (on PostgreSQL it hears every replica).
type EventSource interface {
	Subscribe(ctx context.Context) <-chan store.EventNotice
}

// EventsURI is the resource of the newest events.
const EventsURI = "instagram://events"

// eventFieldRE is a webhook field name as the receiver stores it.
var eventFieldRE = regexp.MustCompile(`^[a-z0-9_.]{1,64}$`)

// maxEventValue bounds the untrusted_value of one event, re-encoded:
// a delivery may be up to 1 MiB, a page of events must stay readable.
const maxEventValue = 4 << 10

// resourceEvents is how many events the resource shows.
const resourceEvents = 20

type listEventsArgs struct {
	Field string `json:"field,omitempty" jsonschema_description:"e.g. comments, mentions, story_insights."`
	ListOptions
	AccountArg
}

func (listEventsArgs) maxLimit() int { return 100 }

// EventItem is one event. Typed fields are filled for the fields igmcp
// reads; any other field's value is in untrusted_value.
type EventItem struct {
	ID        int64  `json:"id"`
	Field     string `json:"field"`
	Time      string `json:"time"`
	AccountID string `json:"account_id"`
	MediaID   string `json:"media_id,omitempty"`
	CommentID string `json:"comment_id,omitempty"`
	ParentID  string `json:"parent_id,omitempty"`
	FromID    string `json:"from_id,omitempty"`
	// Own: the account wrote it itself (its own comment, made through the
	// API too): not something to answer.
	Own               bool             `json:"own,omitempty"`
	Text              string           `json:"text,omitempty"`
	UntrustedUsername string           `json:"untrusted_username,omitempty"`
	UntrustedText     string           `json:"untrusted_text,omitempty"`
	Metrics           map[string]int64 `json:"metrics,omitempty"`
	UntrustedValue    any              `json:"untrusted_value,omitempty"`
	// ValueOmitted: the value was larger than igmcp shows.
	ValueOmitted bool `json:"value_omitted,omitempty"`
}

// EventList is the list_events result.
type EventList struct {
	Events     []EventItem `json:"events"`
	NextCursor string      `json:"next_cursor,omitempty"`
	Notice     string      `json:"notice"`
}

// ListEvents lists the webhook events of the account, newest first.
// It reads only igmcp's store: nothing is sent to Instagram for it.
func ListEvents(d *Deps) Tool {
	return newTool[listEventsArgs, EventList](d, "list_events",
		"Webhook events, newest first.",
		annotations{readOnly: true, idempotent: true, closedWorld: true}, auth.NoScopes(),
		func(ctx context.Context, c *call, a *listEventsArgs) (any, string, error) {
			if a.Field != "" && !eventFieldRE.MatchString(a.Field) {
				return nil, "", invalid("field", "field must be a webhook field name such as comments, mentions or story_insights")
			}
			if d.Events == nil {
				return nil, "", webhooksOff()
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			limit := a.Limit
			if limit == 0 {
				limit = 20
			}
			es, next, err := d.Events.ListEvents(ctx, store.EventQuery{AccountID: acct.ID, Field: a.Field, Limit: limit, Cursor: a.Cursor})
			if errors.Is(err, store.ErrInvalid) {
				return nil, "", invalid("cursor", "cursor must be the next_cursor of a previous page")
			}
			if err != nil {
				return nil, "", err
			}
			res := EventList{Events: eventItems(acct, es), NextCursor: next, Notice: untrustedNotice}
			return res, count(len(res.Events), "event", "events") + " (text by others is in untrusted_*)", nil
		})
}

// webhooksOff explains a server without a store of events.
func webhooksOff() error {
	e := failure.New(failure.InvalidInput, "Webhooks are not configured on this server, so there are no events.")
	e.Action = "Ask the operator to set INSTAGRAM_WEBHOOK_VERIFY_TOKEN and INSTAGRAM_APP_SECRET and run igmcp http (docs/reference.md §5); meanwhile read comments with list_comments."
	return e
}

func eventItems(acct *auth.Account, es []store.Event) []EventItem {
	out := make([]EventItem, 0, len(es))
	for _, e := range es {
		out = append(out, eventItem(acct, e))
	}
	return out
}

// eventItem renders one stored event. acct is the account it belongs to
// (to tell the account's own comments from others').
func eventItem(acct *auth.Account, e store.Event) EventItem {
	// Ids and the field name outside untrusted_* fields: only what such
	// values can be (the receiver already stores no other field name).
	it := EventItem{ID: e.ID, Field: e.Field, Time: e.Time.UTC().Format(time.RFC3339), AccountID: graphID(e.AccountID),
		MediaID: graphID(e.MediaID), CommentID: graphID(e.CommentID), ParentID: graphID(e.ParentID), FromID: graphID(e.FromID)}
	if !eventFieldRE.MatchString(it.Field) {
		it.Field = "unknown"
	}
	own := acct != nil && (e.FromID != "" && e.FromID == acct.ID ||
		e.FromUsername != "" && acct.Username != "" && strings.EqualFold(e.FromUsername, acct.Username))
	switch {
	case own:
		it.Own, it.Text = true, e.Text
	default:
		it.UntrustedUsername, it.UntrustedText = untrusted(e.FromUsername), untrusted(e.Text)
	}
	switch e.Field {
	case webhooks.FieldComments, webhooks.FieldLiveComments, webhooks.FieldMentions:
		// everything of these is read into the typed fields
	case webhooks.FieldStoryInsights:
		if si, err := webhooks.ParseStoryInsights(e); err == nil {
			it.Metrics = si.Metrics
		}
	default:
		it.UntrustedValue, it.ValueOmitted = untrustedJSON(e.Value)
	}
	return it
}

// graphID keeps a numeric Graph id and drops anything else.
func graphID(s string) string {
	if numericID.MatchString(s) {
		return s
	}
	return ""
}

// untrustedJSON is a delivered value as data for the model: every string
// in it (object keys included) cleaned as untrusted text; numbers exact.
// A value that is still over maxEventValue is left out.
func untrustedJSON(raw json.RawMessage) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	v = cleanValue(v, 0)
	b, err := json.Marshal(v)
	if err != nil || len(b) > maxEventValue {
		return nil, true
	}
	return v, false
}

// maxValueDepth bounds the nesting cleanValue follows; deeper parts are
// dropped (Meta's values nest three or four levels).
const maxValueDepth = 16

func cleanValue(v any, depth int) any {
	if depth > maxValueDepth {
		return nil
	}
	switch t := v.(type) {
	case string:
		return untrusted(t)
	case []any:
		for i := range t {
			t[i] = cleanValue(t[i], depth+1)
		}
		return t
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[untrusted(k)] = cleanValue(x, depth+1)
		}
		return out
	}
	return v
}

// eventsDoc is the body of instagram://events.
type eventsDoc struct {
	Events  []EventItem    `json:"events"`
	Notice  string         `json:"notice"`
	Error   *failure.Error `json:"error,omitempty"`
	Sandbox bool           `json:"sandbox,omitempty"`
}

// readEvents is the resource: the newest events of every account the
// caller may see, newest first.
func readEvents(ctx context.Context, d *Deps) eventsDoc {
	doc := eventsDoc{Events: []EventItem{}, Notice: untrustedNotice, Sandbox: d.Sandbox}
	// A token scoped to other toolsets may not read through the resource
	// what list_events would refuse it.
	if g := scope.From(ctx); g != nil && !g.AllowsToolset(ToolsetEvents) {
		doc.Error = denied(g, "This token may not read webhook events (toolset events); it may use: "+listOr(g.Toolsets, "every toolset")+".")
		return doc
	}
	accts, err := visibleAccounts(ctx, d)
	if err != nil {
		doc.Error = failure.Classify(err)
		return doc
	}
	for _, a := range accts {
		es, _, err := d.Events.ListEvents(ctx, store.EventQuery{AccountID: a.ID, Limit: resourceEvents})
		if err != nil {
			doc.Error = failure.Classify(err)
			return doc
		}
		doc.Events = append(doc.Events, eventItems(a, es)...)
	}
	sort.Slice(doc.Events, func(i, j int) bool { return doc.Events[i].ID > doc.Events[j].ID })
	if len(doc.Events) > resourceEvents {
		doc.Events = doc.Events[:resourceEvents]
	}
	return doc
}

// watchEvents tells the subscribers of instagram://events that events
// arrived, until src stops. A burst becomes one notification per
// subscriber: the notice only says "read again".
func watchEvents(src EventSource, subs *subscriptions) {
	relay(src.Subscribe(context.Background()), subs, isEventsURI)
}

func isEventsURI(uri string) bool { return uri == EventsURI }

// storyFromEvents answers get_insights for a Story whose live insights are
// gone (Instagram keeps them for 24 hours) with the story_insights Meta
// delivered when it expired; ok is false when none was kept.
func storyFromEvents(ctx context.Context, d *Deps, acct *auth.Account, mediaID string) (InsightsResult, string, bool) {
	if d.Events == nil {
		return InsightsResult{}, "", false
	}
	e, err := d.Events.LatestStoryInsights(ctx, acct.ID, mediaID)
	if err != nil {
		return InsightsResult{}, "", false
	}
	si, err := webhooks.ParseStoryInsights(e)
	if err != nil || len(si.Metrics) == 0 {
		return InsightsResult{}, "", false
	}
	res := InsightsResult{Scope: "media", ID: mediaID, ProductType: "STORY", Rows: []InsightRow{}, Available: true}
	floor := false
	for _, name := range si.Names() {
		v := si.Metrics[name]
		floor = floor || v == -1
		res.Rows = append(res.Rows, InsightRow{Metric: name, Period: "lifetime", Value: v, EndTime: si.Time.UTC().Format(time.RFC3339)})
	}
	res.Note = fmt.Sprintf("Instagram no longer answers this Story's insights (Stories keep them 24 hours); these are the final metrics Meta delivered by webhook (story_insights) at %s, under the names Meta used there.", si.Time.UTC().Format(time.RFC3339))
	if floor {
		res.Note += " -1 means fewer than 5."
	}
	return res, fmt.Sprintf("%s for Story %s from its story_insights webhook", count(len(res.Rows), "insight row", "insight rows"), mediaID), true
}
