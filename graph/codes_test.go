package graph

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// predicates names every predicate of *Error, so a row lists exactly the
// ones that hold.
var predicates = map[string]func(*Error) bool{
	"RateLimit":        (*Error).IsRateLimit,
	"AppRateLimit":     (*Error).IsAppRateLimit,
	"SpamBlock":        (*Error).IsSpamBlock,
	"Auth":             (*Error).IsAuth,
	"NotEnoughViewers": (*Error).IsNotEnoughViewers,
	"Permission":       (*Error).IsPermission,
	"PublishQuota":     (*Error).IsPublishQuota,
	"ContainerLimit":   (*Error).IsContainerLimit,
	"NotReady":         (*Error).IsNotReady,
	"Temporary":        (*Error).IsTemporary,
	"InvalidParam":     func(e *Error) bool { _, ok := e.InvalidParam(); return ok },
}

// TestErrorPredicates runs Meta's error bodies (docs/graph-api.md §4, §8,
// §10 and the public threads cited there; fbtrace ids shortened) through
// CheckResponse and lists, by hand, which predicates must hold. Every
// predicate not listed must be false.
func TestErrorPredicates(t *testing.T) {
	t.Parallel()
	const (
		publish  = "POST /v25.0/17841400000000001/media_publish"
		create   = "POST /v25.0/17841400000000001/media"
		insights = "GET /v25.0/17900000000000001/insights"
		read     = "GET /v25.0/17900000000000001"
	)
	tests := []struct {
		name   string
		call   string
		status int
		body   string
		want   []string
		param  string // InvalidParam's parameter
	}{
		{"app rate limit 4", read, 400, `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"A1"}}`,
			[]string{"RateLimit", "AppRateLimit"}, ""},
		{"application limit 341", read, 400, `{"error":{"message":"(#341) Application limit reached","type":"OAuthException","code":341,"fbtrace_id":"A1"}}`,
			[]string{"RateLimit", "AppRateLimit"}, ""},
		{"user rate limit 17", read, 400, `{"error":{"message":"(#17) User request limit reached","type":"OAuthException","is_transient":true,"code":17,"error_subcode":2446079,"fbtrace_id":"A2"}}`,
			[]string{"RateLimit"}, ""},
		{"page rate limit 32", read, 400, `{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"A3"}}`,
			[]string{"RateLimit"}, ""},
		{"custom rate limit 613/1996", read, 400, `{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"error_subcode":1996,"fbtrace_id":"A4"}}`,
			[]string{"RateLimit"}, ""},
		{"pages BUC 80001", read, 400, `{"error":{"message":"(#80001) There have been too many calls to this Page account. Wait a bit and try again.","type":"OAuthException","is_transient":true,"code":80001,"fbtrace_id":"A5"}}`,
			[]string{"RateLimit"}, ""},
		{"instagram BUC 80002", create, 400, `{"error":{"message":"(#80002) There have been too many calls to this Instagram account. Wait a bit and try again.","type":"OAuthException","is_transient":true,"code":80002,"fbtrace_id":"A5"}}`,
			[]string{"RateLimit"}, ""},
		{"spam 4/2207051", publish, 400, `{"error":{"message":"Application request limit reached","type":"OAuthException","is_transient":false,"code":4,"error_subcode":2207051,"error_user_title":"Action is blocked","error_user_msg":"We restrict certain activity to protect our community. Let us know if you think that we've made a mistake.","fbtrace_id":"B1"}}`,
			[]string{"SpamBlock"}, ""},
		{"policy block 368 (is_transient)", publish, 400, `{"error":{"message":"It looks like you were misusing this feature by going too fast. You've been temporarily blocked from using it.","type":"OAuthException","code":368,"error_subcode":1390008,"is_transient":true,"fbtrace_id":"A6"}}`,
			[]string{"SpamBlock"}, ""},
		{"token expired 190/463", read, 400, `{"error":{"message":"Error validating access token: Session has expired on Friday, 09-May-25 03:00:00 PDT. The current time is Friday, 09-May-25 04:10:12 PDT.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AxYz1"}}`,
			[]string{"Auth"}, ""},
		{"session 102", read, 400, `{"error":{"message":"Session key invalid or no longer valid","type":"OAuthException","code":102,"fbtrace_id":"A7"}}`,
			[]string{"Auth"}, ""},
		{"permission 403/10", insights, 403, `{"error":{"message":"(#10) Application does not have permission for this action","type":"OAuthException","code":10,"fbtrace_id":"B3"}}`,
			[]string{"Permission"}, ""},
		{"story under 5 viewers 10", insights, 400, `{"error":{"message":"(#10) Not enough viewers for the media to show insights","type":"OAuthException","code":10,"fbtrace_id":"B5"}}`,
			[]string{"NotEnoughViewers"}, ""},
		{"missing permission 200", read, 403, `{"error":{"message":"(#200) Requires ads_management permission to manage the object","type":"OAuthException","code":200,"fbtrace_id":"B6"}}`,
			[]string{"Permission"}, ""},
		{"capability 3", read, 400, `{"error":{"message":"(#3) Application does not have the capability to make this API call.","type":"OAuthException","code":3,"fbtrace_id":"B7"}}`,
			[]string{"Permission"}, ""},
		{"account restricted 25/2207050", publish, 400, `{"error":{"message":"The Instagram account is restricted.","type":"OAuthException","code":25,"error_subcode":2207050,"is_transient":false,"fbtrace_id":"B8"}}`,
			[]string{"Permission"}, ""},
		{"publish quota 9/2207042", publish, 400, `{"error":{"message":"Application request limit reached","type":"OAuthException","is_transient":false,"code":9,"error_subcode":2207042,"error_user_title":"Limit reached","error_user_msg":"You reached maximum number of posts that is allowed to be published by Content Publishing API.","fbtrace_id":"A9"}}`,
			[]string{"PublishQuota"}, ""},
		{"400 containers (sandbox's answer: 9, no subcode, on creation)", create, 400, `{"error":{"message":"You have reached the maximum number of media containers (400) that can be created by Content Publishing API within 24 hours.","type":"OAuthException","code":9,"is_transient":false,"fbtrace_id":"C0"}}`,
			[]string{"ContainerLimit"}, ""},
		{"not ready 9007/2207027", publish, 400, `{"error":{"message":"Media ID is not available","type":"OAuthException","code":9007,"error_subcode":2207027,"is_transient":false,"error_user_title":"Cannot Publish","error_user_msg":"The media is not ready for publishing, please wait for a moment","fbtrace_id":"A7"}}`,
			[]string{"NotReady"}, ""},
		{"bad thumb_offset 1/2207057", create, 400, `{"error":{"message":"The thumbnail offset entered is out of range of the video duration.","type":"OAuthException","code":1,"error_subcode":2207057,"is_transient":false,"error_user_msg":"Thumbnail offset must be greater than or equal to 0 and less than video duration, i.e. 12000","fbtrace_id":"C1"}}`,
			[]string{"InvalidParam"}, "thumb_offset"},
		{"caption 36004/2207010", create, 400, `{"error":{"message":"The caption was too long.","type":"OAuthException","code":36004,"error_subcode":2207010,"is_transient":false,"fbtrace_id":"C2"}}`,
			[]string{"InvalidParam"}, "caption"},
		{"carousel size 100/2207028", create, 400, `{"error":{"message":"Your post won't be shared as a carousel. Carousels need at least 2 photos or videos and no more than 10.","type":"OAuthException","code":100,"error_subcode":2207028,"is_transient":false,"fbtrace_id":"C3"}}`,
			[]string{"InvalidParam"}, "children"},
		{"invalid location (string code)", create, 400, `{"error":{"message":"The location_id is not a valid location.","type":"OAuthException","code":"INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID","fbtrace_id":"C4"}}`,
			[]string{"InvalidParam"}, "location_id"},
		{"partnership invalid param (string code)", create, 400, `{"error":{"message":"Invalid sponsor id","type":"OAuthException","code":"INSTAGRAM_PLATFORM_API__INVALID_PARAM","fbtrace_id":"C5"}}`,
			[]string{"InvalidParam"}, ""},
		{"partnership permission (string code)", create, 400, `{"error":{"message":"The sponsor has not approved this partnership","type":"OAuthException","code":"INSTAGRAM_PLATFORM_API__PERMISSION","fbtrace_id":"C6"}}`,
			[]string{"Permission"}, ""},
		{"server error -1/2207001", create, 400, `{"error":{"message":"Instagram server error.","type":"OAuthException","code":-1,"error_subcode":2207001,"is_transient":true,"fbtrace_id":"D1"}}`,
			[]string{"Temporary"}, ""},
		{"create failed -1/2207032", create, 400, `{"error":{"message":"Create media fail, please re-create media","type":"OAuthException","code":-1,"error_subcode":2207032,"is_transient":false,"fbtrace_id":"D2"}}`,
			[]string{"Temporary"}, ""},
		{"download timeout -2/2207003", create, 400, `{"error":{"message":"It takes too long to download the media.","type":"OAuthException","code":-2,"error_subcode":2207003,"is_transient":false,"fbtrace_id":"D3"}}`,
			[]string{"Temporary"}, ""},
		{"unknown error 1", read, 400, `{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,"fbtrace_id":"D4"}}`,
			[]string{"Temporary"}, ""},
		{"service 2", read, 400, `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"D5"}}`,
			[]string{"Temporary"}, ""},
		{"HTML 502 from a proxy", read, 502, `<html><head><title>502 Bad Gateway</title></head></html>`,
			[]string{"Temporary"}, ""},
		{"unknown upload error -1/2207053", create, 400, `{"error":{"message":"unknown upload error","type":"OAuthException","code":-1,"error_subcode":2207053,"is_transient":false,"fbtrace_id":"D6"}}`,
			nil, ""},
		{"media expired -2/2207020", publish, 400, `{"error":{"message":"The media you are trying to access has expired. Please try to upload again.","type":"OAuthException","code":-2,"error_subcode":2207020,"is_transient":false,"fbtrace_id":"D7"}}`,
			nil, ""},
		{"builder missing 24/2207008", publish, 400, `{"error":{"message":"The media builder with creation id = 17889615814797346 does not exist or has been expired.","type":"OAuthException","code":24,"error_subcode":2207008,"is_transient":false,"fbtrace_id":"A8"}}`,
			nil, ""},
		{"fetch failed 9004/2207052", create, 400, `{"error":{"message":"Only photo or video can be accepted as media type.","type":"OAuthException","code":9004,"error_subcode":2207052,"is_transient":false,"fbtrace_id":"Z"}}`,
			nil, ""},
		{"missing object 100/33", read, 400, `{"error":{"message":"Unsupported get request. Object with ID '123' does not exist, cannot be loaded due to missing permissions, or does not support this operation.","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"B4"}}`,
			nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method, path, _ := strings.Cut(tt.call, " ")
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body)),
				Request: httptest.NewRequest(method, "https://graph.facebook.com"+path, nil)}
			ge := testGraphError(t, CheckResponse(resp), errCode(tt.body), errSubcode(tt.body))
			for name, p := range predicates {
				if got, want := p(ge), slices.Contains(tt.want, name); got != want {
					t.Errorf("Is%s = %v, want %v", name, got, want)
				}
			}
			if param, _ := ge.InvalidParam(); param != tt.param {
				t.Errorf("InvalidParam = %q, want %q", param, tt.param)
			}
			if got, want := Retryable(fmt.Errorf("wrapped: %w", ge)), slices.Contains(tt.want, "Temporary"); got != want {
				t.Errorf("Retryable = %v, want %v", got, want)
			}
		})
	}
}

// errCode and errSubcode read the numeric code the row's body carries (0
// for string codes and bodies without an envelope), so testGraphError
// checks the decoder kept them.
func errCode(body string) int    { return intMember(body, `"code":`) }
func errSubcode(body string) int { return intMember(body, `"error_subcode":`) }

func intMember(body, key string) int {
	_, rest, ok := strings.Cut(body, key)
	if !ok {
		return 0
	}
	n := 0
	_, _ = fmt.Sscanf(rest, "%d", &n)
	return n
}

func TestError_stringCodes(t *testing.T) {
	t.Parallel()
	resp := newResponse(400, nil, `{"error":{"message":"The location_id is not a valid location.","type":"OAuthException","code":"INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID","fbtrace_id":"C4"}}`)
	ge := testGraphError(t, CheckResponse(resp), 0, 0)
	if ge.CodeName != CodeInvalidLocationID || ge.Type != "OAuthException" {
		t.Errorf("CodeName, Type = %q, %q: the string code or the type was lost", ge.CodeName, ge.Type)
	}
	if want := "graph: POST /v25.0/17841400000000001/media_publish: (#INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID) The location_id is not a valid location."; ge.Error() != want {
		t.Errorf("Error() = %q, want %q", ge.Error(), want)
	}
	if !ge.Is(&Error{CodeName: CodeInvalidLocationID}) || ge.Is(&Error{CodeName: CodePartnerPermission}) {
		t.Error("Is does not match by CodeName")
	}
}

// TestRetries counts the requests each kind of call sends for each kind of
// failure: reads and container creation are repeated (up to MaxTries) only
// after a temporary failure; writes that could act twice never are.
func TestRetries(t *testing.T) {
	t.Parallel()
	bodies := map[string]struct {
		status int
		body   string
	}{
		"500":          {500, `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"x"}}`},
		"1":            {400, `{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,"fbtrace_id":"x"}}`},
		"-1/2207001":   {400, `{"error":{"message":"Instagram server error.","type":"OAuthException","code":-1,"error_subcode":2207001,"is_transient":true,"fbtrace_id":"x"}}`},
		"1/2207057":    {400, `{"error":{"message":"The thumbnail offset entered is out of range of the video duration.","type":"OAuthException","code":1,"error_subcode":2207057,"is_transient":false,"fbtrace_id":"x"}}`},
		"341":          {400, `{"error":{"message":"(#341) Application limit reached","type":"OAuthException","code":341,"is_transient":true,"fbtrace_id":"x"}}`},
		"80002":        {400, `{"error":{"message":"(#80002) There have been too many calls to this Instagram account.","type":"OAuthException","code":80002,"is_transient":true,"fbtrace_id":"x"}}`},
		"368":          {400, `{"error":{"message":"You've been temporarily blocked from using it.","type":"OAuthException","code":368,"is_transient":true,"fbtrace_id":"x"}}`},
		"location":     {400, `{"error":{"message":"Invalid location","type":"OAuthException","code":"INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID","is_transient":true,"fbtrace_id":"x"}}`},
		"container400": {400, `{"error":{"message":"You have reached the maximum number of media containers (400).","type":"OAuthException","code":9,"fbtrace_id":"x"}}`},
	}
	calls := map[string]func(c *Client) error{
		"GET media (Do)": func(c *Client) error { _, _, err := c.GetMedia(t.Context(), mediaID); return err },
		"GET comments (list)": func(c *Client) error {
			_, _, err := c.ListComments(t.Context(), mediaID, nil)
			return err
		},
		"GET insights (list)": func(c *Client) error {
			_, _, err := c.MediaInsights(t.Context(), mediaID, &InsightsOptions{Metrics: []string{"reach"}})
			return err
		},
		"GET quota (list)": func(c *Client) error { _, _, err := c.PublishingLimit(t.Context(), igID); return err },
		"POST media (create container)": func(c *Client) error {
			_, _, err := c.CreateContainer(t.Context(), igID, &ContainerRequest{ImageURL: "https://x/a.jpg"})
			return err
		},
		"POST media_publish": func(c *Client) error { _, _, err := c.Publish(t.Context(), igID, containerID); return err },
		"POST comments":      func(c *Client) error { _, _, err := c.CreateComment(t.Context(), mediaID, "hi"); return err },
		"POST hide":          func(c *Client) error { _, err := c.HideComment(t.Context(), commentID, true); return err },
		"DELETE comment":     func(c *Client) error { _, err := c.DeleteComment(t.Context(), commentID); return err },
	}
	safe := []string{"GET media (Do)", "GET comments (list)", "GET insights (list)", "GET quota (list)", "POST media (create container)"}
	temporary := []string{"500", "1", "-1/2207001"}
	const tries = 3
	for callName, call := range calls {
		for bodyName, b := range bodies {
			want := 1
			if slices.Contains(safe, callName) && slices.Contains(temporary, bodyName) {
				want = tries
			}
			t.Run(callName+"/"+bodyName, func(t *testing.T) {
				t.Parallel()
				var n atomic.Int32
				client, mux, _ := setup(t, WithRetryPolicy(RetryPolicy{MaxTries: tries, Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: time.Minute}))
				mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
					n.Add(1)
					w.WriteHeader(b.status)
					fmt.Fprint(w, b.body)
				})
				if err := call(client); err == nil {
					t.Fatal("no error")
				}
				if got := int(n.Load()); got != want {
					t.Errorf("%d requests, want %d", got, want)
				}
			})
		}
	}
	// A temporary failure followed by success: the read succeeds, once.
	client, mux, _ := setup(t, WithRetryPolicy(RetryPolicy{MaxTries: tries, Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: time.Minute}))
	var n atomic.Int32
	mux.HandleFunc("/"+mediaID+"/comments", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(500)
			return
		}
		fmt.Fprint(w, `{"data":[{"id":"1","text":"a"}]}`)
	})
	got, _, err := client.ListComments(t.Context(), mediaID, nil)
	if err != nil || len(got) != 1 || n.Load() != 2 {
		t.Errorf("ListComments after a 500 = %v, %v after %d requests, want 1 comment after 2", got, err, n.Load())
	}
}
