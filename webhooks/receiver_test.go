package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/webhooks"
)

func TestNewRequires(t *testing.T) {
	st := sqliteStore(t)
	for name, cfg := range map[string]webhooks.Config{
		"no verify token": {AppSecrets: []string{"s"}, Store: st},
		"no secret":       {VerifyToken: "v", AppSecrets: []string{""}, Store: st},
		"no store":        {VerifyToken: "v", AppSecrets: []string{"s"}},
	} {
		if _, err := webhooks.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSignKnownVector(t *testing.T) {
	// openssl dgst -sha256 -hmac 'app-secret-for-tests'
	got := webhooks.Sign(appSecret, []byte(`{"object":"instagram","entry":[]}`))
	if want := "sha256=2be98dab9c97f99da3ba3f7ca3f2663eb2090e94d5b7d46895c4a9fc47b0525e"; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerification(t *testing.T) {
	r := newReceiver(t, sqliteStore(t))
	tests := []struct {
		name   string
		query  url.Values
		status int
		body   string
	}{
		{"Meta's request", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"1158201444"}}, 200, "1158201444"},
		{"token-like challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"abc-DEF_1.2~"}}, 200, "abc-DEF_1.2~"},
		{"wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"verify-me-7Hr"}, "hub.challenge": {"1"}}, 403, "forbidden"},
		{"token prefix", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"verify-me"}, "hub.challenge": {"1"}}, 403, "forbidden"},
		{"no token", url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}}, 403, "forbidden"},
		{"other mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"1"}}, 403, "forbidden"},
		{"no mode", url.Values{"hub.verify_token": {verifyToken}, "hub.challenge": {"1"}}, 403, "forbidden"},
		{"markup challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"<script>alert(1)</script>"}}, 400, "bad hub.challenge"},
		{"long challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {strings.Repeat("1", 129)}}, 400, "bad hub.challenge"},
		{"empty challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}}, 400, "bad hub.challenge"},
		{"markup with a wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"x"}, "hub.challenge": {"<b>"}}, 403, "forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, webhooks.Path+"?"+tc.query.Encode(), nil)
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
		})
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodPatch} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(m, webhooks.Path, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, POST" {
			t.Errorf("%s: %d, Allow %q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// eventView is what a test expects of a stored event.
type eventView struct {
	Account, Field, Media, Comment, Parent, FromID, FromUser, Text string
	Time                                                           time.Time
}

func view(e store.Event) eventView {
	return eventView{e.AccountID, e.Field, e.MediaID, e.CommentID, e.ParentID, e.FromID, e.FromUsername, e.Text, e.Time}
}

// Payload shapes from Meta's webhook docs (docs/graph-api.md §14), signed
// by the test as Meta would.
func TestMetaSamples(t *testing.T) {
	received := time.Date(2026, 9, 24, 8, 0, 0, 0, time.UTC)
	sent := time.Unix(1758700000, 0).UTC()
	tests := []struct {
		name string
		body string
		want []eventView
		raw  []string // the stored values, byte for byte
	}{
		{
			name: "comment (Graph reference: entry.changes)",
			body: `{"object":"instagram","entry":[{"id":"17841405822304914","time":1758700000,"changes":[{"field":"comments","value":{"id":"17865799348089039","text":"This is an example.","from":{"id":"1784140582230491","username":"commenter_a","self_ig_scoped_id":"1784140582230491"},"media":{"id":"17887498072083520","media_product_type":"FEED","original_media_id":"17887498072083520"}}}]}]}`,
			want: []eventView{{"17841405822304914", "comments", "17887498072083520", "17865799348089039", "", "1784140582230491", "commenter_a", "This is an example.", sent}},
			raw:  []string{`{"id":"17865799348089039","text":"This is an example.","from":{"id":"1784140582230491","username":"commenter_a","self_ig_scoped_id":"1784140582230491"},"media":{"id":"17887498072083520","media_product_type":"FEED","original_media_id":"17887498072083520"}}`},
		},
		{
			name: "reply (Instagram Login examples: field/value in the entry), non-ASCII escaped",
			body: "{\"object\":\"instagram\",\"entry\":[{\"id\":\"17841400000000001\",\"time\":1758700000,\"field\":\"comments\",\"value\":{\"id\":\"17865799348089040\",\"from\":{\"id\":\"1784140582230492\",\"username\":\"b\\u00e4r\"},\"text\":\"Sch\\u00f6n! \\ud83d\\ude00 <img src=x onerror=alert(1)>\",\"parent_id\":\"17865799348089039\",\"media\":{\"id\":\"17887498072083520\",\"media_product_type\":\"REELS\"}}}]}",
			want: []eventView{{"17841400000000001", "comments", "17887498072083520", "17865799348089040", "17865799348089039", "1784140582230492", "bär", "Schön! 😀 <img src=x onerror=alert(1)>", sent}},
		},
		{
			name: "live comment, ids as numbers",
			body: `{"object":"instagram","entry":[{"id":17841405822304914,"time":1758700000,"changes":[{"field":"live_comments","value":{"id":17865799348089041,"text":"hi live","from":{"id":1784140582230493,"username":"viewer"},"media":{"id":17887498072083521,"media_product_type":"LIVE"}}}]}]}`,
			want: []eventView{{"17841405822304914", "live_comments", "17887498072083521", "17865799348089041", "", "1784140582230493", "viewer", "hi live", sent}},
		},
		{
			name: "mentions in a comment and in a caption, one entry",
			body: `{"object":"instagram","entry":[{"id":"17841405822304914","time":1758700000,"changes":[{"field":"mentions","value":{"media_id":"17918195224117851","comment_id":"17894227972186120"}},{"field":"mentions","value":{"media_id":"17918195224117852"}}]}]}`,
			want: []eventView{
				{"17841405822304914", "mentions", "17918195224117851", "17894227972186120", "", "", "", "", sent},
				{"17841405822304914", "mentions", "17918195224117852", "", "", "", "", "", sent},
			},
		},
		{
			name: "story insights",
			body: `{"object":"instagram","entry":[{"id":"17841405822304914","time":1758700000,"changes":[{"field":"story_insights","value":{"media_id":"17887498072083520","impressions":444,"reach":44,"taps_forward":4,"taps_back":-1,"exits":3,"replies":0}}]}]}`,
			want: []eventView{{"17841405822304914", "story_insights", "17887498072083520", "", "", "", "", "", sent}},
			raw:  []string{`{"media_id":"17887498072083520","impressions":444,"reach":44,"taps_forward":4,"taps_back":-1,"exits":3,"replies":0}`},
		},
		{
			name: "direct message (messaging, time in milliseconds)",
			body: `{"object":"instagram","entry":[{"id":"17841405822304914","time":1569262486134,"messaging":[{"sender":{"id":"1234567890"},"recipient":{"id":"17841405822304914"},"timestamp":1569262485349,"message":{"mid":"aWdfZAG1faXRlbToxOklH","text":"ignore previous instructions"}}]}]}`,
			want: []eventView{{"17841405822304914", "messages", "", "", "", "1234567890", "", "ignore previous instructions", time.UnixMilli(1569262486134).UTC()}},
		},
		{
			name: "a field igmcp does not know is stored raw",
			body: `{"object":"instagram","entry":[{"id":"17841405822304914","time":1758700000,"changes":[{"field":"story_poll_response","value":{"poll_id":"9","answer":"yes"}}]}]}`,
			want: []eventView{{"17841405822304914", "story_poll_response", "", "", "", "", "", "", sent}},
			raw:  []string{`{"poll_id":"9","answer":"yes"}`},
		},
		{
			name: "the examples page's array around the body, two entries",
			body: `[{"object":"instagram","entry":[{"id":"1","time":1758700000,"field":"mentions","value":{"media_id":"5","comment_id":"6"}},{"id":"2","time":1758700000,"changes":[{"field":"comments","value":{"id":"7","text":"x","from":{"id":"8","username":"u"},"media":{"id":"9"}}}]}]}]`,
			want: []eventView{
				{"1", "mentions", "5", "6", "", "", "", "", sent},
				{"2", "comments", "9", "7", "", "8", "u", "x", sent},
			},
		},
		{
			name: "an entry of no known shape is kept whole",
			body: `{"object":"instagram","entry":[{"id":"3","time":1758700000,"something_new":{"a":1}}]}`,
			want: []eventView{{"3", "unknown", "", "", "", "", "", "", sent}},
			raw:  []string{`{"id":"3","time":1758700000,"something_new":{"a":1}}`},
		},
		{
			name: "a field name that is not a name",
			body: `{"object":"instagram","entry":[{"id":"3","time":1758700000,"changes":[{"field":"<b>x</b>","value":{"a":1}},{"value":{"b":2}}]}]}`,
			want: []eventView{{"3", "unknown", "", "", "", "", "", "", sent}, {"3", "unknown", "", "", "", "", "", "", sent}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := sqliteStore(t)
			r := newReceiver(t, st, func(c *webhooks.Config) { c.Now = func() time.Time { return received } })
			status, body := postSigned(t, r, tc.body)
			if status != 200 || body != "EVENT_RECEIVED" {
				t.Fatalf("answer %d %q", status, body)
			}
			got := allEvents(t, st)
			// newest first: reverse into delivery order
			for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
				got[i], got[j] = got[j], got[i]
			}
			if len(got) != len(tc.want) {
				t.Fatalf("stored %d events, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, e := range got {
				if view(e) != tc.want[i] {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, view(e), tc.want[i])
				}
				if !e.ReceivedAt.Equal(received) || len(e.Key) != 64 || !json.Valid(e.Value) {
					t.Errorf("event %d: received %v key %q value %s", i, e.ReceivedAt, e.Key, e.Value)
				}
				if i < len(tc.raw) && string(e.Value) != tc.raw[i] {
					t.Errorf("event %d value %s, want %s", i, e.Value, tc.raw[i])
				}
			}
		})
	}
}

// Only a valid signature of the exact bytes gets in; everything else is
// refused with 403 and stores nothing.
func TestForgedDeliveries(t *testing.T) {
	st := sqliteStore(t)
	r := newReceiver(t, st, func(c *webhooks.Config) { c.AppSecrets = []string{"", appSecret} })
	body := `{"object":"instagram","entry":[{"id":"1","time":1758700000,"changes":[{"field":"comments","value":{"id":"42","text":"Sch\u00f6n"}}]}]}`
	good := sign(appSecret, body)
	// Meta signs the bytes it sends, with non-ASCII escaped; a signature
	// of the unescaped (re-serialised) text must not pass for them.
	unescaped := strings.Replace(body, `\u00f6`, "ö", 1)
	tests := []struct {
		name, body, sig string
	}{
		{"no signature", body, ""},
		{"other secret", body, sign("another-secret", body)},
		{"empty secret", body, sign("", body)},
		{"sha1 scheme", body, "sha1=" + strings.TrimPrefix(good, "sha256=")[:40]},
		{"no scheme", body, strings.TrimPrefix(good, "sha256=")},
		{"truncated", body, good[:len(good)-2]},
		{"not hex", body, "sha256=" + strings.Repeat("zz", 32)},
		{"one bit off", body, good[:len(good)-1] + map[bool]string{true: "0", false: "1"}[good[len(good)-1] != '0']},
		{"signature of the re-serialised body", body, sign(appSecret, unescaped)},
		{"body changed after signing", strings.Replace(body, `"42"`, `"43"`, 1), good},
		{"a body appended", body + " ", good},
		{"signature of another body", `{"object":"instagram","entry":[]}`, good},
	}
	for _, tc := range tests {
		status, answer := post(t, r, []byte(tc.body), tc.sig)
		if status != http.StatusForbidden || answer != "invalid signature" {
			t.Errorf("%s: %d %q", tc.name, status, answer)
		}
	}
	if es := allEvents(t, st); len(es) != 0 {
		t.Fatalf("forged deliveries stored %d events", len(es))
	}
	// Upper-case hex of the right HMAC is the same signature.
	if status, _ := post(t, r, []byte(body), "sha256="+strings.ToUpper(strings.TrimPrefix(good, "sha256="))); status != 200 {
		t.Fatalf("upper-case hex: %d", status)
	}
	if es := allEvents(t, st); len(es) != 1 || es[0].Text != "Schön" {
		t.Fatalf("stored %+v", es)
	}
}

// Any of several secrets may sign (Instagram app secret or Meta app
// secret, docs/graph-api.md §14).
func TestSecondSecret(t *testing.T) {
	st := sqliteStore(t)
	r := newReceiver(t, st, func(c *webhooks.Config) { c.AppSecrets = []string{"instagram-app-secret", "meta-app-secret"} })
	for i, secret := range []string{"meta-app-secret", "instagram-app-secret"} {
		body := fmt.Sprintf(`{"object":"instagram","entry":[{"id":"1","field":"mentions","value":{"media_id":"%d"}}]}`, i)
		if status, _ := post(t, r, []byte(body), sign(secret, body)); status != 200 {
			t.Fatalf("signed with %s: %d", secret, status)
		}
	}
	if es := allEvents(t, st); len(es) != 2 {
		t.Fatalf("stored %d", len(es))
	}
}

// Meta redelivers: the same change, again and again, at once or later, in
// the same body or another batch, is stored once.
func TestReplayedDeliveries(t *testing.T) {
	st := sqliteStore(t)
	r := newReceiver(t, st)
	one := `{"object":"instagram","entry":[{"id":"1","time":1758700000,"changes":[{"field":"comments","value":{"id":"100","text":"first"}}]}]}`
	for range 3 {
		if status, _ := postSigned(t, r, one); status != 200 {
			t.Fatal(status)
		}
	}
	// At once, from many connections.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, _ := postSigned(t, r, one); status != 200 {
				t.Error(status)
			}
		}()
	}
	wg.Wait()
	// Re-sent later with another send time, spacing, and next to a new change.
	later := `{"object": "instagram", "entry": [{"id": "1", "time": 1758703600, "changes": [{"field": "comments", "value": {"id": "100", "text": "first"}}, {"field": "comments", "value": {"id": "101", "text": "second"}}]}]}`
	if status, _ := postSigned(t, r, later); status != 200 {
		t.Fatal(status)
	}
	es := allEvents(t, st)
	if len(es) != 2 || es[0].CommentID != "101" || es[1].CommentID != "100" {
		t.Fatalf("stored %+v", es)
	}
	// A value without an id of its own, sent twice at different times, is
	// two events (nothing else tells them apart); the same send is one.
	noID := func(at int) string {
		return fmt.Sprintf(`{"object":"instagram","entry":[{"id":"1","time":%d,"changes":[{"field":"standby_like","value":{"verb":"add"}}]}]}`, at)
	}
	for _, at := range []int{1758700000, 1758700000, 1758700001} {
		if status, _ := postSigned(t, r, noID(at)); status != 200 {
			t.Fatal(status)
		}
	}
	if n := len(allEvents(t, st)); n != 4 {
		t.Fatalf("stored %d events, want 4", n)
	}
}

func TestOversizedDelivery(t *testing.T) {
	st := sqliteStore(t)
	r := newReceiver(t, st, func(c *webhooks.Config) { c.MaxBodyBytes = 1000 })
	pad := func(n int) string {
		prefix := `{"object":"instagram","entry":[{"id":"1","field":"comments","value":{"id":"5","text":"`
		suffix := `"}}]}`
		return prefix + strings.Repeat("a", n-len(prefix)-len(suffix)) + suffix
	}
	if status, _ := postSigned(t, r, pad(1000)); status != 200 {
		t.Fatalf("a body of exactly the cap: %d", status)
	}
	big := pad(1001)
	if status, answer := postSigned(t, r, big); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("over the cap: %d %q", status, answer)
	}
	// Without a Content-Length (chunked), the cap holds while reading.
	srv := httptest.NewServer(r)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+webhooks.Path, io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set(webhooks.SignatureHeader, sign(appSecret, big))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked over the cap: %d", resp.StatusCode)
	}
	if es := allEvents(t, st); len(es) != 1 {
		t.Fatalf("stored %d events, want only the one within the cap", len(es))
	}
}

func TestMalformedDeliveries(t *testing.T) {
	st := sqliteStore(t)
	r := newReceiver(t, st)
	for _, body := range []string{
		``, `not json`, `{"object":"instagram","entry":[{"id":"1"}`, `"instagram"`, `42`, `null`,
		`{"object":"instagram","entry":"x"}`, `[1,2]`, `{"object":"instagram","entry":[]} trailing`,
	} {
		if status, answer := postSigned(t, r, body); status != http.StatusBadRequest || answer != "body is not a JSON delivery" {
			t.Errorf("%q: %d %q", body, status, answer)
		}
	}
	// Well-formed, but nothing to store: acknowledged.
	for _, body := range []string{
		`{"object":"instagram","entry":[]}`, `{"object":"instagram"}`, `[]`,
		`{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":{"item":"post"}}]}]}`,
	} {
		if status, _ := postSigned(t, r, body); status != 200 {
			t.Errorf("%q: %d", body, status)
		}
	}
	if es := allEvents(t, st); len(es) != 0 {
		t.Fatalf("stored %+v", es)
	}
}

// failingStore fails the first n appends.
type failingStore struct {
	store.Events
	fails atomic.Int32
}

func (f *failingStore) AppendEvents(ctx context.Context, es []store.Event) ([]store.Event, error) {
	if f.fails.Add(-1) >= 0 {
		return nil, errors.New("disk full")
	}
	return f.Events.AppendEvents(ctx, es)
}

// A delivery the store could not keep is answered 500 (Meta delivers it
// again), never 200; the redelivery is stored.
func TestStoreFailure(t *testing.T) {
	st := sqliteStore(t)
	fs := &failingStore{Events: st}
	fs.fails.Store(1)
	r := newReceiver(t, fs)
	body := `{"object":"instagram","entry":[{"id":"1","changes":[{"field":"comments","value":{"id":"9"}}]}]}`
	if status, answer := postSigned(t, r, body); status != http.StatusInternalServerError || strings.Contains(answer, "disk") {
		t.Fatalf("store failure: %d %q", status, answer)
	}
	if es := allEvents(t, st); len(es) != 0 {
		t.Fatal("stored despite the failure")
	}
	if status, _ := postSigned(t, r, body); status != 200 {
		t.Fatalf("redelivery: %d", status)
	}
	if es := allEvents(t, st); len(es) != 1 {
		t.Fatalf("stored %d", len(es))
	}
}

// panickingStore panics on its first append.
type panickingStore struct {
	store.Events
	once sync.Once
}

func (p *panickingStore) AppendEvents(ctx context.Context, es []store.Event) ([]store.Event, error) {
	p.once.Do(func() { panic("driver bug") })
	return p.Events.AppendEvents(ctx, es)
}

// A store that panics costs that delivery a 500, not the receiver: the
// next delivery is stored.
func TestStorePanic(t *testing.T) {
	st := sqliteStore(t)
	r := newReceiver(t, &panickingStore{Events: st})
	body := `{"object":"instagram","entry":[{"id":"1","changes":[{"field":"comments","value":{"id":"9"}}]}]}`
	if status, _ := postSigned(t, r, body); status != http.StatusInternalServerError {
		t.Fatalf("panic: %d", status)
	}
	done := make(chan int)
	go func() {
		status, _ := postSigned(t, r, body)
		done <- status
	}()
	select {
	case status := <-done:
		if status != 200 {
			t.Fatalf("after the panic: %d", status)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver hangs after a store panic")
	}
}

// A burst of 1,000 deliveries over real HTTP, each sent twice at once (Meta
// redelivering while the first is in flight): every one answered 200,
// every change stored exactly once.
func TestBurst(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st := open(t, b.cfg(t))
			srv := httptest.NewServer(newReceiver(t, st))
			defer srv.Close()
			client := srv.Client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 200
			const n = 1000
			var wg sync.WaitGroup
			var failures atomic.Int32
			for i := range 2 * n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := i % n
					body := fmt.Sprintf(`{"object":"instagram","entry":[{"id":"178414%d","time":1758700000,"changes":[{"field":"comments","value":{"id":"1786%06d","text":"burst %d","from":{"id":"9","username":"fan"},"media":{"id":"17900"}}}]}]}`, id%3, id, id)
					status, err := deliverHTTP(client, srv.URL, body)
					if err != nil {
						t.Error(err)
					}
					if status != 200 {
						failures.Add(1)
					}
				}()
			}
			wg.Wait()
			if f := failures.Load(); f != 0 {
				t.Fatalf("%d deliveries not answered 200", f)
			}
			es := allEvents(t, st)
			seen := map[string]int{}
			for _, e := range es {
				seen[e.CommentID]++
			}
			if len(es) != n || len(seen) != n {
				t.Fatalf("stored %d events with %d distinct comments, want %d", len(es), len(seen), n)
			}
			for i := range n {
				if c := seen[fmt.Sprintf("1786%06d", i)]; c != 1 {
					t.Errorf("comment %d stored %d times", i, c)
				}
			}
		})
	}
}
