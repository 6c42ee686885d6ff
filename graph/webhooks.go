package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// Webhook subscriptions (docs/graph-api.md §14). Meta delivers an Instagram
// field when the app subscribed to it (App Dashboard) and the account
// enabled the app's subscription:
//   - Instagram Login: POST /{ig-user-id}/subscribed_apps with the
//     Instagram fields themselves;
//   - Facebook Login: POST /{page-id}/subscribed_apps on the Page linked to
//     the account, with any Page field (Meta's guide uses feed); the
//     Instagram fields come from the app's dashboard. Meta asks for the
//     Page's access token on that edge.

// InstagramLoginWebhookFields are the fields igmcp turns into events that
// an Instagram-Login account can subscribe to (story_insights is Facebook
// Login only).
var InstagramLoginWebhookFields = []string{"comments", "live_comments", "mentions"}

// PageSubscriptionField is the Page field a Facebook-Login app subscribes
// the account's Page to, which enables the Page's webhooks at all.
const PageSubscriptionField = "feed"

// SubscribedApp is one app subscribed to an object's webhooks.
type SubscribedApp struct {
	ID     string   `json:"id"`
	Name   string   `json:"name,omitempty"`
	Fields []string `json:"subscribed_fields"`
}

// SubscribedApps: GET /{objectID}/subscribed_apps — the apps subscribed to
// the webhooks of an Instagram account (Instagram Login: its id or "me")
// or of a Facebook Page (Facebook Login), with their fields. An empty
// list means none, this app included.
func (c *Client) SubscribedApps(ctx context.Context, objectID string) ([]SubscribedApp, *Response, error) {
	if objectID == "" {
		return nil, nil, argError("SubscribedApps", "empty object id")
	}
	type appJSON struct {
		ID     flexString        `json:"id"`
		AppID  flexString        `json:"app_id"`
		Name   string            `json:"name"`
		Fields []json.RawMessage `json:"subscribed_fields"`
	}
	data, resp, err := list[appJSON](ctx, c, seg(objectID)+"/subscribed_apps", nil)
	if err != nil {
		return nil, resp, err
	}
	out := make([]SubscribedApp, 0, len(data))
	for _, a := range data {
		app := SubscribedApp{ID: string(a.ID), Name: a.Name}
		if app.ID == "" {
			app.ID = string(a.AppID)
		}
		for _, f := range a.Fields {
			// a name, or an object with one ({"name": …, "version": …}
			// as the app subscriptions edge lists them)
			var name string
			if json.Unmarshal(f, &name) != nil {
				var obj struct {
					Name string `json:"name"`
				}
				if json.Unmarshal(f, &obj) != nil {
					continue
				}
				name = obj.Name
			}
			if name != "" {
				app.Fields = append(app.Fields, name)
			}
		}
		out = append(out, app)
	}
	return out, resp, nil
}

// SubscribeApp: POST /{objectID}/subscribed_apps with subscribed_fields —
// subscribes this app to the object's webhooks for fields (replacing what
// it had). Field names are lower-case words joined by underscores.
func (c *Client) SubscribeApp(ctx context.Context, objectID string, fields []string) (*Response, error) {
	if objectID == "" {
		return nil, argError("SubscribeApp", "empty object id")
	}
	if len(fields) == 0 {
		return nil, argError("SubscribeApp", "no fields")
	}
	for _, f := range fields {
		if !webhookFieldName(f) {
			return nil, argError("SubscribeApp", "bad field name "+strings.ToValidUTF8(f[:min(len(f), 40)], "?"))
		}
	}
	path := seg(objectID) + "/subscribed_apps"
	return c.success(ctx, http.MethodPost, path, url.Values{"subscribed_fields": {strings.Join(fields, ",")}})
}

func webhookFieldName(f string) bool {
	if f == "" || len(f) > 64 {
		return false
	}
	for _, r := range f {
		if !(r >= 'a' && r <= 'z' || r == '_') {
			return false
		}
	}
	return true
}
