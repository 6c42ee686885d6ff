package fakegraph

import (
	"net/http"
	"slices"
	"strings"
)

// Webhook subscriptions of an account (docs/graph-api.md §14):
//
//	GET|POST /{ig-user-id}/subscribed_apps   Instagram Login (also /me/subscribed_apps)
//	GET|POST /{page-id}/subscribed_apps      Facebook Login: the account's Page
//
// POST takes subscribed_fields (a comma list) and answers {"success":true};
// GET answers {"data":[{"id","name","subscribed_fields":[…]}]}, empty when
// the app is not subscribed. Meta delivers a field only when the app
// subscribed to it in its dashboard (WebhookConfig.Fields) and, with
// Instagram Login, the account subscribed to it here; with Facebook Login
// the account's Page must have a subscription to any Page field.

// instagramWebhookFields are the Instagram fields an Instagram-Login
// account may subscribe to: story_insights is Facebook Login only.
var instagramWebhookFields = []string{"comments", "live_comments", "mentions", "message_reactions", "messages",
	"messaging_handover", "messaging_optins", "messaging_postbacks", "messaging_referral", "messaging_seen", "standby"}

// pageWebhookFields are the Page fields a Page may subscribe to (a subset
// of Meta's list; Instagram's fields are not among them).
var pageWebhookFields = []string{"feed", "mention", "name", "picture", "category", "description", "conversations",
	"messages", "message_reactions", "message_echoes", "message_deliveries", "message_reads", "messaging_postbacks",
	"messaging_optins", "messaging_referrals", "messaging_handovers", "standby", "leadgen", "ratings"}

// sandboxAppID and sandboxAppName describe the app the subscriptions
// belong to.
var sandboxAppID = derivedID("9", "sandbox app", 14)

const sandboxAppName = "igmcp sandbox"

// subscribedApps serves /{ig-user-id}/subscribed_apps. With Facebook Login
// the account's webhooks go through its Page (test assumption: the IG
// user edge refuses, as Meta documents only the Page edge there).
func (s *Server) subscribedApps(w http.ResponseWriter, q *request, a *account) *apiError {
	if a.Login != LoginInstagram {
		return errParam("Instagram webhooks of a Facebook Login app are enabled on the account's Page: /%s/subscribed_apps", a.pageID)
	}
	return s.serveSubscription(w, q, a.ID, instagramWebhookFields)
}

// pageSubscribedApps serves /{page-id}/subscribed_apps (Facebook Login).
// Meta asks for a Page access token here; the fake never hands those out,
// so the user token managing the Page is accepted (test assumption).
func (s *Server) pageSubscribedApps(w http.ResponseWriter, q *request, a *account) *apiError {
	return s.serveSubscription(w, q, a.pageID, pageWebhookFields)
}

func (s *Server) serveSubscription(w http.ResponseWriter, q *request, objectID string, allowed []string) *apiError {
	st := s.hooks()
	switch q.method {
	case http.MethodGet:
		data := []any{}
		if fields, ok := st.subscribed[objectID]; ok {
			data = append(data, map[string]any{"id": sandboxAppID, "name": sandboxAppName, "subscribed_fields": slices.Clone(fields)})
		}
		writeJSON(w, 200, map[string]any{"data": data})
		return nil
	case http.MethodPost:
		raw := q.params.Get("subscribed_fields")
		if strings.TrimSpace(raw) == "" {
			return errRequired("subscribed_fields")
		}
		var fields []string
		for i, f := range splitList(strings.Trim(raw, "[]")) {
			f = strings.Trim(f, `"' `)
			if !oneOf(allowed, f) {
				// the message Meta gives for an unknown field (observed for Pages)
				return errParam("Param subscribed_fields[%d] must be one of {%s} - got \"%s\"", i, strings.Join(allowed, ", "), f)
			}
			if !oneOf(fields, f) {
				fields = append(fields, f)
			}
		}
		st.subscribed[objectID] = fields
		writeJSON(w, 200, map[string]any{"success": true})
		return nil
	case http.MethodDelete:
		delete(st.subscribed, objectID)
		writeJSON(w, 200, map[string]any{"success": true})
		return nil
	}
	return errUnsupported(q.method, objectID)
}

// Subscribed returns the fields the account (Instagram Login) or its Page
// (Facebook Login) subscribed to through subscribed_apps; nil when none.
func (s *Server) Subscribed(accountID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acctByID[accountID]
	if a == nil {
		return nil
	}
	return slices.Clone(s.hooks().subscribed[subscriptionObject(a)])
}

// subscriptionObject is where an account's webhook subscription lives.
func subscriptionObject(a *account) string {
	if a.Login == LoginInstagram {
		return a.ID
	}
	return a.pageID
}
