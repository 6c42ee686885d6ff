package tools

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/store"
)

// IGMCP_CONFIRM=1 (Deps.Confirm): the user approves every write before it
// happens.
//
// Where the client supports elicitation, the call is answered with an
// elicitation request (the multi-round-trip pattern: a 2026-07-28 client
// retries the call with the answer; for older clients mcp-go sends
// elicitation/create itself and re-runs the call). Only an accept runs the
// tool.
//
// Where it does not, asking would be a JSON-RPC error, and proceeding would
// publish without the approval the operator turned this on for. So the call
// is refused as invalid_input on field `confirm`, and the action tells the
// agent to ask the user and repeat the call with confirm: true. That keeps a
// human in the loop through the agent's own chat, costs one extra round
// trip, and never publishes by surprise. (An agent could set confirm: true
// without asking; with such clients the guarantee is only as strong as the
// agent. Clients with elicitation always get the dialog: confirm: true does
// not skip it.)
//
// Each dialog is stored (Deps.Confirmations): its nonce travels as the
// request state, the answer may come back to any replica, and it approves
// one call, once, with the arguments it showed. A replayed, expired,
// foreign or altered answer asks again; it never proceeds.

const (
	confirmArg = "confirm"
	confirmKey = "confirm" // the input-request id in the multi-round-trip
	// confirmStatePrefix marks igmcp's request state: a dialog's nonce.
	confirmStatePrefix = "igmcp-confirm-v2:"
	// confirmTTL is how long a dialog's answer is taken.
	confirmTTL = 10 * time.Minute
)

// confirmProperty is added to write tools' input schemas when confirmation
// is on, so a strict client may send it and the model learns of it.
const confirmProperty = `{"description":"User said yes.","type":"boolean"}`

// withConfirmArg copies the tools, adding `confirm` to each write tool's
// input schema. Read tools are untouched.
func withConfirmArg(tools []Tool) []Tool {
	out := make([]Tool, len(tools))
	for i, t := range tools {
		out[i] = t
		if !t.ReadOnly() {
			out[i].Tool.RawInputSchema = addSchemaProperty(t.Tool.RawInputSchema, confirmArg, json.RawMessage(confirmProperty))
		}
	}
	return out
}

// addSchemaProperty appends a property to an object schema, keeping
// the order of the existing properties (the order the model reads them in).
func addSchemaProperty(schema json.RawMessage, name string, prop json.RawMessage) json.RawMessage {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(schema, &top); err != nil {
		panic(fmt.Sprintf("tools: schema is not an object: %v", err)) // our own generated schema
	}
	top["properties"] = addProperty(top["properties"], name, prop)
	out, err := json.Marshal(top)
	if err != nil {
		panic(fmt.Sprintf("tools: schema: %v", err))
	}
	return out
}

// addProperty appends name: prop to a JSON object (a schema's properties),
// splicing the bytes so the existing members keep their order.
func addProperty(props json.RawMessage, name string, prop json.RawMessage) json.RawMessage {
	props = bytes.TrimSpace(props)
	if len(props) < 2 {
		props = []byte("{}")
	}
	var b bytes.Buffer
	b.Write(props[:len(props)-1])
	if len(bytes.TrimSpace(props[1:len(props)-1])) > 0 {
		b.WriteByte(',')
	}
	key, _ := json.Marshal(name)
	b.Write(key)
	b.WriteByte(':')
	b.Write(prop)
	b.WriteByte('}')
	return b.Bytes()
}

// confirmWrites is the confirmation middleware; it only acts on write tools.
func confirmWrites(d *Deps, byName map[string]Tool) server.ToolHandlerMiddleware {
	dialogs := confirmations(d)
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			t, ok := byName[req.Params.Name]
			if !ok || t.ReadOnly() {
				return next(ctx, req)
			}
			args, err := rawArguments(req)
			if err != nil {
				return next(ctx, req) // malformed: the tool answers invalid_input, nothing is written
			}
			confirmed, hasConfirm := boolArg(args, confirmArg)
			if hasConfirm {
				req = withoutArg(req, args, confirmArg)
				delete(args, confirmArg)
			}
			if isDraft(args) {
				// create_post with publish: false only prepares a container;
				// publishing it later goes through publish_container, which asks.
				return next(ctx, req)
			}
			dialog := store.Confirmation{Owner: confirmOwner(ctx), Tool: req.Params.Name, Digest: confirmDigest(req.Params.Name, args)}
			if ans := server.ElicitationResponse(req.Params.InputResponses, confirmKey); ans != nil {
				if ans.Action != mcp.ElicitationResponseActionAccept || answeredNo(ans.Content) {
					return errorResult(declined(ans.Action)), nil
				}
				nonce, ours := strings.CutPrefix(req.Params.RequestState, confirmStatePrefix)
				if ours && nonce != "" {
					dialog.Nonce = nonce
					ok, err := dialogs.ConsumeConfirmation(ctx, dialog, time.Now())
					if err != nil {
						return errorResult(storeFailure(err)), nil
					}
					if ok {
						d.log("write confirmed by the user", req.Params.Name)
						return next(ctx, req)
					}
				}
				// Not an answer to a dialog of this call: ask again.
			}
			if clientCanElicit(ctx) {
				dialog.Nonce = rand.Text()
				dialog.ExpiresAt = time.Now().Add(confirmTTL)
				if err := dialogs.PutConfirmation(ctx, dialog); err != nil {
					return errorResult(storeFailure(err)), nil
				}
				return server.NewInputRequestBuilder(confirmStatePrefix+dialog.Nonce).Elicit(confirmKey, mcp.ElicitationParams{
					Mode:    mcp.ElicitationModeForm,
					Message: confirmMessage(t, args),
					RequestedSchema: map[string]any{
						"type": "object",
						"properties": map[string]any{
							"confirm": map[string]any{"type": "boolean", "title": "Go ahead", "description": "Uncheck or decline to cancel.", "default": true},
						},
						"required": []string{"confirm"},
					},
				}).ToolResult(), nil
			}
			if confirmed {
				d.log("write confirmed by argument (client has no elicitation)", req.Params.Name)
				return next(ctx, req)
			}
			e := failure.Invalid(confirmArg, "IGMCP_CONFIRM is on and this client cannot show a confirmation dialog, so %s did nothing.", req.Params.Name)
			e.Action = "Show the user exactly what this call will publish and ask for approval; only after a clear yes, repeat the same call with confirm: true."
			return errorResult(e), nil
		}
	}
}

func (d *Deps) log(msg, tool string) {
	if d.Logger != nil {
		d.Logger.Info(msg, "tool", tool)
	}
}

// clientCapabilities are what the client of this request declared: per
// request in the 2026-07-28 era (capabilities travel in _meta), per session
// before (mcp-go's RequestProtocolInfo); nil when unknown.
func clientCapabilities(ctx context.Context) *mcp.ClientCapabilities {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities
	}
	if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		c := s.GetClientCapabilities()
		return &c
	}
	return nil
}

// clientCanElicit: without it, asking a client that cannot answer is a
// JSON-RPC error.
func clientCanElicit(ctx context.Context) bool {
	c := clientCapabilities(ctx)
	return c != nil && c.Elicitation != nil
}

// confirmDigest binds an answer to the exact call it approved: a dialog
// stored for other arguments (the call changed between the rounds) is not
// taken as approval.
func confirmDigest(tool string, args map[string]json.RawMessage) string {
	canon, _ := json.Marshal(canonical(args)) // map keys marshal sorted
	sum := sha256.Sum256(append([]byte(tool+"\x00"), canon...))
	return hex.EncodeToString(sum[:16])
}

// confirmOwner is the bearer token whose call asked: only its own calls
// may use the answer.
func confirmOwner(ctx context.Context) string {
	if g := scope.From(ctx); g != nil {
		return g.Name
	}
	return ""
}

// confirmations is where dialogs are kept: the store, shared by the
// replicas; without one (an embedding with no durable state) this
// server's memory.
func confirmations(d *Deps) store.Confirmations {
	if d.Confirmations != nil {
		return d.Confirmations
	}
	return &memConfirmations{m: map[string]store.Confirmation{}}
}

// memConfirmations are dialogs kept in memory (Deps without Confirmations).
type memConfirmations struct {
	mu sync.Mutex
	m  map[string]store.Confirmation
}

func (c *memConfirmations) PutConfirmation(_ context.Context, dc store.Confirmation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n, old := range c.m {
		if !old.ExpiresAt.After(time.Now()) {
			delete(c.m, n)
		}
	}
	c.m[dc.Nonce] = dc
	return nil
}

func (c *memConfirmations) ConsumeConfirmation(_ context.Context, dc store.Confirmation, at time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.m[dc.Nonce]
	if !ok || old.Owner != dc.Owner || old.Tool != dc.Tool || old.Digest != dc.Digest || !old.ExpiresAt.After(at) {
		return false, nil
	}
	delete(c.m, dc.Nonce)
	return true, nil
}

func (c *memConfirmations) PruneConfirmations(context.Context, time.Time) (int64, error) {
	return 0, nil
}

// canonical re-encodes each raw value so whitespace and key order do not
// change the hash; numbers stay exact.
func canonical(args map[string]json.RawMessage) map[string]any {
	out := make(map[string]any, len(args))
	for k, v := range args {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		if dec.Decode(&x) == nil {
			out[k] = x
		}
	}
	return out
}

func boolArg(args map[string]json.RawMessage, name string) (value, present bool) {
	raw, ok := args[name]
	if !ok {
		return false, false
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return false, true // a non-boolean confirm is not a yes
	}
	return b, true
}

func isDraft(args map[string]json.RawMessage) bool {
	v, ok := boolArg(args, "publish")
	return ok && !v
}

// withoutArg returns req with the argument removed, so the tool's strict
// decoder (which refuses unknown arguments) never sees `confirm`.
func withoutArg(req mcp.CallToolRequest, args map[string]json.RawMessage, name string) mcp.CallToolRequest {
	rest := make(map[string]json.RawMessage, len(args))
	for k, v := range args {
		if k != name {
			rest[k] = v
		}
	}
	raw, _ := json.Marshal(rest)
	var plain map[string]any
	_ = json.Unmarshal(raw, &plain)
	req.Params.RawArguments = raw
	req.Params.Arguments = plain
	return req
}

// answeredNo: the form's confirm box was unticked before "accept".
func answeredNo(content any) bool {
	m, ok := content.(map[string]any)
	if !ok {
		return false
	}
	v, ok := m["confirm"].(bool)
	return ok && !v
}

func declined(action mcp.ElicitationResponseAction) *failure.Error {
	how := "declined"
	if action == mcp.ElicitationResponseActionCancel {
		how = "dismissed"
	}
	e := failure.New(failure.PermissionDenied, "The user "+how+" the confirmation: nothing was published or changed.")
	e.Action = "Do not repeat this call unless the user asks again; ask the user what to change."
	return e
}

// confirmMessage tells the user what exactly will happen, from the
// arguments: which tool, which account, which media and caption.
func confirmMessage(t Tool, args map[string]json.RawMessage) string {
	var b strings.Builder
	b.WriteString(confirmVerb(t))
	acct := "the default account"
	if a := stringArg(args, "account"); a != "" {
		acct = a
	}
	fmt.Fprintf(&b, " on Instagram as %s?", acct)
	// schedule_post nests the post's own arguments under "post".
	if raw, ok := args["post"]; ok {
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) == nil {
			merged := make(map[string]json.RawMessage, len(args)+len(inner))
			for k, v := range inner {
				merged[k] = v
			}
			for k, v := range args {
				merged[k] = v
			}
			args = merged
		}
	}
	for _, k := range []string{"kind", "publish_at", "action", "image_url", "video_url", "container_id", "media_id", "comment_id", "schedule_id"} {
		if v := stringArg(args, k); v != "" {
			fmt.Fprintf(&b, "\n%s: %s", k, clip(v, 200))
		}
	}
	if v, ok := boolArg(args, "enabled"); ok {
		fmt.Fprintf(&b, "\nenabled: %t", v)
	}
	if raw, ok := args["items"]; ok {
		var items []map[string]any
		if json.Unmarshal(raw, &items) == nil {
			fmt.Fprintf(&b, "\nitems: %d", len(items))
			for i, it := range items {
				for _, k := range []string{"image_url", "video_url"} {
					if v, ok := it[k].(string); ok && v != "" {
						fmt.Fprintf(&b, "\n  %d. %s", i+1, clip(v, 200))
					}
				}
			}
		}
	}
	for _, k := range []string{"caption", "message", "first_comment"} {
		if v := stringArg(args, k); v != "" {
			fmt.Fprintf(&b, "\n%s: %q", k, clip(v, 300))
		}
	}
	return b.String()
}

// confirmVerb says in words what a write tool does, for the dialog.
func confirmVerb(t Tool) string {
	switch t.Tool.Name {
	case "create_post":
		return "Publish an image post"
	case "create_carousel":
		return "Publish a carousel"
	case "publish_reel":
		return "Publish a Reel"
	case "publish_story":
		return "Publish a Story"
	case "publish_container":
		return "Publish a prepared container"
	case "reply_comment":
		return "Reply to a comment"
	case "create_comment":
		return "Comment on a media"
	case "moderate_comment":
		return "Hide, unhide or delete a comment"
	case "schedule_post":
		return "Schedule a post"
	case "cancel_scheduled_post":
		return "Cancel a scheduled post"
	case "delete_media":
		return "Delete this media from Instagram for good"
	case "set_comments_enabled":
		return "Turn comments on or off"
	case "search_hashtag":
		return "Search a hashtag (it counts against the 30 hashtags a week)"
	}
	return "Run " + t.Tool.Name
}

func stringArg(args map[string]json.RawMessage, name string) string {
	var s string
	if raw, ok := args[name]; ok && json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	return ""
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
