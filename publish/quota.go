package publish

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/igmcp/igmcp/failure"
)

// quotaTTL is how long a content_publishing_limit reading is trusted. Our
// own publishes are counted locally in between, and Meta enforces the quota
// anyway (9/2207042), so a stale count costs at most one refused publish.
const quotaTTL = 10 * time.Minute

type quota struct {
	mu sync.Mutex
	m  map[string]*quotaEntry
}

type quotaEntry struct {
	usage, total int
	window       time.Duration
	fetched      time.Time
}

// checkQuota refuses a publish the account's 24-hour quota cannot take,
// before any container is created. A failed quota read does not block: the
// publish itself would be refused by Instagram if the quota were used up.
func (p *Publisher) checkQuota(ctx context.Context, a *Account) error {
	e, err := p.quotaEntry(ctx, a)
	if err != nil {
		if failure.Classify(err).Kind == failure.Transient {
			p.log.Warn("could not read the publishing quota", "account", a.ID, "err", err)
			return nil
		}
		// A token, permission or rate-limit refusal would refuse the publish
		// too: report it now, before a container is made.
		return err
	}
	if e.total <= 0 {
		return nil
	}
	// Publishes since the reading, by this and every other process sharing
	// the store.
	if n, err := p.store.CountPublishes(ctx, a.ID, e.fetched); err == nil {
		e.usage += n
	}
	if e.usage < e.total {
		return nil
	}
	return p.limitReached(ctx, a, e.usage, e.total, e.window, nil)
}

func (p *Publisher) quotaEntry(ctx context.Context, a *Account) (*quotaEntry, error) {
	p.quota.mu.Lock()
	if e, ok := p.quota.m[a.ID]; ok && time.Since(e.fetched) < quotaTTL {
		cp := *e
		p.quota.mu.Unlock()
		return &cp, nil
	}
	p.quota.mu.Unlock()
	lim, _, err := a.Graph.PublishingLimit(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	e := &quotaEntry{usage: lim.QuotaUsage, total: lim.QuotaTotal, window: lim.QuotaDuration, fetched: time.Now()}
	if e.window <= 0 {
		e.window = 24 * time.Hour
	}
	p.quota.mu.Lock()
	if p.quota.m == nil {
		p.quota.m = map[string]*quotaEntry{}
	}
	cp := *e
	p.quota.m[a.ID] = e
	p.quota.mu.Unlock()
	return &cp, nil
}

// countPublish records one publish in the shared rolling window.
func (p *Publisher) countPublish(ctx context.Context, a *Account) {
	if err := p.store.RecordPublish(context.WithoutCancel(ctx), a.ID, time.Now()); err != nil {
		p.log.Warn("could not count a publish in the store", "account", a.ID, "err", err)
	}
}

// quotaExhausted records a 9/2207042 from Instagram so later publishes are
// refused without a call.
func (p *Publisher) quotaExhausted(a *Account) {
	p.quota.mu.Lock()
	defer p.quota.mu.Unlock()
	if e, ok := p.quota.m[a.ID]; ok && e.total > 0 {
		// Full as of now: later publishes of any process only add to it.
		e.usage, e.fetched = e.total, time.Now()
	}
}

// limitReached builds publish_limit_reached with the time until the oldest
// post of the window ages out: the quota is a rolling 24 hours, so that is
// when the next slot frees. The account's recent media give the times; posts
// made in the Instagram app are among them, so this can only err early.
func (p *Publisher) limitReached(ctx context.Context, a *Account, usage, total int, window time.Duration, graphErr *failure.Error) error {
	retry := time.Hour
	if media, _, err := a.Graph.RecentMedia(ctx, a.ID, min(total, 100)); err == nil && len(media) >= total {
		if ts, err := time.Parse(graphTime, media[total-1].Timestamp); err == nil {
			retry = time.Until(ts.Add(window))
		}
	}
	retry = max(retry, time.Minute)
	e := failure.New(failure.PublishLimitReached, fmt.Sprintf("The account has published %d of its %d posts allowed in a rolling %s through the API.", usage, total, window))
	e.RetryAfter = int(retry.Seconds())
	e.Action = fmt.Sprintf("Wait %s for a slot to free up, or schedule the post for later; do not retry sooner.", retry.Round(time.Minute))
	if graphErr != nil {
		e.Graph = graphErr.Graph
	}
	return e
}

// graphTime is the timestamp format of IG Media (2017-05-19T23:27:28+0000).
const graphTime = "2006-01-02T15:04:05-0700"
