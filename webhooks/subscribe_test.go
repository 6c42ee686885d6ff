package webhooks_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/webhooks"
)

func graphClient(t *testing.T, base, token string) *graph.Client {
	t.Helper()
	c, err := graph.NewClient(graph.WithBaseURL(base), graph.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Against the simulated Graph API: each login flow is subscribed where
// Meta wants it (the account, or its Page), and Status reads it back.
func TestSubscribeAndStatus(t *testing.T) {
	t.Parallel()
	ig := fakegraph.Account{ID: "17841400000000042", Username: "ig_creator", Token: "IGAAx", Login: fakegraph.LoginInstagram}
	for _, tc := range []struct {
		acct   fakegraph.Account
		login  auth.Login
		fields []string
	}{
		{ig, auth.LoginInstagram, []string{"comments", "live_comments", "mentions"}},
		{fakegraph.DefaultAccount, auth.LoginFacebook, []string{"feed"}},
	} {
		t.Run(string(tc.login), func(t *testing.T) {
			t.Parallel()
			fake := fakegraph.New(fakegraph.Options{Accounts: []fakegraph.Account{tc.acct}})
			base, stop := fake.Start()
			defer stop()
			c := graphClient(t, base, tc.acct.Token)
			ctx := t.Context()
			before, err := webhooks.Status(ctx, c, tc.acct.ID, tc.login, webhooks.SubscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if before.Subscribed || before.OK() || !slices.Equal(before.Missing, tc.fields) {
				t.Fatalf("before: %+v", before)
			}
			after, err := webhooks.Subscribe(ctx, c, tc.acct.ID, tc.login, webhooks.SubscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !after.OK() || !slices.Equal(after.Fields, tc.fields) || !slices.Equal(fake.Subscribed(tc.acct.ID), tc.fields) {
				t.Fatalf("after: %+v; fake has %v", after, fake.Subscribed(tc.acct.ID))
			}
			if (tc.login == auth.LoginFacebook) != strings.Contains(after.Note, "dashboard") || after.Object == "" {
				t.Errorf("object %q note %q", after.Object, after.Note)
			}
			if _, err := webhooks.Status(ctx, c, "17841499999999999", tc.login, webhooks.SubscribeOptions{}); tc.login == auth.LoginFacebook && err == nil {
				t.Error("an account without a Page of this token was located")
			}
		})
	}
}

// Facebook Login: the Page's token, when Instagram hands it out, is the
// one the subscription calls carry; and with several apps subscribed,
// only INSTAGRAM_APP_ID says which is this one.
func TestSubscribe_PageToken(t *testing.T) {
	t.Parallel()
	const (
		userToken = "EAAuser"
		pageToken = "EAApage-secret"
		pageID    = "100200300"
		igID      = "17841400000000001"
	)
	var mu sync.Mutex
	var tokens []string
	mux := http.NewServeMux()
	mux.HandleFunc("/v25.0/me/accounts", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"data":[{"id":"%s","name":"P","instagram_business_account":{"id":"%s","username":"u"}}]}`, pageID, igID)
	})
	mux.HandleFunc("/v25.0/"+pageID, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fields") != "access_token" || r.Header.Get("Authorization") != "Bearer "+userToken {
			t.Errorf("page read %s %s", r.URL.RawQuery, r.Header.Get("Authorization"))
		}
		fmt.Fprintf(w, `{"id":"%s","access_token":"%s"}`, pageID, pageToken)
	})
	mux.HandleFunc("/v25.0/"+pageID+"/subscribed_apps", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.Method+" "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		mu.Unlock()
		if r.Method == http.MethodPost {
			fmt.Fprint(w, `{"success":true}`)
			return
		}
		fmt.Fprint(w, `{"data":[{"id":"111","name":"other","subscribed_fields":["feed"]},{"id":"222","name":"igmcp","subscribed_fields":[{"name":"feed","version":"v25.0"}]}]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := graphClient(t, srv.URL, userToken)
	var made []string
	o := webhooks.SubscribeOptions{AppID: "222", PageClient: func(tok string) (*graph.Client, error) {
		made = append(made, tok)
		return graphClient(t, srv.URL, tok), nil
	}}
	sub, err := webhooks.Subscribe(t.Context(), c, igID, auth.LoginFacebook, o)
	if err != nil {
		t.Fatal(err)
	}
	if !sub.OK() || sub.Object != pageID || !slices.Equal(made, []string{pageToken}) || sub.AppID != "222" || !slices.Equal(sub.OtherApps, []string{"111"}) {
		t.Fatalf("subscription %+v, page clients %v", sub, made)
	}
	if want := []string{"POST " + pageToken, "GET " + pageToken}; !slices.Equal(tokens, want) {
		t.Fatalf("subscribed_apps calls %v, want %v", tokens, want)
	}
	if strings.Contains(fmt.Sprintf("%+v", sub), pageToken) {
		t.Fatal("the Page token is in the result")
	}
	// Without the app id the entry cannot be told apart: not claimed.
	st, err := webhooks.Status(t.Context(), c, igID, auth.LoginFacebook, webhooks.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Subscribed || st.AppID != "" || !slices.Equal(st.OtherApps, []string{"111", "222"}) || !strings.Contains(st.Note, "INSTAGRAM_APP_ID") {
		t.Fatalf("status without app id: %+v", st)
	}
}
