package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

type accountsDoc struct {
	Accounts []struct {
		ID              string `json:"id"`
		Username        string `json:"username"`
		PublishingLimit *struct {
			Used      int `json:"quota_usage"`
			Total     int `json:"quota_total"`
			Remaining int `json:"remaining"`
		} `json:"publishing_limit"`
		QuotaError map[string]any `json:"publishing_limit_error"`
	} `json:"accounts"`
	Error   map[string]any `json:"error"`
	Sandbox bool           `json:"sandbox"`
}

func readDoc(t *testing.T, ctx context.Context, c *client.Client, uri string) accountsDoc {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := c.ReadResource(ctx, req)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	if len(res.Contents) != 1 {
		t.Fatalf("read %s: %d contents", uri, len(res.Contents))
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok || tc.MIMEType != "application/json" {
		t.Fatalf("read %s: %#v", uri, res.Contents[0])
	}
	var doc accountsDoc
	if err := json.Unmarshal([]byte(tc.Text), &doc); err != nil {
		t.Fatalf("read %s: %v in %s", uri, err, tc.Text)
	}
	return doc
}

func TestResources_ListedAndReadWithQuota(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newMCPEnv(t, mcpEnvOpts{era: era, sandbox: true})
			ctx := context.Background()
			list, err := e.client.ListResources(ctx, mcp.ListResourcesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			// The accounts, and the MCP Apps views the tools link to.
			var uris []string
			for _, r := range list.Resources {
				uris = append(uris, r.URI)
				if r.Description == "" {
					t.Errorf("%s has no description", r.URI)
				}
			}
			if strings.Join(uris, " ") != "igmcp://accounts ui://igmcp/insights.html ui://igmcp/post-preview.html" {
				t.Fatalf("resources: %+v", list.Resources)
			}
			tpls, err := e.client.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(tpls.ResourceTemplates) != 1 {
				t.Fatalf("templates: %+v", tpls.ResourceTemplates)
			}

			doc := readDoc(t, ctx, e.client, "igmcp://accounts")
			if len(doc.Accounts) != 2 || doc.Error != nil || !doc.Sandbox {
				t.Fatalf("accounts: %+v", doc)
			}
			a := doc.Accounts[0]
			if a.ID != brandA.ID || a.Username != "brand_a" || a.PublishingLimit == nil || a.PublishingLimit.Total != 100 || a.PublishingLimit.Remaining != 100 {
				t.Fatalf("account: %+v", a)
			}

			mustOK(t, e.call(t, ctx, "create_post", map[string]any{"image_url": jpeg}))
			one := readDoc(t, ctx, e.client, "igmcp://accounts/brand_a")
			if len(one.Accounts) != 1 || one.Accounts[0].PublishingLimit.Used != 1 || one.Accounts[0].PublishingLimit.Remaining != 99 {
				t.Fatalf("after a post: %+v", one)
			}
			unknown := readDoc(t, ctx, e.client, "igmcp://accounts/nobody")
			if len(unknown.Accounts) != 0 || unknown.Error["kind"] != "invalid_input" {
				t.Fatalf("unknown account: %+v", unknown)
			}
		})
	}
}

func TestResources_ScopedTokenSeesOnlyItsAccounts(t *testing.T) {
	t.Parallel()
	e := newMCPEnv(t, mcpEnvOpts{})
	ctx := scope.With(context.Background(), &scope.Grant{Name: "team-b", Accounts: []string{"brand_b"}})
	doc := readDoc(t, ctx, e.client, "igmcp://accounts")
	if len(doc.Accounts) != 1 || doc.Accounts[0].Username != "brand_b" {
		t.Fatalf("scoped accounts: %+v", doc)
	}
	other := readDoc(t, ctx, e.client, "igmcp://accounts/brand_a")
	if len(other.Accounts) != 0 || other.Error["kind"] != "permission_denied" {
		t.Fatalf("other account through the template: %+v", other)
	}
}

func TestResources_NoTokenExplainsWhy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noToken: true})
	doc := readDoc(t, context.Background(), e.client, "igmcp://accounts")
	if len(doc.Accounts) != 0 || doc.Error["kind"] != "auth_expired" || doc.Error["action"] == "" {
		t.Fatalf("no token: %+v", doc)
	}
}

// Subscribers of the accounts resource hear that the quota moved after a
// publish (2025 protocol era: sessions and resources/subscribe).
func TestResources_SubscribersNotifiedAfterPublish(t *testing.T) {
	t.Parallel()
	e := newMCPEnv(t, mcpEnvOpts{era: mcp.LATEST_LEGACY_PROTOCOL_VERSION})
	ctx := context.Background()
	sub := mcp.SubscribeRequest{}
	sub.Params.URI = "igmcp://accounts"
	if err := e.client.Subscribe(ctx, sub); err != nil {
		t.Fatal(err)
	}
	e.call(t, ctx, "get_container_status", map[string]any{"container_id": "1"}) // a read: no update
	if n := len(e.notifications(string(mcp.MethodNotificationResourceUpdated))); n != 0 {
		t.Fatalf("%d updates without a publish", n)
	}
	mustOK(t, e.call(t, ctx, "create_post", map[string]any{"image_url": jpeg}))
	deadline := time.Now().Add(5 * time.Second)
	for len(e.notifications(string(mcp.MethodNotificationResourceUpdated))) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	notes := e.notifications(string(mcp.MethodNotificationResourceUpdated))
	if len(notes) != 1 || notes[0].Params.AdditionalFields["uri"] != "igmcp://accounts" {
		t.Fatalf("updates: %+v", notes)
	}
}

// With the replicas' signals (Deps.Signals), the subscribers of the
// accounts resources hear of a post that went live anywhere: the signal a
// publisher's store sends, which a post made by another replica or a
// background job sends as well. Both eras: resources/subscribe, and a
// 2026-07-28 listen stream.
func TestResources_PublishSignalNotifiesSubscribers(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newMCPEnv(t, mcpEnvOpts{era: era, signals: true})
			ctx := context.Background()
			if era == "" {
				stop, err := e.client.ListenAsync(ctx, mcp.SubscriptionFilter{ResourceSubscriptions: []string{tools.AccountsURI}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer stop()
				deadline := time.Now().Add(30 * time.Second)
				for len(e.notifications(string(mcp.MethodNotificationSubscriptionsAcknowledged))) == 0 {
					if time.Now().After(deadline) {
						t.Fatal("listen stream not acknowledged")
					}
					time.Sleep(5 * time.Millisecond)
				}
			} else {
				sub := mcp.SubscribeRequest{}
				sub.Params.URI = tools.AccountsURI
				if err := e.client.Subscribe(ctx, sub); err != nil {
					t.Fatal(err)
				}
			}
			// Another kind of signal is not a reason to re-read.
			if err := e.st.Signal(ctx, store.NoticeJob, "job_x"); err != nil {
				t.Fatal(err)
			}
			if err := e.st.Signal(ctx, store.NoticePublished, brandA.ID); err != nil {
				t.Fatal(err)
			}
			updates := func() []mcp.JSONRPCNotification {
				return e.notifications(string(mcp.MethodNotificationResourceUpdated))
			}
			deadline := time.Now().Add(30 * time.Second)
			for len(updates()) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no resources/updated after the publish signal")
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // a second, wrong one would be in by now
			notes := updates()
			if len(notes) != 1 || notes[0].Params.AdditionalFields["uri"] != tools.AccountsURI {
				t.Fatalf("updates: %+v", notes)
			}
		})
	}
}
