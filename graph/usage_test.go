package graph

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
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
	f.Add(`{"call_count":5,"call_count":-7}`, `{"1":[null,{"call_count":100},7],"1":[{"total_time":3}],"2":{}}`)
	f.Fuzz(func(t *testing.T, app, buc string) {
		u := ParseUsage(app, buc)
		// The app header: every counter Meta sent as a small integer is
		// kept as sent (negatives as 0).
		if obj, ok := jsonObject(app); ok {
			if u.App == nil {
				t.Fatalf("X-App-Usage %q is an object but App is nil", app)
			}
			for key, got := range map[string]int{"call_count": u.App.CallCount, "total_cputime": u.App.TotalCPUTime, "total_time": u.App.TotalTime} {
				if want, ok := smallInt(obj[key]); ok && got != max(want, 0) {
					t.Fatalf("App %s = %d, header says %s", key, got, obj[key])
				}
			}
		} else if u.App != nil && strings.TrimSpace(app) == app {
			t.Fatalf("X-App-Usage %q is not a JSON object but App = %+v", app, *u.App)
		}
		// The BUC header: one entry per object of each id (a lone object
		// counts as a list of one), in order, counters kept as sent.
		wantIDs := 0
		if obj, ok := jsonObject(buc); ok {
			for id, raw := range obj {
				elems := jsonArray(raw)
				if elems == nil {
					if _, isObj := jsonObject(string(raw)); isObj {
						elems = []json.RawMessage{raw}
					}
				}
				var objs []map[string]json.RawMessage
				for _, el := range elems {
					if o, ok := jsonObject(string(el)); ok {
						objs = append(objs, o)
					}
				}
				if len(objs) == 0 {
					if _, ok := u.BUC[id]; ok {
						t.Fatalf("BUC id %q has no entry objects but is kept: %+v", id, u.BUC[id])
					}
					continue
				}
				wantIDs++
				got := u.BUC[id]
				if len(got) != len(objs) {
					t.Fatalf("BUC id %q: %d entries, header has %d objects", id, len(got), len(objs))
				}
				for i, o := range objs {
					e := got[i]
					for key, v := range map[string]int{"call_count": e.CallCount, "total_cputime": e.TotalCPUTime, "total_time": e.TotalTime, "estimated_time_to_regain_access": e.EstimatedTimeToRegainAccess} {
						if want, ok := smallInt(o[key]); ok && v != max(want, 0) {
							t.Fatalf("BUC %q[%d] %s = %d, header says %s", id, i, key, v, o[key])
						}
					}
					var typ string
					if json.Unmarshal(o["type"], &typ) == nil && e.Type != typ {
						t.Fatalf("BUC %q[%d] type = %q, header says %s", id, i, e.Type, o["type"])
					}
				}
			}
		}
		if strings.TrimSpace(buc) == buc && len(u.BUC) != wantIDs {
			t.Fatalf("BUC has %d ids, header has %d with entries", len(u.BUC), wantIDs)
		}
		// MaxPercent and RegainAccessIn summarise the counters.
		wantMax, wantRegain := 0, 0
		if u.App != nil {
			wantMax = max(u.App.CallCount, u.App.TotalCPUTime, u.App.TotalTime)
		}
		for _, entries := range u.BUC {
			for _, e := range entries {
				if e.CallCount < 0 || e.TotalCPUTime < 0 || e.TotalTime < 0 || e.EstimatedTimeToRegainAccess < 0 {
					t.Fatalf("negative BUC usage %+v", e)
				}
				wantMax = max(wantMax, e.CallCount, e.TotalCPUTime, e.TotalTime)
				wantRegain = max(wantRegain, e.EstimatedTimeToRegainAccess)
			}
		}
		if m := u.MaxPercent(); m != wantMax {
			t.Fatalf("MaxPercent = %d, want %d", m, wantMax)
		}
		r := u.RegainAccessIn()
		switch {
		case r < 0 || r > maxRegain:
			t.Fatalf("RegainAccessIn = %v out of [0, %v]", r, maxRegain)
		case wantRegain < 7*24*60 && r != time.Duration(wantRegain)*time.Minute:
			t.Fatalf("RegainAccessIn = %v, want %d minutes", r, wantRegain)
		case wantRegain >= 7*24*60 && r != maxRegain:
			t.Fatalf("RegainAccessIn = %v, want the cap for %d minutes", r, wantRegain)
		}
		if again := ParseUsage(app, buc); !reflect.DeepEqual(u, again) {
			t.Fatal("ParseUsage is not deterministic")
		}
	})
}

// Independent JSON readers for the fuzz oracles (encoding/json only).

func jsonObject(s string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

func jsonArray(raw json.RawMessage) []json.RawMessage {
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		return nil
	}
	return a
}

// smallInt is a JSON integer literal within ±2³¹ (ok false for anything
// else, where lenient readings may differ).
func smallInt(raw json.RawMessage) (int, bool) {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil || strings.TrimSpace(string(raw)) != string(n) {
		return 0, false // not a bare number (a numeric string decodes too)
	}
	i, err := strconv.Atoi(string(n))
	if err != nil || i < -1<<31 || i > 1<<31 {
		return 0, false
	}
	return i, true
}
