package graph

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

const commentID = "17870000000000001"

func TestCreateComment(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+mediaID+"/comments", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodPost), map[string]string{"message": "First! & more ✨"})
		fmt.Fprint(w, `{"id":"17870000000000001"}`)
	})
	got, _, err := client.CreateComment(t.Context(), mediaID, "First! & more ✨")
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Comment{ID: commentID, Text: "First! & more ✨"}); !reflect.DeepEqual(got, want) {
		t.Errorf("CreateComment = %+v, want %+v", got, want)
	}
}

func TestReplyComment(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+commentID+"/replies", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodPost), map[string]string{"message": "thanks"})
		fmt.Fprint(w, `{"id":"17870000000000002"}`)
	})
	got, _, err := client.ReplyComment(t.Context(), commentID, "thanks")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "17870000000000002" || got.Text != "thanks" {
		t.Errorf("ReplyComment = %+v", got)
	}
}

func TestListComments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   *ListCommentsOptions
		params map[string]string
	}{
		{"defaults", nil, map[string]string{"fields": defaultCommentFields}},
		{
			"every option",
			&ListCommentsOptions{Fields: []string{"id", "text"}, Limit: 50, After: "QVFIUk", Before: "QVFIUm"},
			map[string]string{"fields": "id,text", "limit": "50", "after": "QVFIUk", "before": "QVFIUm"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			mux.HandleFunc("/"+mediaID+"/comments", func(w http.ResponseWriter, r *http.Request) {
				testParams(t, testRequest(t, r, http.MethodGet), tt.params)
				fmt.Fprint(w, `{"data":[
					{"timestamp":"2017-05-19T23:27:28+0000","text":"nice","id":"1","username":"alice","from":{"id":"9","username":"alice"},"hidden":false},
					{"timestamp":"2017-05-19T23:20:00+0000","text":"wow","id":"2","username":"bob"}],
				"paging":{"cursors":{"before":"QVFIUm","after":"QVFIUk"},"next":"https://graph.facebook.com/v99.0/1/comments?access_token=EAAB&limit=2&after=QVFIUk"}}`)
			})
			got, resp, err := client.ListComments(t.Context(), mediaID, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].ID != "1" || got[0].From == nil || got[0].From.Username != "alice" || got[1].Text != "wow" {
				t.Errorf("ListComments = %+v", got)
			}
			want := &Paging{Before: "QVFIUm", After: "QVFIUk", Next: "https://graph.facebook.com/v99.0/1/comments?access_token=REDACTED&limit=2&after=QVFIUk"}
			if !reflect.DeepEqual(resp.Paging, want) {
				t.Errorf("Paging = %+v, want %+v", resp.Paging, want)
			}
		})
	}
}

func TestListComments_lastPage(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+mediaID+"/comments", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":[]}`)
	})
	got, resp, err := client.ListComments(t.Context(), mediaID, nil)
	if err != nil || len(got) != 0 || resp.Paging != nil {
		t.Errorf("ListComments = %v, %+v, %v", got, resp.Paging, err)
	}
}

func TestListReplies(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+commentID+"/replies", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodGet), map[string]string{"fields": defaultCommentFields, "limit": "10"})
		fmt.Fprint(w, `{"data":[{"id":"3","text":"reply","parent_id":"17870000000000001"}],"paging":{"cursors":{"before":"b","after":"a"}}}`)
	})
	got, resp, err := client.ListReplies(t.Context(), commentID, &ListCommentsOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ParentID != commentID {
		t.Errorf("ListReplies = %+v", got)
	}
	if want := (&Paging{Before: "b", After: "a"}); !reflect.DeepEqual(resp.Paging, want) {
		t.Errorf("Paging = %+v, want %+v", resp.Paging, want)
	}
}

func TestHideComment(t *testing.T) {
	t.Parallel()
	for _, hide := range []bool{true, false} {
		t.Run(fmt.Sprint(hide), func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			mux.HandleFunc("/"+commentID, func(w http.ResponseWriter, r *http.Request) {
				testParams(t, testRequest(t, r, http.MethodPost), map[string]string{"hide": fmt.Sprint(hide)})
				fmt.Fprint(w, `{"success":true}`)
			})
			if _, err := client.HideComment(t.Context(), commentID, hide); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDeleteComment(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+commentID, func(w http.ResponseWriter, r *http.Request) {
		// DELETE carries appsecret_proof in the query string.
		testParams(t, testRequest(t, r, http.MethodDelete), map[string]string{})
		fmt.Fprint(w, `{"success":true}`)
	})
	if _, err := client.DeleteComment(t.Context(), commentID); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteComment_successFalse(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+commentID, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"success":false}`)
	})
	_, err := client.DeleteComment(t.Context(), commentID)
	if err == nil {
		t.Fatal("success=false: no error")
	}
}
