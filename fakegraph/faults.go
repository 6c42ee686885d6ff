package fakegraph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// FaultAction is what an injected Fault does to a matching call.
type FaultAction int

const (
	// FaultGraphError answers with Fault.GraphError (default: HTTP 500,
	// code 2 "An unexpected error has occurred. Please retry your request
	// later.", is_transient true) without doing the work.
	FaultGraphError FaultAction = iota + 1
	// FaultHTTP500 answers 500 (or GraphError.HTTPStatus when that is 5xx)
	// with an HTML body like Meta's edge servers, without doing the work.
	FaultHTTP500
	// FaultDrop closes the connection without answering, without doing
	// the work. When the ResponseWriter cannot be hijacked the handler
	// panics with http.ErrAbortHandler, which net/http turns into an
	// aborted response.
	FaultDrop
	// FaultLatency waits Fault.Delay, then handles the call normally (other
	// faults are still checked).
	FaultLatency
	// FaultPublishThenFail does the work for real (meant for
	// media_publish: the post goes live), then answers with GraphError if
	// given, else drops the connection: the "timed out but went live"
	// case. When the work itself fails, its real error is answered.
	FaultPublishThenFail
	// FaultDropThenApplyLater drops the connection without answering and
	// does the work Fault.ApplyAfter later (default 8 s, real time): a
	// request that sat in a queue on Meta's side. Meanwhile the container
	// still reads FINISHED, so a client that takes one FINISHED read for
	// "never arrived" and sends again makes two posts.
	FaultDropThenApplyLater
)

// defaultApplyAfter is FaultDropThenApplyLater's delay when none is given.
const defaultApplyAfter = 8 * time.Second

// String names the action (for Call.Fault and test output).
func (a FaultAction) String() string {
	switch a {
	case FaultGraphError:
		return "graph-error"
	case FaultHTTP500:
		return "http-500"
	case FaultDrop:
		return "drop"
	case FaultLatency:
		return "latency"
	case FaultPublishThenFail:
		return "publish-then-fail"
	case FaultDropThenApplyLater:
		return "drop-then-apply-later"
	}
	return ""
}

// ErrorSpec is a Graph error to answer with.
type ErrorSpec struct {
	HTTPStatus  int // default 400
	Code        int
	Subcode     int
	Message     string
	Type        string // default OAuthException
	IsTransient bool
	UserTitle   string
	UserMsg     string
}

// Fault makes matching calls misbehave.
type Fault struct {
	Method string // "" = any
	// PathSuffix is matched against the unversioned path, e.g.
	// "/media_publish", "/media"; "" = any.
	PathSuffix string
	// Nth (1-based) fails only the Nth matching call; 0 = every matching
	// call, up to Times.
	Nth int
	// Times, with Nth = 0, is how many matching calls fail (0 = forever).
	Times      int
	Action     FaultAction
	GraphError *ErrorSpec
	// Delay is how long to wait before acting (FaultLatency: the added
	// latency; other actions: before failing).
	Delay time.Duration
	// ApplyAfter is how long after the dropped answer a
	// FaultDropThenApplyLater request takes effect (0: 8 s).
	ApplyAfter time.Duration
	// ReadyOnly matches only media_publish requests whose container is
	// FINISHED when they arrive — the send that goes live — so that the
	// fault hits it whatever harmless not-ready attempts came first.
	// Requests to other paths never match it.
	ReadyOnly bool
}

type faultState struct {
	f       Fault
	matches int
	fired   int
}

// Inject adds a fault. Faults are checked in order of injection; each
// counts its own matching calls. FaultLatency faults add up; the first
// other fault that fires decides the answer.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{f: f})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Outcome is how a container's processing ends.
type Outcome struct {
	// StatusCode is ERROR, EXPIRED, IN_PROGRESS (never finishes) or
	// FINISHED.
	StatusCode string
	// Subcode is the error code in the ERROR status string ("Error: Media
	// upload has failed with error code 2207026"); default 2207026.
	Subcode int
	// AtCreation makes an ERROR outcome fail POST /{ig-user-id}/media
	// synchronously with the error documented for Subcode (e.g. 9004/
	// 2207052 for an image Meta cannot fetch) instead of creating a
	// container that ends in ERROR.
	AtCreation bool
}

type outcomeRule struct {
	substr string
	o      Outcome
}

// SetMediaOutcome makes containers created from now on whose image_url or
// video_url contains urlSubstring end as o once processing is over. The
// first matching rule wins.
func (s *Server) SetMediaOutcome(urlSubstring string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.StatusCode == StatusError && o.Subcode == 0 {
		o.Subcode = 2207026
	}
	s.outcomes = append(s.outcomes, outcomeRule{urlSubstring, o})
}

// matchFaults returns the total latency to add and the fault that decides
// the answer (nil: none). Every matching fault counts the call, even when an
// earlier fault decided it.
func (s *Server) matchFaults(q *request) (time.Duration, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var delay time.Duration
	var decided *Fault
	for _, fs := range s.faults {
		f := fs.f
		if !matchCall(f.Method, f.PathSuffix, q.method, q.path) || (f.ReadyOnly && !s.publishesReady(q)) {
			continue
		}
		fs.matches++
		if decided != nil {
			continue
		}
		var fire bool
		if f.Nth > 0 {
			fire = fs.matches == f.Nth
		} else {
			fire = f.Times == 0 || fs.fired < f.Times
		}
		if !fire {
			continue
		}
		fs.fired++
		if f.Action == FaultLatency {
			delay += f.Delay
			continue
		}
		decided = &f
		delay += f.Delay
	}
	return delay, decided
}

// publishesReady: q is a media_publish of a container that is FINISHED
// now. Called with s.mu held.
func (s *Server) publishesReady(q *request) bool {
	if q.method != http.MethodPost || !strings.HasSuffix(q.path, "/media_publish") {
		return false
	}
	c, ok := s.objs[q.params.Get("creation_id")].(*container)
	if !ok {
		return false
	}
	code, _ := s.containerStatus(c, s.now())
	return code == StatusFinished
}

func (s *Server) recordFault(c *Call, a FaultAction) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Fault = a
}

// applyLater does q's work after (default 8 s), unless the server is
// closed first.
func (s *Server) applyLater(q *request, after time.Duration) {
	if after <= 0 {
		after = defaultApplyAfter
	}
	stop, ok := s.late.add()
	if !ok {
		return
	}
	go func() {
		defer s.late.done()
		t := time.NewTimer(after)
		defer t.Stop()
		select {
		case <-stop:
		case <-t.C:
			s.serve(httptest.NewRecorder(), q)
		}
	}()
}

// WaitLate waits until every FaultDropThenApplyLater request has taken
// effect (or ctx ends), so a test can count posts after the late ones.
func (s *Server) WaitLate(ctx context.Context) error {
	idle := s.late.idleCh()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lateWork counts requests waiting to take effect; closing the server
// drops them.
type lateWork struct {
	mu      sync.Mutex
	pending int
	idle    chan struct{} // closed when pending returns to 0
	stop    chan struct{} // closed by cancel
	closed  bool
}

func (l *lateWork) add() (<-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, false
	}
	if l.stop == nil {
		l.stop = make(chan struct{})
	}
	if l.pending == 0 {
		l.idle = make(chan struct{})
	}
	l.pending++
	return l.stop, true
}

func (l *lateWork) done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending--
	if l.pending == 0 {
		close(l.idle)
	}
}

func (l *lateWork) idleCh() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == 0 {
		return nil
	}
	return l.idle
}

func (l *lateWork) cancel() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		if l.stop != nil {
			close(l.stop)
		}
	}
}

// edgeErrorHTML imitates the body Meta's edge servers send with a 5xx.
const edgeErrorHTML = `<!DOCTYPE html>
<html lang="en" id="facebook">
<head><meta charset="utf-8"><title>Facebook | Error</title></head>
<body><div id="content"><h2>Sorry, something went wrong.</h2>
<p>We're working on it and we'll get it fixed as soon as we can.</p></div></body>
</html>
`

func writeEdge5xx(w http.ResponseWriter, status int) {
	if status < 500 || status > 599 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(edgeErrorHTML))
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func specError(sp *ErrorSpec) *apiError {
	if sp == nil {
		t := true
		return &apiError{status: 500, Code: 2, Message: "An unexpected error has occurred. Please retry your request later.", Type: "OAuthException", Transient: &t}
	}
	e := &apiError{status: sp.HTTPStatus, Code: sp.Code, Subcode: sp.Subcode, Message: sp.Message, Type: sp.Type, UserTitle: sp.UserTitle, UserMsg: sp.UserMsg}
	t := sp.IsTransient
	e.Transient = &t
	if e.status == 0 {
		e.status = 400
	}
	if e.Type == "" {
		e.Type = "OAuthException"
	}
	if e.Message == "" {
		e.Message = "An unknown error has occurred."
	}
	return e
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
