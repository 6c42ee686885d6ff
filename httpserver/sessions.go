package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Session bounds (docs/reference.md §2); see SessionLimits.
const (
	DefaultSessionIdleTTL      = 10 * time.Minute
	DefaultMaxSessionsPerToken = 256
	DefaultMaxSessions         = 2048
)

// SessionLimits bound the MCP sessions igmcp http keeps (Streamable HTTP
// sessions of the protocol versions with an initialize handshake, and SSE
// streams). Each abandoned session costs memory until it is reaped.
type SessionLimits struct {
	// IdleTTL: a session with no request and no running tool call for
	// this long is closed (its streams too); the client starts a new one.
	IdleTTL time.Duration
	// PerToken caps the sessions of one bearer token; at the cap, the
	// token's least recently used session idle for a while (half IdleTTL,
	// at most a minute) makes room, and without one the new session is
	// refused (429).
	PerToken int
	// Total caps all sessions; at the cap a new one is refused (503).
	Total int
}

func (l SessionLimits) withDefaults() SessionLimits {
	if l.IdleTTL <= 0 {
		l.IdleTTL = DefaultSessionIdleTTL
	}
	if l.PerToken <= 0 {
		l.PerToken = DefaultMaxSessionsPerToken
	}
	if l.Total <= 0 {
		l.Total = DefaultMaxSessions
	}
	if l.PerToken > l.Total {
		l.PerToken = l.Total
	}
	return l
}

var (
	errTooManyForToken = errors.New("too many sessions for this token")
	errTooMany         = errors.New("too many sessions")
)

// session is one MCP session and the token that opened it.
type session struct {
	id      string
	owner   string // the token's name ("" without authentication)
	sse     bool
	last    time.Time // last request or end of a tool call
	busy    int       // requests and tool calls running
	streams map[*context.CancelFunc]struct{}
}

// sessionTable binds sessions to tokens, caps them and reaps idle ones. A
// session is known here from the moment its id is handed out: the
// Streamable HTTP initialize response, or the SSE stream's endpoint event.
type sessionTable struct {
	limits SessionLimits
	now    func() time.Time
	// drop ends a reaped or evicted session in mcp-go; called without mu.
	drop func(*session)

	mu       sync.Mutex
	byID     map[string]*session
	perOwner map[string]int // sessions and reservations
	reserved int
	timer    *time.Timer
	closed   bool
}

func newSessionTable(l SessionLimits, drop func(*session)) *sessionTable {
	return &sessionTable{limits: l.withDefaults(), now: time.Now, drop: drop, byID: map[string]*session{}, perOwner: map[string]int{}}
}

// reserve makes room for a new session of owner, evicting the owner's
// least recently used idle session at the per-token cap. The reservation
// is turned into a session by add, or given back by unreserve.
func (t *sessionTable) reserve(owner string) error {
	var evicted *session
	defer func() {
		if evicted != nil {
			t.drop(evicted)
		}
	}()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.perOwner[owner] >= t.limits.PerToken {
		// A session idle a few milliseconds is one being set up, not an
		// abandoned one: only sessions idle for a while make room.
		cutoff := t.now().Add(-min(t.limits.IdleTTL/2, time.Minute))
		for _, s := range t.byID {
			if s.owner == owner && s.busy == 0 && !s.last.After(cutoff) && (evicted == nil || s.last.Before(evicted.last)) {
				evicted = s
			}
		}
		if evicted == nil {
			return errTooManyForToken
		}
		t.removeLocked(evicted)
	}
	if len(t.byID)+t.reserved >= t.limits.Total {
		return errTooMany
	}
	t.reserved++
	t.perOwner[owner]++
	return nil
}

func (t *sessionTable) unreserve(owner string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reserved--
	t.decOwnerLocked(owner)
}

// add turns a reservation into the session id.
func (t *sessionTable) add(id, owner string, sse bool) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reserved--
	s := &session{id: id, owner: owner, sse: sse, last: t.now(), streams: map[*context.CancelFunc]struct{}{}}
	if old, dup := t.byID[id]; dup { // ids are random; never expected
		t.removeLocked(old)
	}
	t.byID[id] = s
	t.armLocked()
	return s
}

// owned returns the session if it exists and owner opened it. A session of
// another token and a made-up id are the same answer: not found.
func (t *sessionTable) owned(id, owner string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byID[id]
	return ok && s.owner == owner
}

// begin marks a request or tool call on the session as running; end marks
// it done. Unknown ids are ignored (a session reaped meanwhile, stdio).
func (t *sessionTable) begin(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.byID[id]; ok {
		s.busy++
		s.last = t.now()
	}
}

func (t *sessionTable) end(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.byID[id]; ok {
		s.busy--
		s.last = t.now()
	}
}

// stream registers an open stream of the session (SSE, or a Streamable
// HTTP GET); cancel ends it when the session is reaped. The returned
// function unregisters it. An open stream alone does not keep a session
// alive: a client that vanished leaves its stream open for as long as TCP
// takes to notice.
func (t *sessionTable) stream(id string, cancel context.CancelFunc) (done func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byID[id]
	if !ok {
		cancel()
		return func() {}
	}
	key := &cancel
	s.streams[key] = struct{}{}
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(s.streams, key)
	}
}

// remove forgets a session that ended on its own (DELETE, SSE stream
// closed); its streams are cancelled.
func (t *sessionTable) remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.byID[id]; ok {
		t.removeLocked(s)
	}
}

func (t *sessionTable) removeLocked(s *session) {
	if t.byID[s.id] != s {
		return
	}
	delete(t.byID, s.id)
	t.decOwnerLocked(s.owner)
	for c := range s.streams {
		(*c)()
	}
	s.streams = nil
}

func (t *sessionTable) decOwnerLocked(owner string) {
	if t.perOwner[owner]--; t.perOwner[owner] <= 0 {
		delete(t.perOwner, owner)
	}
}

// count is how many sessions are open.
func (t *sessionTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}

// sweepInterval is how often idle sessions are looked for: a session is
// reaped within IdleTTL plus this.
func (t *sessionTable) sweepInterval() time.Duration {
	return max(t.limits.IdleTTL/4, 10*time.Millisecond)
}

// armLocked starts the sweep timer while there are sessions; it does not
// run when there are none, so an idle server has no timer at all.
func (t *sessionTable) armLocked() {
	if t.timer == nil && !t.closed && len(t.byID) > 0 {
		t.timer = time.AfterFunc(t.sweepInterval(), t.sweep)
	}
}

// sweep reaps the sessions idle for IdleTTL.
func (t *sessionTable) sweep() {
	t.mu.Lock()
	t.timer = nil
	cutoff := t.now().Add(-t.limits.IdleTTL)
	var idle []*session
	for _, s := range t.byID {
		if s.busy == 0 && !s.last.After(cutoff) {
			idle = append(idle, s)
		}
	}
	for _, s := range idle {
		t.removeLocked(s)
	}
	if len(t.byID) == 0 && t.reserved == 0 {
		// Go maps never shrink: after a flood, start over with small ones.
		t.byID, t.perOwner = map[string]*session{}, map[string]int{}
	}
	t.armLocked()
	t.mu.Unlock()
	for _, s := range idle {
		t.drop(s)
	}
}

// close stops the sweeps (the server is shutting down).
func (t *sessionTable) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// middleware tracks tool calls per session: an SSE call runs after its
// POST was answered, and a session must not be reaped under a call.
func (t *sessionTable) middleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if cs := server.ClientSessionFromContext(ctx); cs != nil && cs.SessionID() != "" {
			id := cs.SessionID()
			t.begin(id)
			defer t.end(id)
		}
		return next(ctx, req)
	}
}

// refuseSession answers a session the caps do not allow.
func refuseSession(w http.ResponseWriter, err error, l SessionLimits) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(l.IdleTTL/4, time.Second).Seconds())))
	if errors.Is(err, errTooManyForToken) {
		http.Error(w, fmt.Sprintf("Too many sessions: this token has %d open (IGMCP_HTTP_MAX_SESSIONS_PER_TOKEN) and none is idle; end unused sessions (DELETE) or retry later", l.PerToken), http.StatusTooManyRequests)
		return
	}
	http.Error(w, fmt.Sprintf("Too many sessions: the server has %d open (IGMCP_HTTP_MAX_SESSIONS); retry later", l.Total), http.StatusServiceUnavailable)
}

func sessionNotFound(w http.ResponseWriter) {
	// The same answer for a made-up id, another token's session and a
	// reaped one; a Streamable HTTP client re-initializes on 404.
	http.Error(w, "Session not found: start a new session (initialize)", http.StatusNotFound)
}

// serveMCP guards the Streamable HTTP endpoint: a session id must name a
// session of the presenting token, a new session needs room under the caps,
// and the id handed out by initialize is recorded as the token's.
// Requests of protocol 2026-07-28 have no sessions and pass unchanged.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request, owner string, body []byte) {
	t := s.sessions
	id := r.Header.Get(server.HeaderKeySessionID)
	modern := mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion))
	switch r.Method {
	case http.MethodPost:
		if isInitialize(body) && !modern {
			// mcp-go ignores a session id on initialize and makes a new one.
			if err := t.reserve(owner); err != nil {
				refuseSession(w, err, t.limits)
				return
			}
			rec := &sessionIDRecorder{ResponseWriter: w, commit: func(id string) { t.add(id, owner, false) }}
			s.streamable.ServeHTTP(rec, r)
			if !rec.committed {
				t.unreserve(owner)
			}
			return
		}
		if id == "" {
			break // mcp-go: a 2026-07-28 request, or refused for lack of a session
		}
		if !t.owned(id, owner) {
			sessionNotFound(w)
			return
		}
		t.begin(id)
		defer t.end(id)
	case http.MethodGet, http.MethodDelete:
		if modern {
			break // no sessions in 2026-07-28: mcp-go answers 405
		}
		if id == "" {
			http.Error(w, "Bad Request: Mcp-Session-Id header required", http.StatusBadRequest)
			return
		}
		if !t.owned(id, owner) {
			sessionNotFound(w)
			return
		}
		t.begin(id)
		t.end(id) // a request, not a running call: it only refreshes the session
		if r.Method == http.MethodDelete {
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			s.streamable.ServeHTTP(rec, r)
			if rec.status < 300 {
				t.remove(id)
			}
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer t.stream(id, cancel)()
		r = r.WithContext(ctx)
	}
	if r.Method == http.MethodPost && s.tasks != nil && s.tasks.ServeMCP(w, r, body, owner, s.streamable) {
		return
	}
	s.streamable.ServeHTTP(w, r)
}

// serveSSE opens an SSE session under the caps; the id mcp-go asks for is
// made by sseSessionID, which records it as the token's.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request, owner string) {
	if r.Method != http.MethodGet {
		s.sse.SSEHandler().ServeHTTP(w, r)
		return
	}
	t := s.sessions
	if err := t.reserve(owner); err != nil {
		refuseSession(w, err, t.limits)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	p := &pendingSSE{owner: owner, cancel: cancel, table: t}
	s.sse.SSEHandler().ServeHTTP(w, r.WithContext(context.WithValue(ctx, pendingSSEKey{}, p)))
	p.finish()
}

// serveMessage lets only the token that opened an SSE session post to it.
// MCP tasks are not served on the SSE transport: there mcp-go would keep
// them in this process's memory (docs/reference.md §6).
func (s *Server) serveMessage(w http.ResponseWriter, r *http.Request, owner string, body []byte) {
	if s.tasks != nil && isTaskTraffic(body) {
		http.Error(w, "Bad Request: MCP tasks are served on Streamable HTTP (/mcp), not on the SSE transport", http.StatusBadRequest)
		return
	}
	if id := r.URL.Query().Get("sessionId"); id != "" {
		if !s.sessions.owned(id, owner) {
			sessionNotFound(w)
			return
		}
		s.sessions.begin(id)
		defer s.sessions.end(id)
	}
	s.sse.MessageHandler().ServeHTTP(w, r)
}

type pendingSSEKey struct{}

// pendingSSE carries the reservation of an SSE stream to sseSessionID.
type pendingSSE struct {
	owner  string
	cancel context.CancelFunc
	table  *sessionTable

	mu       sync.Mutex
	id       string
	doneFunc func()
}

// sseSessionID makes the id of a new SSE session (mcp-go's
// WithSessionIDGenerator) and records it as the presenting token's.
func sseSessionID(ctx context.Context, _ *http.Request) (string, error) {
	p, ok := ctx.Value(pendingSSEKey{}).(*pendingSSE)
	if !ok {
		return "", errors.New("SSE stream without a session reservation")
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := "sse-" + hex.EncodeToString(b[:])
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id != "" {
		return "", errors.New("one session per SSE stream")
	}
	p.id = id
	p.table.add(id, p.owner, true)
	p.doneFunc = p.table.stream(id, p.cancel)
	return id, nil
}

// finish runs when the SSE stream ended: the session goes, or the
// reservation if no session was made.
func (p *pendingSSE) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id == "" {
		p.table.unreserve(p.owner)
		p.id = "-" // no session may be made any more
		return
	}
	p.doneFunc()
	p.table.remove(p.id)
}

// isTaskTraffic reports whether a JSON-RPC body is a tasks/* request or a
// task-augmented call.
func isTaskTraffic(body []byte) bool {
	var m struct {
		Method string `json:"method"`
		Params struct {
			Task json.RawMessage `json:"task"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	return strings.HasPrefix(m.Method, "tasks/") || m.Method == string(mcp.MethodToolsCall) && len(m.Params.Task) > 0
}

// isInitialize reports whether a JSON-RPC body is an initialize request.
func isInitialize(body []byte) bool {
	var m struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(body, &m) == nil && m.Method == string(mcp.MethodInitialize)
}

// sessionIDRecorder records the session id of an initialize response when
// its header is written, before the client can read it and use the id.
type sessionIDRecorder struct {
	http.ResponseWriter
	commit    func(id string)
	committed bool
}

func (r *sessionIDRecorder) WriteHeader(code int) {
	r.record(code)
	r.ResponseWriter.WriteHeader(code)
}

func (r *sessionIDRecorder) Write(p []byte) (int, error) {
	r.record(http.StatusOK)
	return r.ResponseWriter.Write(p)
}

func (r *sessionIDRecorder) record(code int) {
	if r.committed {
		return
	}
	if id := r.Header().Get(server.HeaderKeySessionID); id != "" && code < 300 {
		r.committed = true
		r.commit(id)
	}
}

func (r *sessionIDRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *sessionIDRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// discardWriter is the response writer of the server's own requests.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// dropSession ends a reaped or evicted session in mcp-go. Its streams were
// cancelled already (an SSE session ends with its stream); a Streamable
// HTTP session's state is removed through mcp-go's own DELETE handling.
func (s *Server) dropSession(sess *session) {
	if sess.sse {
		return
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, "/mcp", nil)
	if err != nil {
		return
	}
	req.Header.Set(server.HeaderKeySessionID, sess.id)
	s.streamable.ServeHTTP(&discardWriter{h: http.Header{}}, req)
}
