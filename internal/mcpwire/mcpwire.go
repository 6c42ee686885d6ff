// Package mcpwire is a small MCP client over Streamable HTTP that writes
// the JSON-RPC by hand, for the tests and benchmarks that must control the
// wire: the 2026-07-28 Tasks extension (which no Go client speaks yet),
// 2025-11-25 task-augmented calls, headers a load balancer routes on, and
// answers that arrive as JSON or as an SSE stream. It is not a general
// client: it sends one request at a time per call and keeps no state
// beyond a 2025 session id.
package mcpwire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// Protocol versions.
const (
	Modern = "2026-07-28"
	Legacy = "2025-11-25"
)

// TasksExtension is the Tasks extension's identifier.
const TasksExtension = "io.modelcontextprotocol/tasks"

// ErrSessionGone: the server answered 404 for the session (it ended, or
// its replica is gone); Initialize starts a new one.
var ErrSessionGone = errors.New("mcpwire: session not found (404)")

// Client talks to one MCP endpoint.
type Client struct {
	URL   string
	HTTP  *http.Client
	Token string // bearer token; "" sends none
	// Version is Modern or Legacy.
	Version string
	// Tasks declares the Tasks extension (Modern).
	Tasks bool
	// Elicitation declares form elicitation.
	Elicitation bool
	// OnResponse, when set, sees each answer's status and headers as they
	// arrive, before the body (a long stream's, say).
	OnResponse func(method string, status int, h http.Header)

	ids     atomic.Int64
	mu      sync.Mutex
	session string
}

// Response is one answer: its result or error, the HTTP status and
// headers, and the notifications that came before it on an SSE stream.
type Response struct {
	Status int
	Header http.Header
	Result json.RawMessage
	Error  *Error
	Notes  []Note
}

// Error is a JSON-RPC error.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

// Note is a notification (or a server request) received on a stream.
type Note struct {
	Method string          `json:"method"`
	ID     json.RawMessage `json:"id,omitempty"`
	Params json.RawMessage `json:"params"`
}

// Session is the 2025 session id ("" before Initialize).
func (c *Client) Session() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Initialize starts a 2025 session: initialize, then
// notifications/initialized. A Modern client has nothing to initialize.
func (c *Client) Initialize(ctx context.Context) (*Response, error) {
	if c.Version == Modern {
		return &Response{}, nil
	}
	c.mu.Lock()
	c.session = ""
	c.mu.Unlock()
	caps := map[string]any{}
	if c.Elicitation {
		caps["elicitation"] = map[string]any{"form": map[string]any{}}
	}
	res, err := c.Call(ctx, "initialize", map[string]any{"protocolVersion": c.Version, "capabilities": caps,
		"clientInfo": map[string]any{"name": "mcpwire", "version": "1"}}, nil)
	if err != nil {
		return res, err
	}
	if id := res.Header.Get("Mcp-Session-Id"); id != "" {
		c.mu.Lock()
		c.session = id
		c.mu.Unlock()
	}
	return res, c.Notify(ctx, "notifications/initialized", map[string]any{})
}

// Notify sends a notification.
func (c *Client) Notify(ctx context.Context, method string, params map[string]any) error {
	msg := map[string]any{"jsonrpc": "2.0", "method": method, "params": params}
	resp, err := c.post(ctx, method, msg, "")
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("mcpwire: %s: HTTP %d", method, resp.StatusCode)
	}
	return nil
}

// Call sends a request and returns its answer. A JSON-RPC error is in
// Response.Error (err stays nil); err is for transport failures, a 404 of
// a 2025 session (ErrSessionGone) and other HTTP errors without a
// JSON-RPC answer. onNote, when set, sees each notification or server
// request as it arrives (it may answer a request with Reply).
func (c *Client) Call(ctx context.Context, method string, params map[string]any, onNote func(Note)) (*Response, error) {
	if params == nil {
		params = map[string]any{}
	}
	if c.Version == Modern {
		meta, _ := params["_meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		caps := map[string]any{}
		if c.Tasks {
			caps["extensions"] = map[string]any{TasksExtension: map[string]any{}}
		}
		if c.Elicitation {
			caps["elicitation"] = map[string]any{"form": map[string]any{}}
		}
		meta["io.modelcontextprotocol/protocolVersion"] = Modern
		meta["io.modelcontextprotocol/clientInfo"] = map[string]any{"name": "mcpwire", "version": "1"}
		meta["io.modelcontextprotocol/clientCapabilities"] = caps
		params["_meta"] = meta
	}
	id := c.ids.Add(1)
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}
	resp, err := c.post(ctx, method, msg, nameOf(method, params))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if c.OnResponse != nil {
		c.OnResponse(method, resp.StatusCode, resp.Header)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode == http.StatusNotFound && c.Version != Modern && method != "initialize" {
		return out, ErrSessionGone
	}
	idJSON, _ := json.Marshal(id)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return out, c.readStream(resp.Body, idJSON, out, onNote)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return out, err
	}
	if !c.fill(body, idJSON, out, onNote) {
		return out, fmt.Errorf("mcpwire: %s: HTTP %d: %s", method, resp.StatusCode, bytes.TrimSpace(body))
	}
	return out, nil
}

// Reply answers a server request (an elicitation/create of a 2025 dialog).
func (c *Client) Reply(ctx context.Context, id json.RawMessage, result any) error {
	resp, err := c.post(ctx, "", map[string]any{"jsonrpc": "2.0", "id": id, "result": result}, "")
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("mcpwire: reply: HTTP %d", resp.StatusCode)
	}
	return nil
}

func (c *Client) post(ctx context.Context, method string, msg any, name string) (*http.Response, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if method != "initialize" {
		req.Header.Set("Mcp-Protocol-Version", c.Version)
	}
	if c.Version == Modern {
		if method != "" {
			req.Header.Set("Mcp-Method", method)
		}
		if name != "" {
			req.Header.Set("Mcp-Name", name)
		}
	} else if s := c.Session(); s != "" {
		req.Header.Set("Mcp-Session-Id", s)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	return hc.Do(req)
}

// nameOf is the Mcp-Name header of a request: what it names.
func nameOf(method string, params map[string]any) string {
	key := ""
	switch {
	case method == "tools/call", method == "prompts/get":
		key = "name"
	case method == "resources/read":
		key = "uri"
	case strings.HasPrefix(method, "tasks/"):
		key = "taskId"
	}
	s, _ := params[key].(string)
	return s
}

// fill reads one JSON-RPC message into out: the answer to id (true), or a
// notification or server request for onNote.
func (c *Client) fill(msg []byte, id json.RawMessage, out *Response, onNote func(Note)) bool {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
		Result json.RawMessage `json:"result"`
		Error  *Error          `json:"error"`
	}
	if json.Unmarshal(msg, &m) != nil {
		return false
	}
	if m.Method != "" {
		n := Note{Method: m.Method, ID: m.ID, Params: m.Params}
		out.Notes = append(out.Notes, n)
		if onNote != nil {
			onNote(n)
		}
		return false
	}
	if !bytes.Equal(bytes.TrimSpace(m.ID), id) {
		return false
	}
	out.Result, out.Error = m.Result, m.Error
	return true
}

func (c *Client) readStream(body io.Reader, id json.RawMessage, out *Response, onNote func(Note)) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			data = append(data, strings.TrimPrefix(d, " "))
			continue
		}
		if line != "" || len(data) == 0 {
			continue
		}
		msg := []byte(strings.Join(data, "\n"))
		data = nil
		if c.fill(msg, id, out, onNote) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}
