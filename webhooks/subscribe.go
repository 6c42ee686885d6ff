package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
)

// `igmcp webhooks subscribe|status` (docs/reference.md §1, §5): whether
// Meta delivers the account's webhooks to this app, and subscribing it.
// Meta delivers an Instagram field when the app subscribed to it in its
// dashboard and the account enabled the app (docs/graph-api.md §14):
//   - Instagram Login: POST /{ig-user-id}/subscribed_apps with the
//     Instagram fields themselves;
//   - Facebook Login: POST /{page-id}/subscribed_apps on the account's Page
//     with a Page field (feed); the Instagram fields, story_insights among
//     them, are those of the app's dashboard.

// SubscribeOptions tune Subscribe and Status.
type SubscribeOptions struct {
	// AppID (INSTAGRAM_APP_ID) picks this app's entry among the apps
	// subscribed to the object; empty: the one entry there is, if any.
	AppID string
	// PageClient makes a client acting with a Page access token (Facebook
	// Login: Meta asks the Page's token on the Page's subscribed_apps
	// edge), built with the same options as the user's client. nil, or a
	// Page whose token Instagram does not hand out: the user's client is
	// used, and Instagram decides.
	PageClient func(pageToken string) (*graph.Client, error)
}

// Subscription is the state of one account's webhooks for this app.
type Subscription struct {
	AccountID string     `json:"account_id"`
	Login     auth.Login `json:"login"`
	// Object is where the subscription lives: the account (Instagram
	// Login) or its Page (Facebook Login).
	Object string `json:"object"`
	// Subscribed: this app is subscribed there.
	Subscribed bool `json:"subscribed"`
	// AppID is the id of this app's entry there, when subscribed.
	AppID string `json:"app_id,omitempty"`
	// Fields are the fields this app is subscribed to there.
	Fields []string `json:"fields,omitempty"`
	// Missing are the fields Subscribe asks for that Fields lacks.
	Missing []string `json:"missing,omitempty"`
	// OtherApps are the ids of the other apps subscribed there (every app
	// there when this one cannot be told: several, and no AppID).
	OtherApps []string `json:"other_apps,omitempty"`
	// Note says what Instagram cannot tell (Facebook Login: the Instagram
	// fields are the app dashboard's).
	Note string `json:"note,omitempty"`
}

// OK reports whether the account's webhooks reach this app with every
// field igmcp reads.
func (s Subscription) OK() bool { return s.Subscribed && len(s.Missing) == 0 }

// SubscribeFields are the fields Subscribe asks for where the login type's
// subscription lives (the account's own, or its Page's).
func SubscribeFields(l auth.Login) []string {
	if l == auth.LoginInstagram {
		return graph.InstagramLoginWebhookFields
	}
	return []string{graph.PageSubscriptionField}
}

const facebookNote = "Facebook Login: the Page's subscription enables the Instagram fields the app subscribed to in its dashboard (comments, live_comments, mentions, story_insights); Instagram does not show them to a user token."

// Status reads the account's subscription without changing anything.
func Status(ctx context.Context, c *graph.Client, accountID string, l auth.Login, o SubscribeOptions) (Subscription, error) {
	sub, oc, err := locate(ctx, c, accountID, l, o)
	if err != nil {
		return sub, err
	}
	return read(ctx, oc, sub, o)
}

// Subscribe subscribes this app to the account's webhooks (the fields
// igmcp reads), then reads the subscription back.
func Subscribe(ctx context.Context, c *graph.Client, accountID string, l auth.Login, o SubscribeOptions) (Subscription, error) {
	sub, oc, err := locate(ctx, c, accountID, l, o)
	if err != nil {
		return sub, err
	}
	if _, err := oc.SubscribeApp(ctx, sub.Object, SubscribeFields(l)); err != nil {
		return sub, fmt.Errorf("subscribe %s to %v: %w", sub.Object, SubscribeFields(l), err)
	}
	return read(ctx, oc, sub, o)
}

// locate finds where the subscription lives and the client to use there.
func locate(ctx context.Context, c *graph.Client, accountID string, l auth.Login, o SubscribeOptions) (Subscription, *graph.Client, error) {
	sub := Subscription{AccountID: accountID, Login: l}
	if accountID == "" {
		return sub, nil, errors.New("webhooks: no account id")
	}
	if l == auth.LoginInstagram {
		sub.Object = accountID
		return sub, c, nil
	}
	sub.Note = facebookNote
	pages, _, err := c.PageAccounts(ctx)
	if err != nil {
		return sub, nil, fmt.Errorf("find the Page of account %s: %w", accountID, err)
	}
	for _, p := range pages {
		if p.IGUserID == accountID {
			sub.Object = p.PageID
			return sub, pageClient(ctx, c, p.PageID, o), nil
		}
	}
	return sub, nil, fmt.Errorf("webhooks: account %s is not linked to a Page this token manages", accountID)
}

// pageClient is a client with the Page's access token when Instagram
// hands it out and o can build one, else c. The token is held only in the
// client: never logged or returned.
func pageClient(ctx context.Context, c *graph.Client, pageID string, o SubscribeOptions) *graph.Client {
	if o.PageClient == nil {
		return c
	}
	var page struct {
		AccessToken string `json:"access_token"`
	}
	if _, err := c.Do(ctx, http.MethodGet, url.PathEscape(pageID), url.Values{"fields": {"access_token"}}, &page); err != nil || page.AccessToken == "" {
		return c
	}
	pc, err := o.PageClient(page.AccessToken)
	if err != nil || pc == nil {
		return c
	}
	return pc
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

func read(ctx context.Context, c *graph.Client, sub Subscription, o SubscribeOptions) (Subscription, error) {
	apps, _, err := c.SubscribedApps(ctx, sub.Object)
	if err != nil {
		return sub, fmt.Errorf("read the subscriptions of %s: %w", sub.Object, err)
	}
	sub.OtherApps = nil
	for _, a := range apps {
		if o.AppID == "" && len(apps) == 1 || o.AppID != "" && a.ID == o.AppID {
			sub.Subscribed, sub.AppID, sub.Fields = true, a.ID, a.Fields
		} else {
			sub.OtherApps = append(sub.OtherApps, a.ID)
		}
	}
	if o.AppID == "" && len(apps) > 1 {
		sub.Note = joinNote(sub.Note, fmt.Sprintf("%d apps are subscribed here; set INSTAGRAM_APP_ID to tell which one is this app.", len(apps)))
	}
	sub.Missing = nil
	for _, f := range SubscribeFields(sub.Login) {
		if !slices.Contains(sub.Fields, f) {
			sub.Missing = append(sub.Missing, f)
		}
	}
	return sub, nil
}
