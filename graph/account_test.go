package graph

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

func TestPublishingLimit(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+igID+"/content_publishing_limit", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodGet), map[string]string{"fields": "quota_usage,config"})
		fmt.Fprint(w, `{"data":[{"quota_usage":2,"config":{"quota_total":50,"quota_duration":86400}}]}`)
	})
	got, _, err := client.PublishingLimit(t.Context(), igID)
	if err != nil {
		t.Fatal(err)
	}
	want := &PublishingLimit{QuotaUsage: 2, QuotaTotal: 50, QuotaDuration: 24 * time.Hour}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PublishingLimit = %+v, want %+v", got, want)
	}
}

func TestPublishingLimit_shapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    *PublishingLimit
		wantErr bool
	}{
		{"usage only", `{"data":[{"quota_usage":0}]}`, &PublishingLimit{}, false},
		{"numbers as strings", `{"data":[{"quota_usage":"7","config":{"quota_total":"100","quota_duration":"86400"}}]}`, &PublishingLimit{QuotaUsage: 7, QuotaTotal: 100, QuotaDuration: 24 * time.Hour}, false},
		{"empty data", `{"data":[]}`, nil, true},
		{"not a number", `{"data":[{"quota_usage":"many"}]}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			mux.HandleFunc("/"+igID+"/content_publishing_limit", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, tt.body)
			})
			got, _, err := client.PublishingLimit(t.Context(), igID)
			if tt.wantErr {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("err = %v, want *DecodeError", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PublishingLimit = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantID, wantUser string
		wantErr                      bool
	}{
		{"user_id", `{"user_id":"17841400000000001","username":"acme","id":"26000000000000001"}`, igID, "acme", false},
		{"numeric user_id", `{"user_id":17841400000000001,"username":"acme"}`, igID, "acme", false},
		{"fallback to id", `{"id":"17841400000000002","username":"acme"}`, "17841400000000002", "acme", false},
		{"no id at all", `{"username":"acme"}`, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
				testParams(t, testRequest(t, r, http.MethodGet), map[string]string{"fields": "user_id,username"})
				fmt.Fprint(w, tt.body)
			})
			id, user, resp, err := client.Me(t.Context())
			if tt.wantErr {
				var de *DecodeError
				if !errors.As(err, &de) || resp == nil {
					t.Fatalf("err = %v, want *DecodeError with response", err)
				}
				return
			}
			if err != nil || id != tt.wantID || user != tt.wantUser {
				t.Errorf("Me = %q, %q, %v; want %q, %q", id, user, err, tt.wantID, tt.wantUser)
			}
		})
	}
}

func TestPageAccounts(t *testing.T) {
	t.Parallel()
	client, mux, serverURL := setup(t)
	mux.HandleFunc("/me/accounts", func(w http.ResponseWriter, r *http.Request) {
		params := testRequest(t, r, http.MethodGet)
		after := params.Get("after")
		params.Del("after")
		testParams(t, params, map[string]string{"fields": "id,name,instagram_business_account{id,username}"})
		switch after {
		case "":
			fmt.Fprintf(w, `{"data":[
				{"id":"134895793791914","name":"Acme","instagram_business_account":{"id":"17841405822304914","username":"acme"}},
				{"id":"200","name":"No IG"}],
				"paging":{"cursors":{"before":"B1","after":"A1"},"next":"%s/next1"}}`, serverURL)
		case "A1":
			fmt.Fprint(w, `{"data":[{"id":"300","name":"Shop","instagram_business_account":{"id":"17841400000000003","username":"shop"}}],
				"paging":{"cursors":{"before":"B2","after":"A2"}}}`)
		default:
			t.Errorf("unexpected after=%q", after)
		}
	})
	got, resp, err := client.PageAccounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []PageAccount{
		{PageID: "134895793791914", PageName: "Acme", IGUserID: "17841405822304914", IGUsername: "acme"},
		{PageID: "300", PageName: "Shop", IGUserID: "17841400000000003", IGUsername: "shop"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PageAccounts = %+v\nwant %+v", got, want)
	}
	if resp.Paging == nil || resp.Paging.After != "A2" {
		t.Errorf("resp is not the last page's: %+v", resp.Paging)
	}
}

func TestPageAccounts_boundedAndCursorLoop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		sameAfter bool
		wantCalls int32
	}{
		{"endless next is cut at 10 pages", false, maxAccountPages},
		{"repeated cursor stops", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/me/accounts", func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				after := fmt.Sprint("A", n)
				if tt.sameAfter {
					after = "SAME"
				}
				fmt.Fprintf(w, `{"data":[{"id":"%d","name":"p","instagram_business_account":{"id":"ig%d"}}],"paging":{"cursors":{"after":%q},"next":"https://x/next"}}`, n, n, after)
			})
			got, _, err := client.PageAccounts(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if calls.Load() != tt.wantCalls || len(got) != int(tt.wantCalls) {
				t.Errorf("calls = %d, accounts = %d, want %d", calls.Load(), len(got), tt.wantCalls)
			}
		})
	}
}

func TestPageAccounts_errorOnLaterPage(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/me/accounts", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") == "" {
			fmt.Fprint(w, `{"data":[],"paging":{"cursors":{"after":"A1"},"next":"https://x/next"}}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4}}`)
	})
	got, resp, err := client.PageAccounts(t.Context())
	testGraphError(t, err, 4, 0)
	if got != nil || resp == nil {
		t.Errorf("got, resp = %v, %v", got, resp)
	}
}
