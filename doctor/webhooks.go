package doctor

import (
	"context"
	"strings"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/webhooks"
)

// checkWebhooks reads the account's webhook subscription as `igmcp
// webhooks status` does (webhooks.Status) when webhooks are configured:
// Instagram Login subscribes the account, Facebook Login the account's
// Page (docs/graph-api.md §14).
func (d *doctor) checkWebhooks(ctx context.Context, ar *accountRun) Result {
	if !d.cfg.Webhooks {
		return skipped(CheckWebhooks, "webhooks are not configured (INSTAGRAM_WEBHOOK_VERIFY_TOKEN is not set; optional)")
	}
	if !ar.accountOK {
		return skipped(CheckWebhooks, d.why(ar))
	}
	l := ar.t.login
	if l == auth.LoginFacebook && ar.pageID == "" {
		return skipped(CheckWebhooks, "the account's Facebook Page is unknown (see account)")
	}
	appID := d.cfg.AppID
	if d.cfg.Sandbox {
		appID = "" // the simulation's subscriptions are its own app's
	}
	sub, err := webhooks.Status(ctx, ar.client, ar.id, l, webhooks.SubscribeOptions{AppID: appID})
	what := "the account"
	if l == auth.LoginFacebook {
		what = "the account's Facebook Page " + ar.pageID
	}
	if ar.note(err) != nil {
		kind, why := describe(err)
		return Result{Name: CheckWebhooks, Status: Fail, Detail: "the subscription of " + what + " cannot be read: " + why, Fix: fixFor(kind, ar.t)}
	}
	subscribe := "run `igmcp webhooks subscribe` (POST /" + sub.Object + "/subscribed_apps with subscribed_fields=" + strings.Join(webhooks.SubscribeFields(l), ",")
	if l == auth.LoginFacebook {
		subscribe += ", with the Page's access token), and pick the Instagram fields in the App Dashboard"
	} else {
		subscribe += ")"
	}
	if !sub.Subscribed {
		detail := "no app is subscribed to the webhooks of " + what
		switch {
		case len(sub.OtherApps) > 0 && appID != "":
			detail = "app " + appID + " (INSTAGRAM_APP_ID) is not subscribed to the webhooks of " + what
		case len(sub.OtherApps) > 0:
			return Result{Name: CheckWebhooks, Status: Warn, Facts: map[string]any{"apps": sub.OtherApps},
				Detail: strings.Join(sub.OtherApps, ", ") + " are subscribed to the webhooks of " + what + "; which one is this app is unknown",
				Fix:    "set INSTAGRAM_APP_ID to the Meta app's id"}
		}
		return Result{Name: CheckWebhooks, Status: Fail, Detail: detail + ": Meta delivers nothing to /webhooks/instagram", Fix: subscribe}
	}
	facts := map[string]any{"app_id": sub.AppID, "fields": sub.Fields}
	if len(sub.Missing) > 0 {
		return Result{Name: CheckWebhooks, Status: Warn, Facts: facts,
			Detail: "subscribed to " + strings.Join(sub.Fields, ", ") + " but not to " + strings.Join(sub.Missing, ", ") + ": those events never arrive",
			Fix:    subscribe}
	}
	if l == auth.LoginInstagram {
		return Result{Name: CheckWebhooks, Status: OK, Facts: facts, Detail: "subscribed to " + strings.Join(sub.Fields, ", ")}
	}
	return Result{Name: CheckWebhooks, Status: OK, Facts: facts,
		Detail: "the Page is subscribed (" + strings.Join(sub.Fields, ", ") + "); the Instagram fields are chosen in the App Dashboard, which a user token cannot read"}
}
