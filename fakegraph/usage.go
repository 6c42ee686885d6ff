package fakegraph

import (
	"encoding/json"
	"net/http"
	"time"
)

// defaultRegainMinutes is estimated_time_to_regain_access when an account
// reaches 100 % without SetUsage saying otherwise (test assumption: the
// docs give no figure; BUC windows are rolling 24 h, 60 min keeps sandbox
// sessions usable).
const defaultRegainMinutes = 60

type account struct {
	Account
	pageID      string
	appScopedID string
	followers   *int // SetFollowers; nil: a stable default
	usage       usageState
	published   []string    // media ids, publishing order
	created     []time.Time // container creation times (400 / 24 h)
	publishes   []time.Time // publish times (quota)
}

type usageState struct {
	configured     bool
	callCount      int
	regainMinutes  int
	throttledUntil time.Time
}

type tokenInfo struct {
	accounts []*account
	expiry   time.Time
	login    string
	fbUserID string
}

func (t *tokenInfo) owns(a *account) bool {
	for _, x := range t.accounts {
		if x == a {
			return true
		}
	}
	return false
}

type bucEntry struct {
	Type                        string `json:"type"`
	CallCount                   int    `json:"call_count"`
	TotalCPUTime                int    `json:"total_cputime"`
	TotalTime                   int    `json:"total_time"`
	EstimatedTimeToRegainAccess int    `json:"estimated_time_to_regain_access"`
}

// chargeUsage applies BUC accounting to one authenticated call: when the
// account is throttled it answers 80002 (the work is not done); otherwise
// it adds UsagePerCall. Once usage is configured, the usage headers are set
// on w either way.
func (s *Server) chargeUsage(w http.ResponseWriter, a *account) *apiError {
	u := &a.usage
	if !u.configured {
		return nil
	}
	now := s.now()
	if !u.throttledUntil.IsZero() && !now.Before(u.throttledUntil) {
		// access regained: the window rolled over
		u.callCount, u.regainMinutes, u.throttledUntil = 0, 0, time.Time{}
	}
	var e *apiError
	if u.callCount >= 100 {
		e = errBUC()
	} else {
		u.callCount += s.opts.UsagePerCall
		if u.callCount >= 100 {
			u.callCount = 100
			mins := u.regainMinutes
			if mins <= 0 {
				mins = defaultRegainMinutes
			}
			u.throttledUntil = now.Add(time.Duration(mins) * time.Minute)
		}
	}
	regain := u.regainMinutes
	if !u.throttledUntil.IsZero() {
		left := u.throttledUntil.Sub(now)
		regain = int((left + time.Minute - 1) / time.Minute)
		if regain < 1 {
			regain = 1
		}
	}
	entry := bucEntry{Type: "instagram", CallCount: u.callCount, TotalCPUTime: u.callCount / 2, TotalTime: u.callCount / 2, EstimatedTimeToRegainAccess: regain}
	buc, _ := json.Marshal(map[string][]bucEntry{a.ID: {entry}})
	app, _ := json.Marshal(map[string]int{"call_count": u.callCount, "total_time": u.callCount / 2, "total_cputime": u.callCount / 2})
	w.Header().Set("x-business-use-case-usage", string(buc))
	w.Header().Set("x-app-usage", string(app))
	return e
}
