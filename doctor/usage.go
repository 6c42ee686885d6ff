package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

// Usage thresholds: warn while there is room left to act.
const (
	quotaWarnPercent = 80
	usageWarnPercent = 75
)

// checkQuota reads the 24-hour publishing quota (content_publishing_limit).
func (d *doctor) checkQuota(ctx context.Context, ar *accountRun) Result {
	if !slices.Contains(d.toolsets, tools.ToolsetPublish) && !slices.Contains(d.toolsets, tools.ToolsetSchedule) {
		return skipped(CheckQuota, "no publishing toolset is exposed")
	}
	if !ar.accountOK {
		return skipped(CheckQuota, d.why(ar))
	}
	lim, _, err := ar.client.PublishingLimit(ctx, ar.id)
	if ar.note(err) != nil {
		kind, why := describe(err)
		return Result{Name: CheckQuota, Status: Fail, Detail: "the publishing quota cannot be read: " + why, Fix: fixFor(kind, ar.t)}
	}
	facts := map[string]any{"used": lim.QuotaUsage, "total": lim.QuotaTotal}
	used, total := lim.QuotaUsage, lim.QuotaTotal
	switch {
	case total <= 0:
		return Result{Name: CheckQuota, Status: OK, Facts: facts,
			Detail: fmt.Sprintf("%d %s in the last 24 hours (Instagram did not say the limit)", used, plural(used, "post", "posts"))}
	case used >= total:
		return Result{Name: CheckQuota, Status: Fail, Facts: facts,
			Detail: fmt.Sprintf("the publishing quota is used up: %d of %d posts in the last 24 hours; publishing answers publish_limit_reached until the oldest leaves the window", used, total),
			Fix:    "wait until posts of the last 24 hours age out (get_publishing_limit shows the count), or schedule posts for later"}
	case used*100 >= total*quotaWarnPercent:
		return Result{Name: CheckQuota, Status: Warn, Facts: facts,
			Detail: fmt.Sprintf("%d of %d posts used in the last 24 hours", used, total),
			Fix:    fmt.Sprintf("%d more can be published before the rolling 24-hour window frees a slot; spread posts out with schedule_post", total-used)}
	}
	return Result{Name: CheckQuota, Status: OK, Facts: facts, Detail: fmt.Sprintf("%d of %d posts used in the last 24 hours", used, total)}
}

// checkRateLimit reports the usage headers of this run's answers, any
// rate-limit refusal among them, and a block another server recorded in
// the shared store.
func (d *doctor) checkRateLimit(ctx context.Context, st store.Store, ar *accountRun) Result {
	if !ar.tokenOK {
		return skipped(CheckRateLimit, d.why(ar))
	}
	u := &ar.usage
	u.mu.Lock()
	app, business, regain, seen := u.app, u.business, u.regainMinutes, u.seen
	u.mu.Unlock()
	facts := map[string]any{"app_pct": app, "business_pct": business, "headers_seen": seen}
	if ar.limited != nil {
		_, why := describe(ar.limited)
		wait := "the rate limit to reset"
		if regain > 0 {
			wait = fmt.Sprintf("about %d minutes (Meta's estimate)", regain)
		}
		return Result{Name: CheckRateLimit, Status: Fail, Facts: facts, Detail: "Instagram refused a call for rate limits: " + why,
			Fix: "wait " + wait + " before calling again; a running server holds calls back by itself"}
	}
	if st != nil && ar.id != "" {
		rs, err := st.GetRateState(ctx, ar.id)
		if err == nil && rs.BlockedUntil.After(d.now()) {
			facts["blocked_until"] = rs.BlockedUntil.UTC().Format(time.RFC3339)
			return Result{Name: CheckRateLimit, Status: Fail, Facts: facts,
				Detail: "a server recorded that Instagram blocks this account's calls until " + rs.BlockedUntil.UTC().Format("15:04 UTC"),
				Fix:    "wait until then; igmcp holds calls back until the block ends"}
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			facts["store_error"] = err.Error()
		}
	}
	most := max(app, business)
	detail := fmt.Sprintf("app %d%%, account %d%% of Meta's rate-limit allowance", app, business)
	switch {
	case !seen:
		return Result{Name: CheckRateLimit, Status: OK, Facts: facts,
			Detail: "no usage headers in the answers (Meta sends them once enough calls were made): far from the limits"}
	case most >= 100:
		return Result{Name: CheckRateLimit, Status: Fail, Facts: facts, Detail: detail + ": calls are refused until usage falls",
			Fix: fmt.Sprintf("wait about %d minutes (Meta's estimate); a running server holds calls back by itself", max(regain, 1))}
	case most >= usageWarnPercent:
		return Result{Name: CheckRateLimit, Status: Warn, Facts: facts, Detail: detail + ": close to the limit",
			Fix: "make fewer calls for a while (Meta counts a rolling hour); several servers on one app share the allowance"}
	}
	return Result{Name: CheckRateLimit, Status: OK, Facts: facts, Detail: detail}
}
