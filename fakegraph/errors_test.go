package fakegraph

import (
	"testing"
)

// A location_id that cannot be a place is refused with Meta's string code
// (docs/graph-api.md §2, §10.3), in the usual envelope.
func TestInvalidLocationID(t *testing.T) {
	s := New(Options{})
	c := start(t, s)
	media := c.post("https://cdn.example.com/a.jpg", "x")
	page := s.acctByID[acct].pageID
	for _, tc := range []struct {
		name, id string
		ok       bool
	}{
		{"a place (any other numeric id)", "110843418940484", true},
		{"not numeric", "paris", false},
		{"empty after trimming", " ", false},
		{"the account's own id", acct, false},
		{"the account's Page", page, false},
		{"a media", media, false},
	} {
		for _, via := range []string{"form", "json"} {
			c.via = via
			a := c.do("POST", "/"+acct+"/media", vals("image_url", "https://cdn.example.com/b.jpg", "location_id", tc.id))
			if tc.ok {
				if a.status != 200 || a.str("id") == "" {
					t.Fatalf("%s (%s): %s", tc.name, via, a.raw)
				}
				continue
			}
			e := a.gerr()
			if a.status != 400 || e == nil || e["code"] != "INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID" || e["type"] != "OAuthException" ||
				e["message"] == "" || e["fbtrace_id"] == "" || e["error_subcode"] != nil {
				t.Fatalf("%s (%s): %s", tc.name, via, a.raw)
			}
		}
	}
}
