package graph

import (
	"fmt"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
)

func TestDeleteMedia(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/"+mediaID, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		testParams(t, testRequest(t, r, http.MethodDelete), map[string]string{})
		fmt.Fprintf(w, `{"success":true,"deleted_id":"%s"}`, mediaID)
	})
	if _, err := client.DeleteMedia(t.Context(), mediaID); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls", calls.Load())
	}
}

// A delete is a write: a 500 is not repeated, and Meta's refusal of a
// type arrives as -1/2207073.
func TestDeleteMedia_Errors(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t, WithRetryPolicy(RetryPolicy{MaxTries: 3, Initial: 1, Max: 1, MaxElapsed: 1e9}))
	var calls atomic.Int32
	mux.HandleFunc("/1", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"message":"An unexpected error has occurred.","code":2,"is_transient":true}}`)
	})
	mux.HandleFunc("/2", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"Media Type Not Supported","type":"OAuthException","code":-1,"error_subcode":2207073}}`)
	})
	if _, err := client.DeleteMedia(t.Context(), "1"); err == nil || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls, want an error after 1", err, calls.Load())
	}
	_, err := client.DeleteMedia(t.Context(), "2")
	testGraphError(t, err, -1, 2207073)
	if _, err := client.DeleteMedia(t.Context(), ""); err == nil {
		t.Fatal("empty id accepted")
	}
}

func TestSetCommentEnabled(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	want := "false"
	mux.HandleFunc("/"+mediaID, func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodPost), map[string]string{"comment_enabled": want})
		fmt.Fprint(w, `{"success":true}`)
	})
	if _, err := client.SetCommentEnabled(t.Context(), mediaID, false); err != nil {
		t.Fatal(err)
	}
	want = "true"
	if _, err := client.SetCommentEnabled(t.Context(), mediaID, true); err != nil {
		t.Fatal(err)
	}
}

func TestReplyToMention(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	var want map[string]string
	mux.HandleFunc("/"+igID+"/mentions", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodPost), want)
		fmt.Fprint(w, `{"id":"17846319838228163"}`)
	})
	want = map[string]string{"media_id": mediaID, "comment_id": commentID, "message": "Thanks for the dinosaur!"}
	got, _, err := client.ReplyToMention(t.Context(), igID, mediaID, commentID, "Thanks for the dinosaur!")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &Comment{ID: "17846319838228163", Text: "Thanks for the dinosaur!"}) {
		t.Errorf("got %+v", got)
	}
	// a caption mention: no comment_id at all
	want = map[string]string{"media_id": mediaID, "message": "hi"}
	if _, _, err := client.ReplyToMention(t.Context(), igID, mediaID, "", "hi"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][4]string{{"", mediaID, "", "m"}, {igID, "", "", "m"}, {igID, mediaID, "", ""}} {
		if _, _, err := client.ReplyToMention(t.Context(), args[0], args[1], args[2], args[3]); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestCollaborators(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+mediaID+"/collaborators", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodGet), map[string]string{})
		// Meta's sample answer, typo included, with one id as a number
		fmt.Fprint(w, `{"data":[{"id":"90010775360791","username":"realtest1","invite_status":"Accpeted"},{"id":17841449208283139,"username":"realtest2","invite_status":"Pending"}]}`)
	})
	got, _, err := client.Collaborators(t.Context(), mediaID)
	if err != nil {
		t.Fatal(err)
	}
	want := []Collaborator{{"90010775360791", "realtest1", "Accpeted"}, {"17841449208283139", "realtest2", "Pending"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
}
