package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// elicitor answers confirmation dialogs as a user would, and remembers what
// it was shown.
type elicitor struct {
	action  mcp.ElicitationResponseAction
	content any
	mu      sync.Mutex
	asked   []string
}

func (e *elicitor) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	e.mu.Lock()
	e.asked = append(e.asked, req.Params.Message)
	e.mu.Unlock()
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: e.action, Content: e.content}}, nil
}

func (e *elicitor) messages() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.asked...)
}

func TestConfirm_AcceptPublishes(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			user := &elicitor{action: mcp.ElicitationResponseActionAccept, content: map[string]any{"confirm": true}}
			e := newMCPEnv(t, mcpEnvOpts{era: era, confirm: true, elicit: user})
			res := e.call(t, context.Background(), "create_post", map[string]any{"image_url": jpeg, "caption": "Launch day #igmcp"})
			m := mustOK(t, res)
			if m["status"] != "published" {
				t.Fatalf("result: %v", m)
			}
			asked := user.messages()
			if len(asked) != 1 {
				t.Fatalf("asked %d times, want once: %q", len(asked), asked)
			}
			for _, want := range []string{"Publish an image post", jpeg, "Launch day #igmcp", "default account"} {
				if !strings.Contains(asked[0], want) {
					t.Fatalf("confirmation %q does not show %q", asked[0], want)
				}
			}
			if n := len(e.fake.Published(brandA.ID)); n != 1 {
				t.Fatalf("published %d posts, want 1", n)
			}
		})
	}
}

func TestConfirm_DeclineOrCancelPublishesNothing(t *testing.T) {
	for _, era := range eras {
		for _, answer := range []struct {
			name    string
			action  mcp.ElicitationResponseAction
			content any
		}{
			{"decline", mcp.ElicitationResponseActionDecline, nil},
			{"cancel", mcp.ElicitationResponseActionCancel, nil},
			{"accept-unticked", mcp.ElicitationResponseActionAccept, map[string]any{"confirm": false}},
		} {
			t.Run(eraName(era)+"/"+answer.name, func(t *testing.T) {
				t.Parallel()
				user := &elicitor{action: answer.action, content: answer.content}
				e := newMCPEnv(t, mcpEnvOpts{era: era, confirm: true, elicit: user})
				res := e.call(t, context.Background(), "publish_reel", map[string]any{"video_url": mp4, "wait_seconds": 0})
				errObj := mustErr(t, res, "permission_denied")
				if errObj["retryable"] != false || !strings.Contains(errObj["message"].(string), "nothing was published") {
					t.Fatalf("decline error: %v", errObj)
				}
				if n := len(e.fake.Containers()); n != 0 {
					t.Fatalf("declined call created %d containers", n)
				}
			})
		}
	}
}

func TestConfirm_NoElicitation_RequiresConfirmArgument(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newMCPEnv(t, mcpEnvOpts{era: era, confirm: true}) // client without elicitation
			ctx := context.Background()
			errObj := mustErr(t, e.call(t, ctx, "create_post", map[string]any{"image_url": jpeg}), "invalid_input")
			if errObj["field"] != "confirm" || !strings.Contains(errObj["action"].(string), "confirm: true") {
				t.Fatalf("fallback error: %v", errObj)
			}
			if len(e.fake.Calls()) != 0 {
				t.Fatal("the refused call reached Instagram")
			}
			mustErr(t, e.call(t, ctx, "create_post", map[string]any{"image_url": jpeg, "confirm": false}), "invalid_input")
			m := mustOK(t, e.call(t, ctx, "create_post", map[string]any{"image_url": jpeg, "confirm": true}))
			if m["status"] != "published" {
				t.Fatalf("confirmed call: %v", m)
			}
		})
	}
}

func TestConfirm_ReadToolsAndDraftsAreNotAsked(t *testing.T) {
	t.Parallel()
	user := &elicitor{action: mcp.ElicitationResponseActionDecline}
	e := newMCPEnv(t, mcpEnvOpts{confirm: true, elicit: user})
	ctx := context.Background()
	m := mustOK(t, e.call(t, ctx, "create_post", map[string]any{"image_url": jpeg, "publish": false}))
	if m["status"] != "draft" {
		t.Fatalf("draft: %v", m)
	}
	mustOK(t, e.call(t, ctx, "get_container_status", map[string]any{"container_id": m["container_id"]}))
	if asked := user.messages(); len(asked) != 0 {
		t.Fatalf("asked for a draft or a read: %q", asked)
	}
	// Publishing the draft is a write: asked (and declined here).
	mustErr(t, e.call(t, ctx, "publish_container", map[string]any{"container_id": m["container_id"]}), "permission_denied")
	if asked := user.messages(); len(asked) != 1 || !strings.Contains(asked[0], m["container_id"].(string)) {
		t.Fatalf("publish_container confirmation: %q", asked)
	}
}

func TestConfirm_SchemaAdvertisesConfirmOnWriteToolsOnly(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		e := newMCPEnv(t, mcpEnvOpts{confirm: on})
		res, err := e.client.ListTools(context.Background(), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tl := range res.Tools {
			var schema struct {
				Properties map[string]json.RawMessage `json:"properties"`
			}
			raw, _ := json.Marshal(tl.InputSchema)
			if len(tl.RawInputSchema) > 0 {
				raw = tl.RawInputSchema
			}
			if err := json.Unmarshal(raw, &schema); err != nil {
				t.Fatal(err)
			}
			_, has := schema.Properties["confirm"]
			write := tl.Annotations.ReadOnlyHint != nil && !*tl.Annotations.ReadOnlyHint
			if has != (on && write) {
				t.Fatalf("confirm=%v: tool %s (write=%v) has confirm property: %v", on, tl.Name, write, has)
			}
		}
	}
}
