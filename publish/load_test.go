package publish_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
)

// TestLoad_GovernorKeepsAccountsWithinBudget: 20 agents publish and read on
// 5 accounts while each call raises the account's BUC usage by 3 points.
// The governor slows accounts above 80 % and stops sending at the limit, so
// no account is driven past its budget; every call ends; nothing is lost or
// doubled.
func TestLoad_GovernorKeepsAccountsWithinBudget(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		const agents, rounds, perCall, maxConcurrent = 20, 8, 3, 4
		var accts []fakegraph.Account
		for i := range 5 {
			accts = append(accts, fakegraph.Account{ID: fmt.Sprintf("178414000000001%02d", i), Username: fmt.Sprintf("brand%d", i), Token: fmt.Sprintf("EAAload%d", i), Login: fakegraph.LoginFacebook})
		}
		r := v.rig(t, fakegraph.Options{Accounts: accts, UsagePerCall: perCall, Latency: 2 * time.Millisecond},
			ratelimit.Config{MaxConcurrent: maxConcurrent, MaxSpacing: 20 * time.Millisecond, MaxWait: 200 * time.Millisecond, DefaultBlock: time.Hour})
		// A claimed send must leave within half the grace; here it may wait
		// in the governor's queue (up to MaxWait) behind 20 agents first, so
		// the grace is long next to that, as 2 minutes is in production.
		r.grace = 4 * time.Second
		r.open(t)

		type outcome struct {
			account, caption string
			res              *publish.Result
			err              error
		}
		var mu sync.Mutex
		var outcomes []outcome
		var wg sync.WaitGroup
		for ag := range agents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := r.accounts[ag%len(r.accounts)]
				for round := range rounds {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					caption := fmt.Sprintf("agent %d round %d", ag, round)
					req := post(caption)
					req.IdempotencyKey = caption
					res, err := r.pub.Run(ctx, a, req, publish.Options{Wait: 5 * time.Second})
					_, _, rerr := a.Graph.PublishingLimit(ctx, a.ID) // a read between publishes
					cancel()
					mu.Lock()
					outcomes = append(outcomes, outcome{a.ID, caption, res, err})
					if rerr != nil {
						outcomes = append(outcomes, outcome{a.ID, "read", nil, rerr})
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait() // every call ended (each has a 30 s bound)

		published, refused := 0, 0
		for _, o := range outcomes {
			if o.err == nil {
				published++
				continue
			}
			fe := failure.Classify(o.err)
			if fe.Kind != failure.RateLimited || fe.RetryAfter <= 0 {
				t.Errorf("%s %q: want success or rate_limited with retry_after, got %v", o.account, o.caption, o.err)
			}
			refused++
		}
		// Budget: per account, the fake answered 80002 to at most the calls
		// already in flight when the limit was reached, and never more calls
		// were sent than the budget allows plus those.
		tokenToAcct := map[string]string{}
		for _, a := range accts {
			tokenToAcct[a.Token] = a.ID
		}
		sent, over := map[string]int{}, map[string]int{}
		for _, c := range r.fake.Calls() {
			id := tokenToAcct[c.Token]
			sent[id]++
			if c.Status == 400 {
				over[id]++
			}
		}
		for _, a := range accts {
			if over[a.ID] > maxConcurrent {
				t.Errorf("account %s: %d calls answered over the limit (in-flight bound %d)", a.ID, over[a.ID], maxConcurrent)
			}
			if budget := 100/perCall + maxConcurrent + 1; sent[a.ID] > budget {
				t.Errorf("account %s: %d calls sent, budget %d", a.ID, sent[a.ID], budget)
			}
		}
		// Nothing lost or doubled: every success is a distinct live post, and
		// every live post was reported to its caller.
		live := map[string]bool{}
		for _, a := range accts {
			for _, m := range r.fake.Published(a.ID) {
				if live[m.Caption] {
					t.Errorf("caption %q published twice", m.Caption)
				}
				live[m.Caption] = true
			}
		}
		for _, o := range outcomes {
			if o.err == nil && !live[o.caption] {
				t.Errorf("%q reported published but is not live", o.caption)
			}
		}
		if len(live) != published {
			t.Errorf("%d posts live, %d reported published", len(live), published)
		}
		if sends := oneSendPerContainer(t, r); sends < published {
			t.Errorf("%d media_publish sends for %d posts", sends, published)
		}
		t.Logf("%d calls: %d published, %d refused rate_limited; sent per account %v; over-limit answers %v", len(outcomes), published, refused, sent, over)
	})
}
