package graph

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestParseUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		app, buc   string
		want       Usage
		wantMax    int
		wantRegain time.Duration
	}{
		{name: "none"},
		{
			name:    "app usage (facts §11)",
			app:     `{"call_count":28,"total_time":25,"total_cputime":25}`,
			want:    Usage{App: &AppUsage{CallCount: 28, TotalTime: 25, TotalCPUTime: 25}},
			wantMax: 28,
		},
		{
			name: "BUC with two ids and several entries",
			buc: `{"17841400000000001":[{"type":"instagram","call_count":12,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":0}],
			       "112233445566":[{"type":"instagram","call_count":12,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":0},
			                       {"type":"pages","call_count":5,"total_cputime":97,"total_time":6,"estimated_time_to_regain_access":12,"ads_api_access_tier":"standard_access"}]}`,
			want: Usage{BUC: map[string][]BUCUsage{
				"17841400000000001": {{Type: "instagram", CallCount: 12, TotalCPUTime: 3, TotalTime: 4}},
				"112233445566": {
					{Type: "instagram", CallCount: 12, TotalCPUTime: 3, TotalTime: 4},
					{Type: "pages", CallCount: 5, TotalCPUTime: 97, TotalTime: 6, EstimatedTimeToRegainAccess: 12},
				},
			}},
			wantMax:    97,
			wantRegain: 12 * time.Minute,
		},
		{
			name:       "both headers, throttled",
			app:        `{"call_count":100,"total_time":40,"total_cputime":3}`,
			buc:        `{"1":[{"type":"instagram","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":1440}]}`,
			want:       Usage{App: &AppUsage{CallCount: 100, TotalTime: 40, TotalCPUTime: 3}, BUC: map[string][]BUCUsage{"1": {{Type: "instagram", CallCount: 100, TotalCPUTime: 1, TotalTime: 1, EstimatedTimeToRegainAccess: 1440}}}},
			wantMax:    100,
			wantRegain: 24 * time.Hour,
		},
		{
			name:    "fractions round up, strings and negatives tolerated",
			app:     ` {"call_count":99.2,"total_time":"7","total_cputime":-3} `,
			want:    Usage{App: &AppUsage{CallCount: 100, TotalTime: 7}},
			wantMax: 100,
		},
		{name: "malformed app", app: `{"call_count":`, want: Usage{}},
		{name: "app not an object", app: `[1,2]`, want: Usage{}},
		{name: "app null", app: `null`, want: Usage{}},
		{name: "malformed BUC", buc: `{"1":[{"type":"instagram"`, want: Usage{}},
		{name: "BUC not an object", buc: `"x"`, want: Usage{}},
		{
			name:    "bad BUC entries skipped, good kept",
			buc:     `{"1":"x","2":[7,null,{"type":"instagram","call_count":50}],"3":[]}`,
			want:    Usage{BUC: map[string][]BUCUsage{"2": {{Type: "instagram", CallCount: 50}}}},
			wantMax: 50,
		},
		{
			name:    "single object instead of array",
			buc:     `{"1":{"type":"instagram","call_count":3}}`,
			want:    Usage{BUC: map[string][]BUCUsage{"1": {{Type: "instagram", CallCount: 3}}}},
			wantMax: 3,
		},
		{
			name:       "absurd regain is capped",
			buc:        `{"1":[{"estimated_time_to_regain_access":1e300}]}`,
			want:       Usage{BUC: map[string][]BUCUsage{"1": {{EstimatedTimeToRegainAccess: 1 << 40}}}},
			wantRegain: maxRegain,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ParseUsage(tt.app, tt.buc)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseUsage =\n%#v\nwant\n%#v", got, tt.want)
			}
			if m := got.MaxPercent(); m != tt.wantMax {
				t.Errorf("MaxPercent = %d, want %d", m, tt.wantMax)
			}
			if r := got.RegainAccessIn(); r != tt.wantRegain {
				t.Errorf("RegainAccessIn = %v, want %v", r, tt.wantRegain)
			}
		})
	}
}

func TestUsageFromHeader_caseInsensitive(t *testing.T) {
	t.Parallel()
	want := Usage{
		App: &AppUsage{CallCount: 1},
		BUC: map[string][]BUCUsage{"9": {{Type: "instagram", CallCount: 2, EstimatedTimeToRegainAccess: 3}}},
	}
	canonical := http.Header{}
	canonical.Set("x-app-usage", `{"call_count":1}`)
	canonical.Set("X-BUSINESS-USE-CASE-USAGE", `{"9":[{"type":"instagram","call_count":2,"estimated_time_to_regain_access":3}]}`)
	// A map filled directly keeps the lower-case keys an HTTP/2 peer sends.
	raw := http.Header{
		"x-app-usage":               {`{"call_count":1}`},
		"x-business-use-case-usage": {`{"9":[{"type":"instagram","call_count":2,"estimated_time_to_regain_access":3}]}`},
	}
	for name, h := range map[string]http.Header{"canonical": canonical, "raw": raw} {
		if got := UsageFromHeader(h); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: UsageFromHeader = %#v", name, got)
		}
	}
	if got := UsageFromHeader(nil); !reflect.DeepEqual(got, Usage{}) {
		t.Errorf("nil header: %#v", got)
	}
}

func FuzzParseUsage(f *testing.F) {
	f.Add(`{"call_count":28,"total_time":25,"total_cputime":25}`, `{"1":[{"type":"instagram","call_count":12,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":7}]}`)
	f.Add(``, ``)
	f.Add(`{`, `{"1":`)
	f.Add(`{"call_count":1e308}`, `{"1":[{"estimated_time_to_regain_access":-1e308}]}`)
	f.Add(`{"call_count":"NaN"}`, `{"1":{"call_count":"1e999"}}`)
	f.Add(`null`, `[]`)
	f.Fuzz(func(t *testing.T, app, buc string) {
		u := ParseUsage(app, buc)
		if m := u.MaxPercent(); m < 0 {
			t.Fatalf("MaxPercent = %d", m)
		}
		if r := u.RegainAccessIn(); r < 0 || r > maxRegain {
			t.Fatalf("RegainAccessIn = %v", r)
		}
		if u.App != nil && (u.App.CallCount < 0 || u.App.TotalCPUTime < 0 || u.App.TotalTime < 0) {
			t.Fatalf("negative app usage %+v", *u.App)
		}
		for id, entries := range u.BUC {
			if len(entries) == 0 {
				t.Fatalf("empty BUC entry list for %q", id)
			}
			for _, e := range entries {
				if e.CallCount < 0 || e.TotalCPUTime < 0 || e.TotalTime < 0 || e.EstimatedTimeToRegainAccess < 0 {
					t.Fatalf("negative BUC usage %+v", e)
				}
			}
		}
		if again := ParseUsage(app, buc); !reflect.DeepEqual(u, again) {
			t.Fatal("ParseUsage is not deterministic")
		}
	})
}
