package graph

import "time"

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

// MaxPercent is the highest percentage of any counter in the usage, 0 when
// no header was present.
func (u Usage) MaxPercent() int {
	panic("implemented by graph client work")
}

// RegainAccessIn is the longest estimated_time_to_regain_access in the
// usage, 0 when none.
func (u Usage) RegainAccessIn() time.Duration {
	panic("implemented by graph client work")
}

// ParseUsage reads X-App-Usage and X-Business-Use-Case-Usage (header names
// are case-insensitive). Malformed headers are ignored, never an error: usage
// is advisory.
func ParseUsage(appUsage, bucUsage string) Usage {
	panic("implemented by graph client work")
}
