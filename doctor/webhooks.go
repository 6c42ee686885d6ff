package doctor

import (
	"context"
	"slices"
	"strings"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
)

// checkWebhooks reads the account's webhook subscription (subscribed_apps)
// when webhooks are configured: Instagram Login subscribes the account,
// Facebook Login the account's Page (docs/graph-api.md §14).
func (d *doctor) checkWebhooks(ctx context.Context, ar *accountRun) Result {
	if !d.cfg.Webhooks {
		return skipped(CheckWebhooks, "webhooks are not configured (INSTAGRAM_WEBHOOK_VERIFY_TOKEN is not set; optional)")
	}
	if !ar.accountOK {
		return skipped(CheckWebhooks, d.why(ar))
	}
	l := ar.t.login
	object, what := ar.id, "the account"
	subscribe := "subscribe it: POST /" + ar.id + "/subscribed_apps with subscribed_fields=" + strings.Join(graph.InstagramLoginWebhookFields, ",")
	if l == auth.LoginFacebook {
		if ar.pageID == "" {
			return skipped(CheckWebhooks, "the account's Facebook Page is unknown (see account)")
		}
		object, what = ar.pageID, "the account's Facebook Page "+ar.pageID
		subscribe = "subscribe the Page: POST /" + ar.pageID + "/subscribed_apps with subscribed_fields=" + graph.PageSubscriptionField +
			" (with the Page's access token), and pick the Instagram fields in the App Dashboard"
	}
	apps, _, err := ar.client.SubscribedApps(ctx, object)
	if ar.note(err) != nil {
		kind, why := describe(err)
		return Result{Name: CheckWebhooks, Status: Fail, Detail: "the subscription of " + what + " cannot be read: " + why, Fix: fixFor(kind, ar.t)}
	}
	var ours *graph.SubscribedApp
	for i := range apps {
		if d.cfg.AppID == "" || apps[i].ID == d.cfg.AppID {
			ours = &apps[i]
			break
		}
	}
	if ours == nil {
		detail := "no app is subscribed to the webhooks of " + what
		if len(apps) > 0 {
			detail = "app " + d.cfg.AppID + " (INSTAGRAM_APP_ID) is not subscribed to the webhooks of " + what
		}
		return Result{Name: CheckWebhooks, Status: Fail, Detail: detail + ": Meta delivers nothing to /webhooks/instagram", Fix: subscribe}
	}
	facts := map[string]any{"app_id": ours.ID, "fields": ours.Fields}
	if l == auth.LoginInstagram {
		var lacking []string
		for _, f := range graph.InstagramLoginWebhookFields {
			if !slices.Contains(ours.Fields, f) {
				lacking = append(lacking, f)
			}
		}
		if len(lacking) > 0 {
			return Result{Name: CheckWebhooks, Status: Warn, Facts: facts,
				Detail: "subscribed to " + strings.Join(ours.Fields, ", ") + " but not to " + strings.Join(lacking, ", ") + ": those events never arrive",
				Fix:    subscribe}
		}
		return Result{Name: CheckWebhooks, Status: OK, Facts: facts, Detail: "subscribed to " + strings.Join(ours.Fields, ", ")}
	}
	return Result{Name: CheckWebhooks, Status: OK, Facts: facts,
		Detail: "the Page is subscribed (" + strings.Join(ours.Fields, ", ") + "); the Instagram fields are chosen in the App Dashboard, which a user token cannot read"}
}
