package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newResponse(status int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{
		StatusCode: status,
		Header:     header,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    httptest.NewRequest(http.MethodPost, "https://graph.facebook.com/v25.0/17841400000000001/media_publish?appsecret_proof=abc", nil),
	}
}

// Bodies are Meta's, from docs/graph-api.md §4 and §10 (and the public
// threads cited there); fbtrace ids are shortened.
func TestCheckResponse(t *testing.T) {
	t.Parallel()
	bucHeader := http.Header{"X-Business-Use-Case-Usage": {`{"17841400000000001":[{"type":"instagram","call_count":100,"total_cputime":10,"total_time":12,"estimated_time_to_regain_access":45}]}`}}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   *Error // nil: no error; Usage, Method and Path are checked apart
		retry  time.Duration
	}{
		{
			name:   "token expired 190/463",
			status: 400,
			header: http.Header{"Www-Authenticate": {`OAuth "Facebook Platform" "invalid_token" "Error validating access token: Session has expired"`}},
			body:   `{"error":{"message":"Error validating access token: Session has expired on Friday, 09-May-25 03:00:00 PDT. The current time is Friday, 09-May-25 04:10:12 PDT.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AxYz1"}}`,
			want:   &Error{HTTPStatus: 400, Message: "Error validating access token: Session has expired on Friday, 09-May-25 03:00:00 PDT. The current time is Friday, 09-May-25 04:10:12 PDT.", Type: "OAuthException", Code: 190, Subcode: 463, FBTraceID: "AxYz1"},
		},
		{
			name:   "app rate limit 4",
			status: 400,
			body:   `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"A1"}}`,
			want:   &Error{HTTPStatus: 400, Message: "(#4) Application request limit reached", Type: "OAuthException", Code: 4, IsTransient: true, FBTraceID: "A1"},
		},
		{
			name:   "user rate limit 17",
			status: 400,
			body:   `{"error":{"message":"(#17) User request limit reached","type":"OAuthException","is_transient":true,"code":17,"error_subcode":2446079,"fbtrace_id":"A2"}}`,
			want:   &Error{HTTPStatus: 400, Message: "(#17) User request limit reached", Type: "OAuthException", Code: 17, Subcode: 2446079, IsTransient: true, FBTraceID: "A2"},
		},
		{
			name:   "page rate limit 32",
			status: 400,
			body:   `{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"A3"}}`,
			want:   &Error{HTTPStatus: 400, Message: "(#32) Page request limit reached", Type: "OAuthException", Code: 32, FBTraceID: "A3"},
		},
		{
			name:   "custom rate limit 613",
			status: 400,
			body:   `{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"A4"}}`,
			want:   &Error{HTTPStatus: 400, Message: "(#613) Calls to this api have exceeded the rate limit.", Type: "OAuthException", Code: 613, FBTraceID: "A4"},
		},
		{
			name:   "instagram BUC 80002 with usage header",
			status: 400,
			header: bucHeader,
			body:   `{"error":{"message":"(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.","type":"OAuthException","is_transient":true,"code":80002,"fbtrace_id":"A5"}}`,
			want:   &Error{HTTPStatus: 400, Message: "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.", Type: "OAuthException", Code: 80002, IsTransient: true, FBTraceID: "A5"},
			retry:  45 * time.Minute,
		},
		{
			name:   "policy block 368",
			status: 400,
			body:   `{"error":{"message":"It looks like you were misusing this feature by going too fast. You've been temporarily blocked from using it.","type":"OAuthException","code":368,"error_subcode":1390008,"is_transient":true,"error_user_title":"You Can't Use This Feature Right Now","error_user_msg":"It looks like you were misusing this feature by going too fast.","fbtrace_id":"A6"}}`,
			want:   &Error{HTTPStatus: 400, Message: "It looks like you were misusing this feature by going too fast. You've been temporarily blocked from using it.", Type: "OAuthException", Code: 368, Subcode: 1390008, IsTransient: true, UserTitle: "You Can't Use This Feature Right Now", UserMsg: "It looks like you were misusing this feature by going too fast.", FBTraceID: "A6"},
		},
		{
			name:   "not ready 9007/2207027",
			status: 400,
			body:   `{"error":{"message":"Media ID is not available","type":"OAuthException","code":9007,"error_subcode":2207027,"is_transient":false,"error_user_title":"Cannot Publish","error_user_msg":"The media is not ready for publishing, please wait for a moment","fbtrace_id":"A7"}}`,
			want:   &Error{HTTPStatus: 400, Message: "Media ID is not available", Type: "OAuthException", Code: 9007, Subcode: 2207027, UserTitle: "Cannot Publish", UserMsg: "The media is not ready for publishing, please wait for a moment", FBTraceID: "A7"},
		},
		{
			name:   "media builder expired 24/2207008",
			status: 400,
			body:   `{"error":{"message":"The media builder with creation id = 17889615814797346 does not exist or has been expired.","type":"OAuthException","code":24,"error_subcode":2207008,"is_transient":false,"error_user_title":"Media builder expired","error_user_msg":"The media builder with creation id = 17889615814797346 does not exist or has been expired.","fbtrace_id":"A8"}}`,
			want:   &Error{HTTPStatus: 400, Message: "The media builder with creation id = 17889615814797346 does not exist or has been expired.", Type: "OAuthException", Code: 24, Subcode: 2207008, UserTitle: "Media builder expired", UserMsg: "The media builder with creation id = 17889615814797346 does not exist or has been expired.", FBTraceID: "A8"},
		},
		{
			name:   "publish quota 9/2207042",
			status: 400,
			body:   `{"error":{"message":"Application request limit reached","type":"OAuthException","is_transient":false,"code":9,"error_subcode":2207042,"error_user_title":"Limit reached","error_user_msg":"You reached maximum number of posts that is allowed to be published by Content Publishing API.","fbtrace_id":"A9"}}`,
			want:   &Error{HTTPStatus: 400, Message: "Application request limit reached", Type: "OAuthException", Code: 9, Subcode: 2207042, UserTitle: "Limit reached", UserMsg: "You reached maximum number of posts that is allowed to be published by Content Publishing API.", FBTraceID: "A9"},
		},
		{
			name:   "spam 4/2207051",
			status: 400,
			body:   `{"error":{"message":"Application request limit reached","type":"OAuthException","is_transient":false,"code":4,"error_subcode":2207051,"error_user_title":"Action is blocked","error_user_msg":"We restrict certain activity to protect our community. Let us know if you think that we've made a mistake.","fbtrace_id":"B1"}}`,
			want:   &Error{HTTPStatus: 400, Message: "Application request limit reached", Type: "OAuthException", Code: 4, Subcode: 2207051, UserTitle: "Action is blocked", UserMsg: "We restrict certain activity to protect our community. Let us know if you think that we've made a mistake.", FBTraceID: "B1"},
		},
		{
			name:   "aspect ratio 36003/2207009",
			status: 400,
			body:   `{"error":{"message":"The aspect ratio is not supported.","type":"OAuthException","code":36003,"error_subcode":2207009,"is_transient":false,"error_user_title":"Cannot Upload Image","error_user_msg":"The submitted image with aspect ratio ('719/194',) cannot be published. Please submit an image with a valid aspect ratio.","fbtrace_id":"B2"}}`,
			want:   &Error{HTTPStatus: 400, Message: "The aspect ratio is not supported.", Type: "OAuthException", Code: 36003, Subcode: 2207009, UserTitle: "Cannot Upload Image", UserMsg: "The submitted image with aspect ratio ('719/194',) cannot be published. Please submit an image with a valid aspect ratio.", FBTraceID: "B2"},
		},
		{
			name:   "image too large 36000/2207004 (facts §10.1 envelope)",
			status: 400,
			body:   `{"error":{"message":"The image size is too large.","type":"OAuthException","code":36000,"error_subcode":2207004,"is_transient":false,"error_user_title":"Image size too large","error_user_msg":"The image is too large to download. It should be less than 8 MiB.","fbtrace_id":"A6LJylpZRKw2xKLFsAP-cJh"}}`,
			want:   &Error{HTTPStatus: 400, Message: "The image size is too large.", Type: "OAuthException", Code: 36000, Subcode: 2207004, UserTitle: "Image size too large", UserMsg: "The image is too large to download. It should be less than 8 MiB.", FBTraceID: "A6LJylpZRKw2xKLFsAP-cJh"},
		},
		{
			name:   "permission 403/10",
			status: 403,
			body:   `{"error":{"message":"(#10) Application does not have permission for this action","type":"OAuthException","code":10,"fbtrace_id":"B3"}}`,
			want:   &Error{HTTPStatus: 403, Message: "(#10) Application does not have permission for this action", Type: "OAuthException", Code: 10, FBTraceID: "B3"},
		},
		{
			name:   "missing object 100/33",
			status: 400,
			body:   `{"error":{"message":"Unsupported get request. Object with ID '123' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"B4"}}`,
			want:   &Error{HTTPStatus: 400, Message: "Unsupported get request. Object with ID '123' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", Type: "GraphMethodException", Code: 100, Subcode: 33, FBTraceID: "B4"},
		},
		{
			name:   "flat api.instagram.com OAuth shape",
			status: 400,
			body:   `{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}`,
			want:   &Error{HTTPStatus: 400, Message: "Matching code was not found or was already used", Type: "OAuthException", Code: 400},
		},
		{
			name:   "legacy meta shape",
			status: 400,
			body:   `{"meta":{"error_type":"OAuthAccessTokenException","code":400,"error_message":"The access_token provided is invalid."}}`,
			want:   &Error{HTTPStatus: 400, Message: "The access_token provided is invalid.", Type: "OAuthAccessTokenException", Code: 400},
		},
		{
			name:   "RFC 6749 string error",
			status: 400,
			body:   `{"error":"invalid_grant","error_description":"The code has expired"}`,
			want:   &Error{HTTPStatus: 400, Message: "The code has expired", Type: "invalid_grant"},
		},
		{
			name:   "HTML 502 from a proxy",
			status: 502,
			header: http.Header{"Content-Type": {"text/html"}},
			body:   "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
			want:   &Error{HTTPStatus: 502, Message: "Bad Gateway"},
		},
		{
			name:   "empty 500",
			status: 500,
			want:   &Error{HTTPStatus: 500, Message: "Internal Server Error"},
		},
		{
			name:   "unknown status, no body",
			status: 599,
			want:   &Error{HTTPStatus: 599, Message: "HTTP status 599"},
		},
		{
			name:   "error without message",
			status: 400,
			body:   `{"error":{"code":1}}`,
			want:   &Error{HTTPStatus: 400, Message: "Bad Request", Code: 1},
		},
		{
			name:   "codes as strings, transient as string",
			status: 400,
			body:   `{"error":{"message":"m","code":"2","error_subcode":"2207001","is_transient":"true"}}`,
			want:   &Error{HTTPStatus: 400, Message: "m", Code: 2, Subcode: 2207001, IsTransient: true},
		},
		{
			name:   "string error code kept in CodeName",
			status: 400,
			body:   `{"error":{"message":"Invalid sponsor","code":"INSTAGRAM_PLATFORM_API__INVALID_PARAM"}}`,
			want:   &Error{HTTPStatus: 400, Message: "Invalid sponsor", CodeName: "INSTAGRAM_PLATFORM_API__INVALID_PARAM"},
		},
		{
			name:   "string error code beside a type",
			status: 400,
			body:   `{"error":{"message":"The location_id is not a valid location.","type":"OAuthException","code":"INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID","fbtrace_id":"C4"}}`,
			want:   &Error{HTTPStatus: 400, Message: "The location_id is not a valid location.", Type: "OAuthException", CodeName: "INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID", FBTraceID: "C4"},
		},
		{
			name:   "wrongly typed fields do not hide the rest",
			status: 400,
			body:   `{"error":{"message":{"x":1},"type":7,"code":190,"error_subcode":1e400,"fbtrace_id":"C1"}}`,
			want:   &Error{HTTPStatus: 400, Message: "Bad Request", Code: 190, FBTraceID: "C1"},
		},
		{
			name:   "200 with an error envelope",
			status: 200,
			body:   `{"error":{"message":"(#100) Tried accessing nonexisting field (user_id) on node type (User)","type":"OAuthException","code":100,"fbtrace_id":"C2"}}`,
			want:   &Error{HTTPStatus: 200, Message: "(#100) Tried accessing nonexisting field (user_id) on node type (User)", Type: "OAuthException", Code: 100, FBTraceID: "C2"},
		},
		{name: "200 success", status: 200, body: `{"id":"17920238422030506"}`},
		{name: "200 with string error field", status: 200, body: `{"id":"1","error":"none"}`},
		{name: "200 with null error", status: 200, body: `{"id":"1","error":null}`},
		{name: "200 array", status: 200, body: `[{"error":{"code":1}}]`},
		{name: "200 not json", status: 200, body: `<html>`},
		{name: "204 empty", status: 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := newResponse(tt.status, tt.header, tt.body)
			err := CheckResponse(resp)
			// The body is put back whole.
			if b, _ := io.ReadAll(resp.Body); string(b) != tt.body {
				t.Errorf("body after CheckResponse = %q, want %q", b, tt.body)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckResponse = %v, want nil", err)
				}
				return
			}
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("CheckResponse = %T %v, want *Error", err, err)
			}
			if ge.Method != http.MethodPost || ge.Path != "/v25.0/17841400000000001/media_publish" {
				t.Errorf("Method, Path = %q, %q", ge.Method, ge.Path)
			}
			if ge.RetryAfter() != tt.retry {
				t.Errorf("RetryAfter = %v, want %v", ge.RetryAfter(), tt.retry)
			}
			got := *ge
			got.Usage, got.Method, got.Path = Usage{}, "", ""
			if !reflect.DeepEqual(got, *tt.want) {
				t.Errorf("CheckResponse =\n%+v\nwant\n%+v", got, *tt.want)
			}
			if !strings.HasPrefix(ge.Error(), "graph: POST /v25.0/17841400000000001/media_publish: (#") {
				t.Errorf("Error() = %q", ge.Error())
			}
		})
	}
}

func TestCheckResponse_bodyLimit(t *testing.T) {
	t.Parallel()
	// A valid envelope padded past 1 MiB is not read whole, so it cannot be
	// decoded: the status text stands in.
	big := `{"error":{"message":"` + strings.Repeat("x", maxErrorBodySize) + `","code":1}}`
	resp := newResponse(400, nil, big)
	var ge *Error
	if !errors.As(CheckResponse(resp), &ge) || ge.Message != "Bad Request" || ge.Code != 0 {
		t.Errorf("CheckResponse(big) = %+v", ge)
	}
	if b, _ := io.ReadAll(resp.Body); len(b) != len(big) {
		t.Errorf("body after CheckResponse has %d bytes, want %d", len(b), len(big))
	}
}

func TestCheckResponse_nil(t *testing.T) {
	t.Parallel()
	if err := CheckResponse(nil); err == nil {
		t.Error("CheckResponse(nil) = nil")
	}
	r := &http.Response{StatusCode: 503}
	var ge *Error
	if !errors.As(CheckResponse(r), &ge) || ge.HTTPStatus != 503 || ge.Message != "Service Unavailable" {
		t.Errorf("no body, no request: %+v", ge)
	}
}

func TestError_Is(t *testing.T) {
	t.Parallel()
	err := error(&Error{Code: 9007, Subcode: 2207027})
	tests := []struct {
		target error
		want   bool
	}{
		{&Error{Code: 9007}, true},
		{&Error{Subcode: 2207027}, true},
		{&Error{Code: 9007, Subcode: 2207027}, true},
		{&Error{Code: 9007, Subcode: 1}, false},
		{&Error{Code: 4}, false},
		{&Error{}, false},
		{(*Error)(nil), false},
		{errors.New("x"), false},
	}
	for _, tt := range tests {
		if got := errors.Is(err, tt.target); got != tt.want {
			t.Errorf("errors.Is(%v, %#v) = %v, want %v", err, tt.target, got, tt.want)
		}
	}
}

func FuzzCheckResponse(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{400, `{"error":{"message":"Media ID is not available","type":"OAuthException","code":9007,"error_subcode":2207027,"is_transient":false,"error_user_title":"Cannot Publish","fbtrace_id":"x"}}`},
		{400, `{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}`},
		{502, `<html><body>502 Bad Gateway</body></html>`},
		{200, `{"id":"1"}`},
		{200, `{"error":{"code":"1e99","error_subcode":-1.5,"is_transient":2}}`},
		{200, `{"error":{}}`},
		{400, `{"error":"invalid_request"}`},
		{400, `{"meta":{"code":"x"}}`},
		{0, ``},
		{-1, `null`},
		{999, `{"error":[1,2]}`},
		{400, `{"error":{"message":"bad","type":"OAuthException","code":"INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID"}}`},
		{400, `{"error":{"message":"(#10) Not enough viewers for the media to show insights","code":10}}`},
		{400, `{"error":{"message":"limit","code":9,"error_subcode":0}}`},
		{400, `{"error":{"message":"see https://x/?access_token=abc&appsecret_proof=def","code":190}}`},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		// Every response comes from a container creation, so the
		// predicates that look at the call (IsContainerLimit) are reached.
		req := httptest.NewRequest(http.MethodPost, "https://graph.facebook.com/v25.0/1784/media?appsecret_proof=p", nil)
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
		err := CheckResponse(resp)
		if b, _ := io.ReadAll(resp.Body); !bytes.Equal(b, body) {
			t.Fatalf("body not put back: %q != %q", b, body)
		}
		// An error is any non-2xx, or a 2xx whose JSON object has an
		// "error" member that is itself an object.
		top, isObject := jsonObject(string(body))
		_, errIsObject := jsonObject(string(top["error"]))
		wantErr := status < 200 || status > 299 || (len(body) <= maxErrorBodySize && isObject && errIsObject)
		if (err != nil) != wantErr {
			t.Fatalf("status %d body %q: err = %v, want an error: %v", status, body, err, wantErr)
		}
		if err == nil {
			return
		}
		var ge *Error
		if !errors.As(err, &ge) {
			t.Fatalf("CheckResponse returned %T", err)
		}
		if ge.HTTPStatus != status || ge.Message == "" || ge.Method != http.MethodPost || ge.Path != "/v25.0/1784/media" {
			t.Fatalf("HTTPStatus, Message, Method, Path = %d, %q, %q, %q", ge.HTTPStatus, ge.Message, ge.Method, ge.Path)
		}
		if !strings.HasPrefix(ge.Error(), "graph: POST /v25.0/1784/media: (#") {
			t.Fatalf("Error() = %q", ge.Error())
		}
		if ge.Usage.MaxPercent() != 0 || ge.RetryAfter() != 0 {
			t.Fatal("usage without headers")
		}
		// Meta's envelope: integer codes are kept as sent, string codes
		// whole in CodeName.
		if env, ok := jsonObject(string(top["error"])); ok && isObject {
			if n, ok := smallInt(env["code"]); ok && (ge.Code != n || ge.CodeName != "") {
				t.Fatalf("code %s read as %d %q", env["code"], ge.Code, ge.CodeName)
			}
			var name string
			if json.Unmarshal(env["code"], &name) == nil && strings.Trim(name, " 0123456789") != "" && !looksNumeric(name) &&
				ge.CodeName != Redact(strings.TrimSpace(name)) {
				t.Fatalf("string code %q read as %q", name, ge.CodeName)
			}
			if n, ok := smallInt(env["error_subcode"]); ok && ge.Subcode != n {
				t.Fatalf("subcode %s read as %d", env["error_subcode"], ge.Subcode)
			}
		}
		// Texts are redacted: redacting again changes nothing.
		for _, s := range []string{ge.Message, ge.Type, ge.CodeName, ge.UserTitle, ge.UserMsg, ge.FBTraceID} {
			if Redact(s) != s {
				t.Fatalf("unredacted text %q", s)
			}
		}
		// The predicates agree with each other.
		switch {
		case ge.IsAppRateLimit() && !ge.IsRateLimit():
			t.Fatal("app rate limit that is not a rate limit")
		case ge.IsRateLimit() && ge.IsSpamBlock():
			t.Fatal("both a rate limit and a spam block")
		case ge.IsPublishQuota() && ge.IsContainerLimit():
			t.Fatal("both the publishing quota and the container limit")
		case ge.IsPermission() && ge.IsNotEnoughViewers():
			t.Fatal("not enough viewers counted as a missing permission")
		case ge.IsTemporary() && (ge.IsRateLimit() || ge.IsSpamBlock() || ge.IsAuth() || ge.IsPermission()):
			t.Fatalf("temporary yet a rate limit, block, auth or permission refusal: %+v", ge)
		case Retryable(ge) != ge.IsTemporary():
			t.Fatal("Retryable disagrees with IsTemporary")
		}
		if _, bad := ge.InvalidParam(); bad && ge.IsTemporary() {
			t.Fatal("a refused argument counted as temporary")
		}
	})
}

// looksNumeric: a string Meta may send for a numeric code ("2", "1e3").
func looksNumeric(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}
