// Package webhooks receives Meta's Instagram webhooks (docs/reference.md §5,
// docs/graph-api.md §14) and turns them into stored events, and tells
// whoever listens (an MCP resource subscription) that events arrived.
//
// Receiver is the http.Handler for /webhooks/instagram: it answers Meta's
// verification request, and accepts a delivery only with a valid
// X-Hub-Signature-256, storing every change it carries (deduplicated)
// before it answers 200. Hub fans the store's notices of new events out
// to any number of subscribers, across replicas sharing a PostgreSQL
// database.
package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Path is where igmcp http serves the receiver (docs/reference.md §1).
const Path = "/webhooks/instagram"

// Defaults; see Config.
const (
	// DefaultMaxBodyBytes bounds a delivery. Meta's notifications are
	// small (a comment change is well under 1 KiB) even when several
	// changes share a body; a larger body is refused with 413 before
	// anything is parsed or stored.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxBatch bounds the events stored in one transaction when
	// concurrent deliveries are stored together.
	DefaultMaxBatch = 500
	// DefaultWriteTimeout bounds one store transaction.
	DefaultWriteTimeout = 10 * time.Second
)

// SignatureHeader carries hex HMAC-SHA256 of the raw body keyed by the app
// secret, as "sha256=<hex>".
const SignatureHeader = "X-Hub-Signature-256"

// Config configures a Receiver.
type Config struct {
	// VerifyToken (INSTAGRAM_WEBHOOK_VERIFY_TOKEN) is what Meta's
	// verification request must present. Required.
	VerifyToken string
	// AppSecrets (INSTAGRAM_APP_SECRET) sign deliveries; a delivery is
	// accepted when it is signed by any of them. Which secret signs
	// Instagram-Login deliveries (the Instagram app's or the Meta app's) is
	// unconfirmed (docs/graph-api.md §14), so both may be given. At least
	// one is required.
	AppSecrets []string
	// Store keeps the events. Required.
	Store Appender
	// MaxBodyBytes bounds a delivery (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxBatch bounds the events of one transaction (default
	// DefaultMaxBatch).
	MaxBatch int
	// WriteTimeout bounds one transaction (default DefaultWriteTimeout).
	WriteTimeout time.Duration
	// Logger gets one line per refused or failed delivery; never a secret,
	// a signature or a body.
	Logger *slog.Logger
	// Now is the clock of ReceivedAt (default time.Now).
	Now func() time.Time
}

// Receiver is the http.Handler of /webhooks/instagram. It needs no bearer
// token (Meta cannot send one): the signature is the authentication.
type Receiver struct {
	verify  [32]byte // sha256 of the verify token: compared in constant time whatever the lengths
	secrets [][]byte
	maxBody int64
	commit  *committer
	log     *slog.Logger
	now     func() time.Time
}

// New builds a Receiver.
func New(cfg Config) (*Receiver, error) {
	if cfg.VerifyToken == "" {
		return nil, errors.New("webhooks: a verify token is required")
	}
	var secrets [][]byte
	for _, s := range cfg.AppSecrets {
		if s != "" {
			secrets = append(secrets, []byte(s))
		}
	}
	if len(secrets) == 0 {
		return nil, errors.New("webhooks: an app secret is required to check signatures")
	}
	if cfg.Store == nil {
		return nil, errors.New("webhooks: a store is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Receiver{
		verify:  sha256.Sum256([]byte(cfg.VerifyToken)),
		secrets: secrets,
		maxBody: cfg.MaxBodyBytes,
		commit:  &committer{store: cfg.Store, maxBatch: cfg.MaxBatch, timeout: cfg.WriteTimeout},
		log:     cfg.Logger,
		now:     cfg.Now,
	}, nil
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		rc.verifySubscription(w, r)
	case http.MethodPost:
		rc.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		plain(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// challengeRE is what igmcp echoes: Meta's challenges are numbers
// (docs/graph-api.md §14); a short token of safe characters is allowed
// too. Nothing else is reflected, so the endpoint cannot be made to serve
// markup.
var challengeRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)

// verifySubscription answers Meta's GET with hub.mode=subscribe,
// hub.verify_token and hub.challenge: the challenge when the token
// matches, else 403.
func (rc *Receiver) verifySubscription(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	got := sha256.Sum256([]byte(q.Get("hub.verify_token")))
	if q.Get("hub.mode") != "subscribe" || subtle.ConstantTimeCompare(got[:], rc.verify[:]) != 1 {
		rc.log.Warn("webhook verification refused: wrong mode or verify token", "remote", r.RemoteAddr)
		plain(w, http.StatusForbidden, "forbidden")
		return
	}
	challenge := q.Get("hub.challenge")
	if !challengeRE.MatchString(challenge) {
		rc.log.Warn("webhook verification refused: the challenge is not a short token", "remote", r.RemoteAddr)
		plain(w, http.StatusBadRequest, "bad hub.challenge")
		return
	}
	rc.log.Info("webhook subscription verified")
	plain(w, http.StatusOK, challenge)
}

// receive handles a delivery. Answers: 200 once every change is stored
// (or was already); 403 without a valid signature; 413 for a body over
// the cap; 400 for a signed body that is not JSON; 500 when the store
// failed (Meta redelivers, and the redelivery is deduplicated).
//
// A signed body that is not JSON is refused, not stored raw: it cannot be
// shown as an event, Meta does not send such bodies, and the 400 (with a
// log line) is how an operator hears that something signs with the app
// secret and sends garbage. Meta retries non-200 answers for a while and
// then drops them.
func (rc *Receiver) receive(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > rc.maxBody {
		rc.log.Warn("webhook delivery refused: body too large", "bytes", r.ContentLength, "max", rc.maxBody)
		plain(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rc.log.Warn("webhook delivery refused: body too large", "max", rc.maxBody)
			plain(w, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		plain(w, http.StatusBadRequest, "cannot read body")
		return
	}
	if !rc.signed(r.Header.Get(SignatureHeader), body) {
		rc.log.Warn("webhook delivery refused: missing or invalid "+SignatureHeader, "remote", r.RemoteAddr, "bytes", len(body))
		plain(w, http.StatusForbidden, "invalid signature")
		return
	}
	received := rc.now()
	p, err := parseDelivery(body, received)
	if err != nil {
		rc.log.Warn("webhook delivery refused: signed but not a JSON delivery", "bytes", len(body), "sha256", bodyHash(body))
		plain(w, http.StatusBadRequest, "body is not a JSON delivery")
		return
	}
	for _, obj := range p.ignored {
		rc.log.Info("webhook delivery for another object acknowledged, not stored", "object", truncate(obj, 32))
	}
	if len(p.events) > 0 {
		stored, err := rc.commit.write(r.Context(), p.events)
		if err != nil {
			rc.log.Error("webhook delivery not stored", "events", len(p.events), "err", err)
			plain(w, http.StatusInternalServerError, "not stored; deliver again")
			return
		}
		rc.log.Debug("webhook delivery stored", "events", len(p.events), "new", stored)
	}
	plain(w, http.StatusOK, "EVENT_RECEIVED")
}

// signed checks header against HMAC-SHA256(secret, body) for each secret,
// in constant time.
func (rc *Receiver) signed(header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil || len(sig) != sha256.Size {
		return false
	}
	match := false
	for _, secret := range rc.secrets {
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		// every secret is tried, so the time taken says nothing of which matched
		if hmac.Equal(sig, m.Sum(nil)) {
			match = true
		}
	}
	return match
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body.
func Sign(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprint(w, msg)
}

func bodyHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
