package graph

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

const pageID = "134895793791914"

func TestSubscribedApps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, answer string
		want         []SubscribedApp
	}{
		{"none", `{"data":[]}`, []SubscribedApp{}},
		{"Page edge", `{"data":[{"category":"Business","link":"https://example.com/","name":"igmcp","id":"1234567890","subscribed_fields":["feed","messages"]}]}`,
			[]SubscribedApp{{ID: "1234567890", Name: "igmcp", Fields: []string{"feed", "messages"}}}},
		{"app_id, numeric, field objects", `{"data":[{"app_id":1234567890,"subscribed_fields":[{"name":"comments","version":"v25.0"},"mentions",7,{"x":1}]}]}`,
			[]SubscribedApp{{ID: "1234567890", Fields: []string{"comments", "mentions"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			mux.HandleFunc("/"+pageID+"/subscribed_apps", func(w http.ResponseWriter, r *http.Request) {
				testParams(t, testRequest(t, r, http.MethodGet), map[string]string{})
				fmt.Fprint(w, tt.answer)
			})
			got, _, err := client.SubscribedApps(t.Context(), pageID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SubscribedApps = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSubscribeApp(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	calls := 0
	mux.HandleFunc("/me/subscribed_apps", func(w http.ResponseWriter, r *http.Request) {
		calls++
		testParams(t, testRequest(t, r, http.MethodPost), map[string]string{"subscribed_fields": "comments,live_comments,mentions"})
		fmt.Fprint(w, `{"success":true}`)
	})
	if _, err := client.SubscribeApp(t.Context(), "me", InstagramLoginWebhookFields); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{nil, {}, {"comments", ""}, {"comments&x=1"}, {"Comments"}, {"a,b"}} {
		if _, err := client.SubscribeApp(t.Context(), "me", bad); err == nil {
			t.Errorf("fields %q accepted", bad)
		}
	}
	if _, err := client.SubscribeApp(t.Context(), "", []string{"feed"}); err == nil {
		t.Error("empty object id accepted")
	}
	if calls != 1 {
		t.Errorf("%d requests sent, want 1 (bad arguments send nothing)", calls)
	}
}

func TestSubscribeAppRefused(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+pageID+"/subscribed_apps", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":{"message":"(#100) Param subscribed_fields[0] must be one of {feed, mention} - got \"comments\"","type":"OAuthException","code":100,"fbtrace_id":"x"}}`)
	})
	_, err := client.SubscribeApp(t.Context(), pageID, []string{"comments"})
	testGraphError(t, err, 100, 0)
	mux.HandleFunc("/1/subscribed_apps", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"success":false}`) })
	if _, err := client.SubscribeApp(t.Context(), "1", []string{"feed"}); err == nil {
		t.Error("success:false accepted")
	}
}
