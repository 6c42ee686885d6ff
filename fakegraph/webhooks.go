package fakegraph

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// Webhooks (docs/graph-api.md §14): the fake plays Meta's webhook sender.
// Configure the app's callback with SetWebhook (it runs the verification
// handshake, as the App Dashboard does), subscribe accounts through
// subscribed_apps, and sandbox activity is delivered as Meta would:
//
//   - comments: every new comment on an account's media, by other users
//     (AddComment, AddReply, SeedComments) and by the account itself
//     through the API (test assumption: Meta notifies those too, so an
//     agent answering comments must not answer its own);
//   - mentions: a public media whose caption, or a public comment whose
//     text, @mentions an account (AddPublicMedia, AddPublicComment,
//     SeedMention);
//   - story_insights: an hour after a Story expires on the fake's clock
//     (Facebook Login only), checked on every request and by
//     DeliverStoryInsights;
//   - anything else through SendWebhook (live_comments, messages, …).
//
// Bodies are signed with X-Hub-Signature-256 over the exact bytes sent,
// non-ASCII escaped as \uXXXX like Meta's. Facebook Login accounts get
// entry.changes[]; Instagram Login accounts get field/value in the entry,
// as the Instagram-Login examples page shows (test assumption: receivers
// must read both). A delivery not answered 200 is retried with backoff;
// WebhookConfig.Redeliver sends successful ones again (Meta documents
// duplicates). Deliveries run in the background, in real time (not Now).

// webhooksStateKey keys the webhook state in s.objs; never a Graph id.
const webhooksStateKey = "\x00webhooks"

// WebhookConfig is the app's webhook setup.
type WebhookConfig struct {
	// CallbackURL receives the deliveries (and the verification GET).
	CallbackURL string
	// Handler, instead of CallbackURL, receives them in process (a
	// sandbox without an HTTP listener).
	Handler http.Handler
	// Client sends to CallbackURL (default: a client with a 10 s timeout).
	Client *http.Client
	// VerifyToken is sent in the verification request.
	VerifyToken string
	// AppSecret signs the bodies (default Options.AppSecret; one of them
	// is required).
	AppSecret string
	// Fields the app subscribed to in its dashboard (default: every
	// Instagram field). An account only gets those.
	Fields []string
	// MaxAttempts per delivery (default 5); RetryBackoff is the first
	// wait between attempts, doubled each time (default 1 s).
	MaxAttempts  int
	RetryBackoff time.Duration
	// Redeliver sends every body this many more times after it was
	// acknowledged.
	Redeliver int
}

// WebhookDelivery is one attempt to deliver a webhook.
type WebhookDelivery struct {
	AccountID string
	Field     string
	Body      []byte
	Signature string // X-Hub-Signature-256
	Attempt   int    // 1 for the first attempt of a body
	Status    int    // the answer; 0 when there was none
	Err       string
	Time      time.Time // real time
}

type hookState struct {
	// guarded by Server.mu
	subscribed map[string][]string // account (Instagram Login) or Page id → fields
	cfg        *WebhookConfig
	storySent  map[string]bool // stories whose insights were delivered

	mu         sync.Mutex
	deliveries []WebhookDelivery
	inflight   int
	idle       chan struct{} // closed when inflight drops to 0
}

// hooks returns the webhook state, creating it. Callers hold s.mu.
func (s *Server) hooks() *hookState {
	if st, ok := s.objs[webhooksStateKey].(*hookState); ok {
		return st
	}
	st := &hookState{subscribed: map[string][]string{}, storySent: map[string]bool{}}
	s.objs[webhooksStateKey] = st
	return st
}

// allWebhookFields are the Instagram webhook fields (docs/graph-api.md §14).
var allWebhookFields = append(slices.Clone(instagramWebhookFields), "story_insights")

// SetWebhook configures where webhooks go. Like the App Dashboard's
// "Verify and save" it first sends the verification request (hub.mode,
// hub.challenge, hub.verify_token) and keeps the configuration only when
// the callback echoes the challenge with 200.
func (s *Server) SetWebhook(ctx context.Context, cfg WebhookConfig) error {
	if (cfg.CallbackURL == "") == (cfg.Handler == nil) {
		return errors.New("fakegraph: set exactly one of CallbackURL and Handler")
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = s.opts.AppSecret
	}
	if cfg.AppSecret == "" {
		return errors.New("fakegraph: webhooks need an app secret to sign with")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if len(cfg.Fields) == 0 {
		cfg.Fields = allWebhookFields
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = time.Second
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1e10))
	challenge := strconv.FormatInt(n.Int64()+1e9, 10)
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {challenge}, "hub.verify_token": {cfg.VerifyToken}}
	status, body, err := cfg.send(ctx, http.MethodGet, q.Encode(), nil, nil)
	if err != nil {
		return fmt.Errorf("fakegraph: webhook verification: %w", err)
	}
	if status != http.StatusOK || string(body) != challenge {
		return fmt.Errorf("fakegraph: webhook verification: the callback answered %d %q, not the challenge", status, truncateBytes(body, 64))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := cfg
	s.hooks().cfg = &c
	return nil
}

// WebhookDeliveries returns every delivery attempt so far, in order.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	s.mu.Lock()
	st := s.hooks()
	s.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]WebhookDelivery, len(st.deliveries))
	for i, d := range st.deliveries {
		d.Body = slices.Clone(d.Body)
		out[i] = d
	}
	return out
}

// WaitWebhooks waits until no delivery is in flight (retries included).
func (s *Server) WaitWebhooks(ctx context.Context) error {
	s.mu.Lock()
	st := s.hooks()
	s.mu.Unlock()
	st.mu.Lock()
	if st.inflight == 0 {
		st.mu.Unlock()
		return nil
	}
	idle := st.idle
	st.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SendWebhook delivers a change of any field for the account, as Meta
// would (only when the app and the account are subscribed to it), and
// reports whether it was sent. value is marshalled as the change's value.
func (s *Server) SendWebhook(accountID, field string, value any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acctByID[accountID]
	if a == nil {
		return false
	}
	return s.emitWebhook(a, field, value)
}

// SeedMention has username post a public media and a comment that
// @mention the account, and returns their ids: two mentions webhooks (the
// caption's and the comment's) when the account is subscribed.
func (s *Server) SeedMention(accountID, username, caption, comment string) (mediaID, commentID string) {
	s.mu.Lock()
	a := s.acctByID[accountID]
	s.mu.Unlock()
	if a == nil {
		return "", ""
	}
	mediaID = s.AddPublicMedia(PublicMedia{Username: username, Caption: caption + " @" + a.Username})
	return mediaID, s.AddPublicComment(mediaID, username, "@"+a.Username+" "+comment)
}

// DeliverStoryInsights sends story_insights for every Story that expired
// at least an hour ago on the fake's clock and was not reported yet, and
// returns how many. Requests call it too.
func (s *Server) DeliverStoryInsights() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliverDueStoryInsights()
}

// deliverDueStoryInsights: callers hold s.mu. Meta sends a Story's
// insights after it expires (the Graph webhooks guide says one hour
// after); counts under 5 are reported as -1.
func (s *Server) deliverDueStoryInsights() int {
	st, ok := s.objs[webhooksStateKey].(*hookState)
	if !ok || st.cfg == nil {
		return 0
	}
	now, n := s.now(), 0
	for _, a := range s.acctByID {
		for _, id := range a.published {
			m := s.objs[id].(*media)
			if m.productType != "STORY" || m.deleted || st.storySent[m.id] || now.Before(m.timestamp.Add(25*time.Hour)) {
				continue
			}
			st.storySent[m.id] = true
			if s.emitWebhook(a, "story_insights", s.storyInsightsValue(m)) {
				n++
			}
		}
	}
	return n
}

func (s *Server) storyInsightsValue(m *media) map[string]any {
	floor := func(v int) int {
		if v < 5 {
			return -1
		}
		return v
	}
	reach, _ := s.mediaMetricValue(m, "reach").(int)
	views, _ := s.mediaMetricValue(m, "views").(int)
	replies, _ := s.mediaMetricValue(m, "replies").(int)
	return map[string]any{
		"media_id":     m.id,
		"impressions":  floor(views),
		"reach":        floor(reach),
		"taps_forward": floor(hv(reach, "taps_forward", m.id)),
		"taps_back":    floor(hv(reach/4+1, "taps_back", m.id)),
		"exits":        floor(hv(reach/5+1, "exits", m.id)),
		"replies":      floor(replies),
	}
}

// commentWebhook reports a new comment to the media's owner. Callers hold
// s.mu.
func (s *Server) commentWebhook(c *comment) {
	v := map[string]any{
		"from":  map[string]string{"id": c.userID, "username": c.username},
		"media": map[string]string{"id": c.media.id, "media_product_type": c.media.productType},
		"id":    c.id,
		"text":  c.text,
	}
	if c.parent != nil {
		v["parent_id"] = c.parent.id
	}
	s.emitWebhook(c.media.acct, "comments", v)
}

var mentionWordRE = regexp.MustCompile(`@([A-Za-z0-9._]+)`)

// mentionWebhooks reports text that @mentions the fake's accounts, on a
// public media (commentID "" for its caption). Callers hold s.mu.
func (s *Server) mentionWebhooks(mediaID, commentID, text string) {
	named := map[string]bool{}
	for _, m := range mentionWordRE.FindAllStringSubmatch(text, -1) {
		named[strings.ToLower(strings.TrimRight(m[1], "."))] = true
	}
	for _, a := range s.acctByID {
		if !named[strings.ToLower(a.Username)] {
			continue
		}
		v := map[string]string{"media_id": mediaID}
		if commentID != "" {
			v["comment_id"] = commentID
		}
		s.emitWebhook(a, "mentions", v)
	}
}

// emitWebhook sends one change when the app and the account subscribed to
// its field. Callers hold s.mu; the delivery itself runs in the
// background.
func (s *Server) emitWebhook(a *account, field string, value any) bool {
	st, ok := s.objs[webhooksStateKey].(*hookState)
	if !ok || st.cfg == nil || !oneOf(st.cfg.Fields, field) {
		return false
	}
	cfg := st.cfg
	subs, ok := st.subscribed[subscriptionObject(a)]
	switch {
	case !ok:
		return false
	case a.Login == LoginInstagram && (!oneOf(subs, field) || field == "story_insights"):
		return false
	}
	v, err := json.Marshal(value)
	if err != nil {
		return false
	}
	body := webhookBody(a, field, v, s.now())
	st.begin()
	go st.deliver(cfg, a.ID, field, body)
	return true
}

// webhookBody is a notification as Meta sends it: one entry with one
// change, non-ASCII escaped.
func webhookBody(a *account, field string, value json.RawMessage, now time.Time) []byte {
	type change struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	}
	entry := map[string]any{"id": a.ID, "time": now.Unix()}
	if a.Login == LoginInstagram {
		entry["field"], entry["value"] = field, value
	} else {
		entry["changes"] = []change{{field, value}}
	}
	b, _ := json.Marshal(map[string]any{"object": "instagram", "entry": []any{entry}}) // maps of JSON always marshal
	return escapeNonASCII(b)
}

// escapeNonASCII writes every rune above U+007F as \uXXXX (surrogate pairs
// above U+FFFF), as Meta's bodies have them. Inside JSON such runes only
// occur in strings, where the escape means the same.
func escapeNonASCII(b []byte) []byte {
	var out bytes.Buffer
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			out.WriteRune(r)
		case r > 0xFFFF:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, hi, lo)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.Bytes()
}

func (st *hookState) begin() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.inflight == 0 {
		st.idle = make(chan struct{})
	}
	st.inflight++
}

func (st *hookState) end() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.inflight--
	if st.inflight == 0 {
		close(st.idle)
	}
}

func (st *hookState) record(d WebhookDelivery) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.deliveries = append(st.deliveries, d)
}

// deliver POSTs body until it is acknowledged (then Redeliver more times)
// or the attempts run out.
func (st *hookState) deliver(cfg *WebhookConfig, accountID, field string, body []byte) {
	defer st.end()
	sig := "sha256=" + hmacHex(cfg.AppSecret, string(body))
	m := hmac.New(sha1.New, []byte(cfg.AppSecret))
	m.Write(body)
	legacy := "sha1=" + hex.EncodeToString(m.Sum(nil))
	headers := http.Header{
		"Content-Type":        {"application/json"},
		"X-Hub-Signature-256": {sig},
		"X-Hub-Signature":     {legacy}, // legacy header [OBS]; receivers check the sha256 one
		"User-Agent":          {"facebookexternalua"},
	}
	extra := cfg.Redeliver
	wait := cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		status, _, err := cfg.send(context.Background(), http.MethodPost, "", body, headers)
		d := WebhookDelivery{AccountID: accountID, Field: field, Body: body, Signature: sig, Attempt: attempt, Status: status, Time: time.Now()}
		if err != nil {
			d.Err = err.Error()
		}
		st.record(d)
		if err == nil && status == http.StatusOK {
			if extra == 0 {
				return
			}
			extra--
			continue
		}
		if attempt >= cfg.MaxAttempts {
			return
		}
		time.Sleep(wait)
		wait *= 2
	}
}

// send makes one request to the callback (URL or in-process handler) and
// returns the status and at most 64 KiB of the answer.
func (cfg *WebhookConfig) send(ctx context.Context, method, query string, body []byte, h http.Header) (int, []byte, error) {
	target := cfg.CallbackURL
	if cfg.Handler != nil {
		target = "http://callback.invalid/webhooks/instagram"
	}
	if query != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + query
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if cfg.Handler != nil {
		rec := httptest.NewRecorder()
		cfg.Handler.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes(), nil
	}
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, nil
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
