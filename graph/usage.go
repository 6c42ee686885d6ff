package graph

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// AppUsage is the X-App-Usage header: percentages (0–100) of the app's
// platform allowance.
type AppUsage struct {
	CallCount    int `json:"call_count"`
	TotalCPUTime int `json:"total_cputime"`
	TotalTime    int `json:"total_time"`
}

// BUCUsage is one entry of the X-Business-Use-Case-Usage header.
type BUCUsage struct {
	Type         string `json:"type"`
	CallCount    int    `json:"call_count"`
	TotalCPUTime int    `json:"total_cputime"`
	TotalTime    int    `json:"total_time"`
	// EstimatedTimeToRegainAccess is in minutes.
	EstimatedTimeToRegainAccess int `json:"estimated_time_to_regain_access"`
}

// Usage is what one response said about rate-limit consumption. Headers are
// only sent once enough calls have been made, so all fields may be empty.
type Usage struct {
	App *AppUsage
	// BUC maps a business or IG user id to its usage entries.
	BUC map[string][]BUCUsage
}

// maxRegain caps estimated_time_to_regain_access. Real values stay under a
// day (BUC windows are 24 h rolling); the cap only stops a garbage header
// from overflowing a Duration or parking a caller for years.
const maxRegain = 7 * 24 * time.Hour

// MaxPercent is the highest percentage of any counter in the usage, 0 when
// no header was present.
func (u Usage) MaxPercent() int {
	m := 0
	if u.App != nil {
		m = max(m, u.App.CallCount, u.App.TotalCPUTime, u.App.TotalTime)
	}
	for _, entries := range u.BUC {
		for _, b := range entries {
			m = max(m, b.CallCount, b.TotalCPUTime, b.TotalTime)
		}
	}
	return m
}

// RegainAccessIn is the longest estimated_time_to_regain_access in the
// usage, 0 when none.
func (u Usage) RegainAccessIn() time.Duration {
	m := 0
	for _, entries := range u.BUC {
		for _, b := range entries {
			m = max(m, b.EstimatedTimeToRegainAccess)
		}
	}
	if m <= 0 {
		return 0
	}
	if m >= int(maxRegain/time.Minute) {
		return maxRegain
	}
	return time.Duration(m) * time.Minute
}

// UsageFromHeader parses the usage headers of a response.
func UsageFromHeader(h http.Header) Usage {
	return ParseUsage(headerValue(h, "X-App-Usage"), headerValue(h, "X-Business-Use-Case-Usage"))
}

// headerValue is h.Get with a case-insensitive fallback, for header maps
// that were filled directly rather than through canonicalising calls.
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, name) {
			return vs[0]
		}
	}
	return ""
}

// ParseUsage reads X-App-Usage and X-Business-Use-Case-Usage (header names
// are case-insensitive). Malformed headers are ignored, never an error: usage
// is advisory. Within the BUC header, a malformed entry is skipped and the
// rest kept. Counters are read leniently (numbers or numeric strings,
// fractions rounded up so 99.5% is not reported as below 100) and negative
// values count as 0.
func ParseUsage(appUsage, bucUsage string) Usage {
	var u Usage
	if obj, ok := object(json.RawMessage(strings.TrimSpace(appUsage))); ok {
		u.App = &AppUsage{
			CallCount:    percent(obj["call_count"]),
			TotalCPUTime: percent(obj["total_cputime"]),
			TotalTime:    percent(obj["total_time"]),
		}
	}
	if obj, ok := object(json.RawMessage(strings.TrimSpace(bucUsage))); ok {
		for id, raw := range obj {
			var list []json.RawMessage
			if json.Unmarshal(raw, &list) != nil {
				// Tolerate a single object where an array is documented.
				if _, ok := object(raw); !ok {
					continue
				}
				list = []json.RawMessage{raw}
			}
			var entries []BUCUsage
			for _, e := range list {
				m, ok := object(e)
				if !ok {
					continue
				}
				typ, _ := str(m["type"])
				entries = append(entries, BUCUsage{
					Type:                        typ,
					CallCount:                   percent(m["call_count"]),
					TotalCPUTime:                percent(m["total_cputime"]),
					TotalTime:                   percent(m["total_time"]),
					EstimatedTimeToRegainAccess: percent(m["estimated_time_to_regain_access"]),
				})
			}
			if len(entries) > 0 {
				if u.BUC == nil {
					u.BUC = map[string][]BUCUsage{}
				}
				u.BUC[id] = entries
			}
		}
	}
	return u
}

// percent reads a non-negative counter, rounding fractions up; garbage is 0.
func percent(raw json.RawMessage) int {
	if len(raw) == 0 {
		return 0
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		s, ok := str(raw)
		if !ok || json.Unmarshal([]byte(strings.TrimSpace(s)), &f) != nil {
			return 0
		}
	}
	const ceiling = 1 << 40 // far above any percentage or minute count; keeps int conversion defined
	switch {
	case !(f > 0): // also NaN
		return 0
	case f >= ceiling:
		return ceiling
	}
	n := int(f)
	if float64(n) < f {
		n++
	}
	return n
}
