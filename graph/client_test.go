package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	// baseURLPath is a non-empty prefix so a method that builds an absolute
	// path ("/" + …) misses the mux and fails the test (go-github #752).
	baseURLPath = "/graph-prefix"
	testVersion = "v99.0"
	testToken   = "token-abc"
	testSecret  = "app-secret-xyz"
	// testProof = HMAC-SHA256(key=testSecret, msg=testToken), computed
	// independently: printf token-abc | openssl dgst -sha256 -hmac app-secret-xyz
	testProof = "8d09eaac5cdba7332dee102ce7c90209fa9a32b53f45ffd68fe0330b27e59bde"
)

// setup starts a test server whose Graph API lives under
// baseURLPath/testVersion; handlers are registered on mux with paths
// relative to the version, e.g. "/me".
func setup(t *testing.T, opts ...Option) (client *Client, mux *http.ServeMux, serverURL string) {
	t.Helper()
	mux = http.NewServeMux()
	api := http.NewServeMux()
	prefix := baseURLPath + "/" + testVersion
	api.Handle(prefix+"/", http.StripPrefix(prefix, mux))
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside %s: %s %s", prefix, r.Method, r.URL.Path)
		http.Error(w, "client used a path outside the base URL", http.StatusBadRequest)
	})
	server := httptest.NewServer(api)
	t.Cleanup(server.Close)

	all := []Option{
		WithBaseURL(server.URL + baseURLPath + "/"), // trailing slash must not double
		WithAPIVersion(testVersion),
		WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testToken})),
		WithAppSecret(testSecret),
		WithHTTPClient(server.Client()),
	}
	client, err := NewClient(append(all, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return client, mux, server.URL
}

// testRequest checks what every Graph call must look like and returns its
// parameters without appsecret_proof: method, Bearer header, the exact proof,
// params in the query for GET/DELETE and in a form body for POST, and no
// token anywhere but the header.
func testRequest(t *testing.T, r *http.Request, method string) url.Values {
	t.Helper()
	if r.Method != method {
		t.Errorf("method = %s, want %s", r.Method, method)
	}
	if got, want := r.Header.Get("Authorization"), "Bearer "+testToken; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("reading body: %v", err)
	}
	for _, s := range []string{r.URL.String(), r.RequestURI, string(body)} {
		if strings.Contains(s, testToken) || strings.Contains(s, "access_token") {
			t.Errorf("token leaked outside the Authorization header: %q", s)
		}
	}
	var params url.Values
	switch method {
	case http.MethodPost:
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type = %q", ct)
		}
		if r.URL.RawQuery != "" {
			t.Errorf("POST has a query string %q; params belong in the body", r.URL.RawQuery)
		}
		params, err = url.ParseQuery(string(body))
		if err != nil {
			t.Errorf("form body: %v", err)
		}
	default:
		if len(body) != 0 {
			t.Errorf("%s has a body %q", method, body)
		}
		params = r.URL.Query()
	}
	if got := params["appsecret_proof"]; len(got) != 1 || got[0] != testProof {
		t.Errorf("appsecret_proof = %q, want [%s]", got, testProof)
	}
	params.Del("appsecret_proof")
	return params
}

func testParams(t *testing.T, got url.Values, want map[string]string) {
	t.Helper()
	w := url.Values{}
	for k, v := range want {
		w.Set(k, v)
	}
	if !reflect.DeepEqual(got, w) {
		t.Errorf("params = %v\nwant     %v", got, w)
	}
}

// testGraphError checks err is a *Error with this code and subcode.
func testGraphError(t *testing.T, err error, code, subcode int) *Error {
	t.Helper()
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("err = %T %v, want *graph.Error", err, err)
	}
	if ge.Code != code || ge.Subcode != subcode {
		t.Errorf("code/subcode = %d/%d, want %d/%d", ge.Code, ge.Subcode, code, subcode)
	}
	return ge
}

func TestNewClient_defaults(t *testing.T) {
	t.Parallel()
	c, err := NewClient()
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != FacebookGraphURL || c.APIVersion() != DefaultAPIVersion {
		t.Errorf("base, version = %q, %q", c.BaseURL(), c.APIVersion())
	}
	if c.hc == nil || c.hc.Timeout != 60*time.Second {
		t.Errorf("default HTTP client = %+v, want 60s timeout", c.hc)
	}
	c2, _ := NewClient()
	if c.hc == c2.hc {
		t.Error("default HTTP clients are shared; they must be per client")
	}
}

func TestNewClient_options(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opt      Option
		wantErr  bool
		wantBase string
	}{
		{"instagram host", WithBaseURL(InstagramGraphURL), false, InstagramGraphURL},
		{"path prefix", WithBaseURL("http://127.0.0.1:8080/fake/"), false, "http://127.0.0.1:8080/fake"},
		{"trailing slashes", WithBaseURL("https://graph.facebook.com//"), false, "https://graph.facebook.com"},
		{"upper-case scheme", WithBaseURL("HTTPS://graph.facebook.com"), false, "https://graph.facebook.com"},
		{"empty base", WithBaseURL(""), true, ""},
		{"unparsable base", WithBaseURL("http://[::1"), true, ""},
		{"control char", WithBaseURL("http://host/\x7f"), true, ""},
		{"ftp scheme", WithBaseURL("ftp://graph.facebook.com"), true, ""},
		{"no scheme", WithBaseURL("graph.facebook.com"), true, ""},
		{"no host", WithBaseURL("https:///v1"), true, ""},
		{"query", WithBaseURL("https://graph.facebook.com/?access_token=x"), true, ""},
		{"fragment", WithBaseURL("https://graph.facebook.com/#x"), true, ""},
		{"credentials", WithBaseURL("https://u:p@graph.facebook.com"), true, ""},
		{"empty version", WithAPIVersion(""), true, ""},
		{"version with slash", WithAPIVersion("v25.0/me"), true, ""},
		{"version dotdot", WithAPIVersion(".."), true, ""},
		{"version space", WithAPIVersion("v25 .0"), true, ""},
		{"nil http client", WithHTTPClient(nil), true, ""},
		{"user agent newline", WithUserAgent("a\r\nX-Evil: 1"), true, ""},
		{"nil token source allowed", WithTokenSource(nil), false, FacebookGraphURL},
		{"nil option ignored", nil, false, FacebookGraphURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tt.opt)
			if tt.wantErr {
				if err == nil || c != nil {
					t.Fatalf("NewClient = %v, %v; want error", c, err)
				}
				if strings.Contains(err.Error(), "access_token=x") {
					t.Errorf("error echoes a query: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if c.BaseURL() != tt.wantBase {
				t.Errorf("BaseURL = %q, want %q", c.BaseURL(), tt.wantBase)
			}
		})
	}
}

func TestClient_userAgentAndAccept(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t, WithUserAgent("igmcp-test/1"))
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		if ua := r.Header.Get("User-Agent"); ua != "igmcp-test/1" {
			t.Errorf("User-Agent = %q", ua)
		}
		if a := r.Header.Get("Accept"); a != "application/json" {
			t.Errorf("Accept = %q", a)
		}
		fmt.Fprint(w, `{"user_id":"1","username":"u"}`)
	})
	if _, _, _, err := client.Me(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestAppSecretProof(t *testing.T) {
	t.Parallel()
	if got := AppSecretProof(testSecret, testToken); got != testProof {
		t.Errorf("AppSecretProof = %s, want %s", got, testProof)
	}
}

func TestClient_noAppSecretNoProof(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t, WithAppSecret(""))
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("appsecret_proof") {
			t.Errorf("appsecret_proof sent without an app secret: %s", r.URL.RawQuery)
		}
		fmt.Fprint(w, `{"user_id":"1"}`)
	})
	if _, _, _, err := client.Me(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// seqTokenSource hands out tokens in order, like a source that refreshed.
type seqTokenSource struct {
	mu   sync.Mutex
	toks []string
	n    int
}

func (s *seqTokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.toks[min(s.n, len(s.toks)-1)]
	s.n++
	return &oauth2.Token{AccessToken: tok}, nil
}

func TestClient_refreshedTokenUsedOnNextCall(t *testing.T) {
	t.Parallel()
	ts := &seqTokenSource{toks: []string{"old-token", "new-token"}}
	client, mux, _ := setup(t, WithTokenSource(ts))
	var (
		mu     sync.Mutex
		got    []string
		proofs []string
	)
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Get("Authorization"))
		proofs = append(proofs, r.URL.Query().Get("appsecret_proof"))
		fmt.Fprint(w, `{"user_id":"1"}`)
	})
	for range 2 {
		if _, _, _, err := client.Me(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"Bearer old-token", "Bearer new-token"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Authorization headers = %q, want %q", got, want)
	}
	// The proof follows the token it signs.
	wantProofs := []string{AppSecretProof(testSecret, "old-token"), AppSecretProof(testSecret, "new-token")}
	if !reflect.DeepEqual(proofs, wantProofs) {
		t.Errorf("proofs = %q, want %q", proofs, wantProofs)
	}
}

type errTokenSource struct{ err error }

func (s errTokenSource) Token() (*oauth2.Token, error) { return nil, s.err }

type tokTokenSource struct{ tok *oauth2.Token }

func (s tokTokenSource) Token() (*oauth2.Token, error) { return s.tok, nil }

func TestClient_tokenErrors(t *testing.T) {
	t.Parallel()
	refreshErr := &url.Error{Op: "Get", URL: "https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token&access_token=LEAKME", Err: errors.New("connection refused")}
	tests := []struct {
		name string
		ts   oauth2.TokenSource
	}{
		{"no source", nil},
		{"source error", errTokenSource{refreshErr}},
		{"nil token", tokTokenSource{nil}},
		{"empty token", tokTokenSource{&oauth2.Token{}}},
		{"token with newline", tokTokenSource{&oauth2.Token{AccessToken: "LEAKME\r\nX: y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t, WithTokenSource(tt.ts))
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("request sent without a usable token: %s", r.URL.Path)
			})
			_, _, resp, err := client.Me(t.Context())
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("err = %T %v, want *TokenError", err, err)
			}
			if resp != nil {
				t.Errorf("resp = %v, want nil", resp)
			}
			if strings.Contains(err.Error(), "LEAKME") {
				t.Errorf("token in error: %v", err)
			}
		})
	}
	// The cause stays reachable for errors.Is even when its text was scrubbed.
	client, _, _ := setup(t, WithTokenSource(errTokenSource{refreshErr}))
	_, _, _, err := client.Me(t.Context())
	if !errors.Is(err, refreshErr) {
		t.Errorf("errors.Is(err, cause) = false for %v", err)
	}
}

func TestClient_pathEscaping(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.URL.EscapedPath(), "/a%2Fb%3Fc"; got != want {
			t.Errorf("escaped path = %q, want %q", got, want)
		}
		fmt.Fprint(w, `{"id":"a/b?c","status_code":"FINISHED"}`)
	})
	if _, _, err := client.GetContainer(t.Context(), "a/b?c"); err != nil {
		t.Fatal(err)
	}
}

func TestClient_emptyIDs(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent for an empty id: %s", r.URL.Path)
	})
	ctx := t.Context()
	calls := map[string]func() error{
		"CreateContainer": func() error { _, _, err := client.CreateContainer(ctx, "", &ContainerRequest{}); return err },
		"CreateContainer nil": func() error {
			_, _, err := client.CreateContainer(ctx, "1", nil)
			return err
		},
		"GetContainer":  func() error { _, _, err := client.GetContainer(ctx, ""); return err },
		"Publish":       func() error { _, _, err := client.Publish(ctx, "", "1"); return err },
		"Publish empty": func() error { _, _, err := client.Publish(ctx, "1", ""); return err },
		"GetMedia":      func() error { _, _, err := client.GetMedia(ctx, ""); return err },
		"CreateComment": func() error { _, _, err := client.CreateComment(ctx, "", "hi"); return err },
		"CreateComment empty message": func() error {
			_, _, err := client.CreateComment(ctx, "1", "")
			return err
		},
		"ReplyComment":  func() error { _, _, err := client.ReplyComment(ctx, "", "hi"); return err },
		"ListComments":  func() error { _, _, err := client.ListComments(ctx, "", nil); return err },
		"ListReplies":   func() error { _, _, err := client.ListReplies(ctx, "", nil); return err },
		"HideComment":   func() error { _, err := client.HideComment(ctx, "", true); return err },
		"DeleteComment": func() error { _, err := client.DeleteComment(ctx, ""); return err },
		"MediaInsights": func() error {
			_, _, err := client.MediaInsights(ctx, "", &InsightsOptions{Metrics: []string{"reach"}})
			return err
		},
		"UserInsights nil": func() error { _, _, err := client.UserInsights(ctx, "1", nil); return err },
		"PublishingLimit":  func() error { _, _, err := client.PublishingLimit(ctx, ""); return err },
		"Do with query":    func() error { _, err := client.Do(ctx, http.MethodGet, "me?fields=id", nil, nil); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDo_dropsTokenParams(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/17841400000000001/stories", func(w http.ResponseWriter, r *http.Request) {
		params := testRequest(t, r, http.MethodGet)
		testParams(t, params, map[string]string{"fields": "id"})
		fmt.Fprint(w, `{"data":[{"id":"1"}]}`)
	})
	var out struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	params := url.Values{"fields": {"id"}, "access_token": {testToken}, "appsecret_proof": {"forged"}}
	resp, err := client.Do(t.Context(), http.MethodGet, "/17841400000000001/stories", params, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Data) != 1 || out.Data[0].ID != "1" {
		t.Errorf("out = %+v", out)
	}
	// The body stays readable for callers, as in go-github.
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"data"`) {
		t.Errorf("resp.Body = %q", b)
	}
}

func TestClient_transportErrorClosedServer(t *testing.T) {
	t.Parallel()
	server := httptest.NewServer(http.NotFoundHandler())
	base := server.URL
	server.Close()
	client, err := NewClient(
		WithBaseURL(base),
		WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testToken})),
		WithAppSecret(testSecret),
	)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = client.GetContainer(t.Context(), "17900000000000001")
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %T %v, want *TransportError", err, err)
	}
	if te.Method != http.MethodGet || te.Path != "/17900000000000001" {
		t.Errorf("Method, Path = %q, %q", te.Method, te.Path)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		t.Errorf("a *url.Error survived in the chain: %v", ue)
	}
	msg := err.Error()
	for _, bad := range []string{"http://", base, "?", "fields=", "appsecret_proof", testProof, testToken} {
		if strings.Contains(msg, bad) {
			t.Errorf("transport error %q contains %q", msg, bad)
		}
	}
}

func TestClient_contextCancel(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	started := make(chan struct{})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // hold the answer until the client gives up
	})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel()
	}()
	_, _, _, err := client.Me(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var te *TransportError
	if !errors.As(err, &te) || te.Err != context.Canceled {
		t.Errorf("err = %#v, want *TransportError{Err: context.Canceled}", err)
	}
}

func TestClient_contextDeadline(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, _, _, err := client.Me(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestClient_alreadyCancelled(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		t.Error("request sent with a cancelled context")
	})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, _, err := client.Me(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestClient_observer(t *testing.T) {
	t.Parallel()
	type call struct {
		method, path string
		status       int
		max          int
	}
	var mu sync.Mutex
	var calls []call
	client, mux, _ := setup(t, WithObserver(func(method, path string, status int, u Usage) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call{method, path, status, u.MaxPercent()})
	}))
	mux.HandleFunc("/17841400000000001/media_publish", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Usage", `{"call_count":12,"total_time":3,"total_cputime":2}`)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"Media ID is not available","type":"OAuthException","code":9007,"error_subcode":2207027}}`)
	})
	mux.HandleFunc("/17900000000000001", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Business-Use-Case-Usage", `{"17841400000000001":[{"type":"instagram","call_count":40,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}]}`)
		fmt.Fprint(w, `{"id":"17900000000000001","status_code":"FINISHED","status":"Finished: Media has been uploaded and it is ready to be published."}`)
	})
	_, _, err := client.Publish(t.Context(), "17841400000000001", "17900000000000001")
	testGraphError(t, err, 9007, 2207027)
	if _, _, err := client.GetContainer(t.Context(), "17900000000000001"); err != nil {
		t.Fatal(err)
	}
	want := []call{
		{http.MethodPost, "/17841400000000001/media_publish", 400, 12},
		{http.MethodGet, "/17900000000000001", 200, 40},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("observer calls = %+v\nwant %+v", calls, want)
	}
}

func TestClient_rateLimitUsageOnError(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/17841400000000001/media", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-business-use-case-usage", `{"17841400000000001":[{"type":"instagram","call_count":100,"total_cputime":9,"total_time":14,"estimated_time_to_regain_access":30}]}`)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.","type":"OAuthException","is_transient":true,"code":80002,"fbtrace_id":"AbCdEf"}}`)
	})
	_, resp, err := client.CreateContainer(t.Context(), "17841400000000001", &ContainerRequest{ImageURL: "https://example.com/a.jpg"})
	ge := testGraphError(t, err, 80002, 0)
	if ge.RetryAfter() != 30*time.Minute {
		t.Errorf("RetryAfter = %v, want 30m", ge.RetryAfter())
	}
	if ge.Method != http.MethodPost || ge.Path != "/17841400000000001/media" || ge.HTTPStatus != 400 {
		t.Errorf("Method, Path, HTTPStatus = %q, %q, %d", ge.Method, ge.Path, ge.HTTPStatus)
	}
	if resp == nil || resp.Usage.MaxPercent() != 100 {
		t.Errorf("resp = %+v, want usage on the error response", resp)
	}
}

func TestClient_decodeError(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/17900000000000001", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html>not json</html>`)
	})
	mux.HandleFunc("/17841400000000001/media", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{}`)
	})
	_, resp, err := client.GetContainer(t.Context(), "17900000000000001")
	var de *DecodeError
	if !errors.As(err, &de) || de.Path != "/17900000000000001" || resp == nil || resp.StatusCode != 200 {
		t.Errorf("err, resp = %v, %v; want *DecodeError with the response", err, resp)
	}
	_, _, err = client.CreateContainer(t.Context(), "17841400000000001", &ContainerRequest{ImageURL: "https://e.com/a.jpg"})
	if !errors.As(err, &de) {
		t.Errorf("create without id: err = %v, want *DecodeError", err)
	}
}

// TestClient_errorsNeverLeakSecrets drives every error path with a server
// that echoes the token back and checks no error string carries a secret.
func TestClient_errorsNeverLeakSecrets(t *testing.T) {
	t.Parallel()
	client, mux, serverURL := setup(t)
	mux.HandleFunc("/malformed", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"message":"Malformed access token %s","type":"OAuthException","code":190,"error_user_msg":"see %s?access_token=%s&appsecret_proof=%s","fbtrace_id":"x"}}`,
			testToken, serverURL, testToken, r.URL.Query().Get("appsecret_proof"))
	})
	mux.HandleFunc("/flat", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error_type":"OAuthException","code":400,"error_message":"bad code for client_secret=s3cret token %s"}`, testToken)
	})
	mux.HandleFunc("/ok200error", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"error":{"message":"proof %s rejected","code":100}}`, testProof)
	})
	mux.HandleFunc("/hangup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		fmt.Fprint(w, `{"id":`) // short body: the read fails
	})
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"data":[],"paging":{"next":"%s/v99.0/1/comments?access_token=%s&appsecret_proof=%s&after=X"}}`, serverURL, testToken, testProof)
	})
	for _, path := range []string{"malformed", "flat", "ok200error", "hangup"} {
		_, err := client.Do(t.Context(), http.MethodGet, path, url.Values{"fields": {"id"}}, new(map[string]any))
		if err == nil {
			t.Errorf("%s: no error", path)
			continue
		}
		for _, secret := range []string{testToken, testProof, testSecret, "s3cret"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q contains a secret", path, err)
			}
		}
		var ge *Error
		if errors.As(err, &ge) {
			if s := fmt.Sprintf("%+v", *ge); strings.Contains(s, testToken) || strings.Contains(s, testProof) {
				t.Errorf("%s: *Error fields contain a secret: %s", path, s)
			}
		}
	}
	comments, resp, err := list[Comment](t.Context(), client, "list", nil)
	if err != nil || len(comments) != 0 {
		t.Fatal(err)
	}
	if next := resp.Paging.Next; next == "" || strings.Contains(next, testToken) || strings.Contains(next, testProof) {
		t.Errorf("Paging.Next = %q: want present and redacted", next)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"https://graph.facebook.com/v25.0/me?fields=id", "https://graph.facebook.com/v25.0/me?fields=id"},
		{"https://graph.facebook.com/v25.0/me?access_token=EAAB&fields=id", "https://graph.facebook.com/v25.0/me?access_token=REDACTED&fields=id"},
		{"GET /me?fields=id&appsecret_proof=abc123", "GET /me?fields=id&appsecret_proof=REDACTED"},
		{`Get "https://graph.facebook.com/oauth/access_token?client_id=1&client_secret=shh&code=AQD": EOF`, `Get "https://graph.facebook.com/oauth/access_token?client_id=1&client_secret=REDACTED&code=REDACTED": EOF`},
		{"grant_type=fb_exchange_token&fb_exchange_token=EAAS", "grant_type=fb_exchange_token&fb_exchange_token=REDACTED"},
		{"/debug_token?input_token=IGAA&access_token=1|2", "/debug_token?input_token=REDACTED&access_token=REDACTED"},
		{"ACCESS_TOKEN=x", "ACCESS_TOKEN=REDACTED"},
		{"?error_code=5&postcode=123&code_hint=1", "?error_code=5&postcode=123&code_hint=1"},
		{"redirect=https%3A%2F%2Fx%3Faccess_token%3DIGAA%26a%3Db", "redirect=https%3A%2F%2Fx%3Faccess_token%3DREDACTED%26a%3Db"},
		{"a?x=1&amp;access_token=T&amp;y=2", "a?x=1&amp;access_token=REDACTED&amp;y=2"},
		{`{"access_token":"IGAA\"x","token_type":"bearer"}`, `{"access_token":"REDACTED","token_type":"bearer"}`},
		{"refresh_access_token?grant_type=ig_refresh_token&access_token=IGQV#frag", "refresh_access_token?grant_type=ig_refresh_token&access_token=REDACTED#frag"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
