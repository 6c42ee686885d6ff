package taskfront

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// sseWriter writes a POST's answer as an SSE stream (the Streamable HTTP
// way to send notifications before the response).
type sseWriter struct {
	w http.ResponseWriter
}

func newSSEWriter(w http.ResponseWriter) *sseWriter {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w}
	s.flush()
	return s
}

// send writes one JSON-RPC message as an event.
func (s *sseWriter) send(msg any) {
	b, err := json.Marshal(msg)
	if err != nil { // our own maps of JSON-safe values
		return
	}
	_, _ = s.w.Write([]byte("event: message\ndata: " + string(b) + "\n\n"))
	s.flush()
}

// ping writes a comment: it keeps proxies from cutting an idle stream.
func (s *sseWriter) ping() {
	_, _ = s.w.Write([]byte(": ping\n\n"))
	s.flush()
}

func (s *sseWriter) flush() {
	_ = http.NewResponseController(s.w).Flush()
}

// answerRewriter stands between mcp-go and the client while mcp-go answers
// a call the front handed on: everything passes through as written, except
// the response to the call itself, which rewrite replaces. mcp-go answers
// with JSON, or with an SSE stream when it sends something first (the
// elicitation/create of a confirmation dialog to a 2025 client, which must
// reach the client while the call waits for its answer).
type answerRewriter struct {
	w       http.ResponseWriter
	id      json.RawMessage
	rewrite func(response json.RawMessage) json.RawMessage

	status  int
	started bool
	sse     bool
	body    bytes.Buffer // JSON: the whole answer; SSE: an unfinished event
}

func (a *answerRewriter) Header() http.Header { return a.w.Header() }

func (a *answerRewriter) WriteHeader(code int) {
	if a.started {
		return
	}
	a.started, a.status = true, code
	a.sse = strings.HasPrefix(a.w.Header().Get("Content-Type"), "text/event-stream")
	if a.sse {
		a.w.WriteHeader(code)
	}
}

func (a *answerRewriter) Write(p []byte) (int, error) {
	if !a.started {
		a.WriteHeader(http.StatusOK)
	}
	a.body.Write(p)
	if a.sse {
		a.passEvents()
	}
	return len(p), nil
}

// Unwrap lets http.ResponseController reach the connection (deadlines);
// Flush stays this writer's.
func (a *answerRewriter) Unwrap() http.ResponseWriter { return a.w }

func (a *answerRewriter) Flush() {
	if a.sse {
		_ = http.NewResponseController(a.w).Flush()
	}
}

// passEvents writes the complete events buffered so far, rewriting the
// call's response.
func (a *answerRewriter) passEvents() {
	for {
		buf := a.body.Bytes()
		i := bytes.Index(buf, []byte("\n\n"))
		if i < 0 {
			return
		}
		event := string(buf[:i+2])
		a.body.Next(i + 2)
		if data, ok := eventData(event); ok && isResponseTo(data, a.id) {
			event = "event: message\ndata: " + string(a.rewrite(data)) + "\n\n"
		}
		_, _ = a.w.Write([]byte(event))
		_ = http.NewResponseController(a.w).Flush()
	}
}

// finish writes a JSON answer once mcp-go is done with it.
func (a *answerRewriter) finish() {
	if a.sse {
		if a.body.Len() > 0 { // an unterminated last event
			_, _ = a.w.Write(a.body.Bytes())
		}
		return
	}
	out := a.body.Bytes()
	if isResponseTo(out, a.id) {
		out = a.rewrite(out)
	}
	if !a.started {
		a.status = http.StatusOK
	}
	a.w.Header().Del("Content-Length")
	if len(out) > 0 && a.w.Header().Get("Content-Type") == "" {
		a.w.Header().Set("Content-Type", "application/json")
	}
	a.w.WriteHeader(a.status)
	_, _ = a.w.Write(out)
}

// eventData is the data of one SSE event (its data lines joined).
func eventData(event string) ([]byte, bool) {
	var data []string
	for _, line := range strings.Split(event, "\n") {
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			data = append(data, strings.TrimPrefix(d, " "))
		}
	}
	return []byte(strings.Join(data, "\n")), len(data) > 0
}

// isResponseTo: msg is a JSON-RPC response (a result or an error) with
// the given id.
func isResponseTo(msg []byte, id json.RawMessage) bool {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if json.Unmarshal(msg, &m) != nil || m.Method != "" || (m.Result == nil && m.Error == nil) {
		return false
	}
	return bytes.Equal(bytes.TrimSpace(m.ID), bytes.TrimSpace(id))
}
