package graph

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

const (
	igID        = "17841400000000001"
	containerID = "17900000000000001"
	mediaID     = "17920000000000001"
)

func TestCreateContainer(t *testing.T) {
	t.Parallel()
	offset, feed := 1500, false
	tests := []struct {
		name   string
		req    *ContainerRequest
		params map[string]string
		answer string
		want   *Container
	}{
		{
			name:   "single image, read-after-write honoured",
			req:    &ContainerRequest{ImageURL: "https://cdn.example.com/a.jpg", Caption: "Hello #world & <friends>", AltText: "a cat"},
			params: map[string]string{"image_url": "https://cdn.example.com/a.jpg", "caption": "Hello #world & <friends>", "alt_text": "a cat", "fields": "id,status_code,status"},
			answer: `{"id":"17900000000000001","status_code":"FINISHED","status":"Finished: Media has been uploaded and it is ready to be published."}`,
			want:   &Container{ID: containerID, StatusCode: StatusFinished, Status: "Finished: Media has been uploaded and it is ready to be published."},
		},
		{
			name:   "fields ignored: only id comes back",
			req:    &ContainerRequest{ImageURL: "https://cdn.example.com/a.jpg"},
			params: map[string]string{"image_url": "https://cdn.example.com/a.jpg", "fields": "id,status_code,status"},
			answer: `{"id":"17900000000000001"}`,
			want:   &Container{ID: containerID},
		},
		{
			name: "image with tags and collaborators",
			req: &ContainerRequest{
				ImageURL:      "https://cdn.example.com/b.jpg",
				LocationID:    "110843418940484",
				UserTags:      []UserTag{{Username: "alice", X: ptr(0.5), Y: ptr(0.8)}, {Username: "bob_<b>", X: ptr(0.0), Y: ptr(1.0)}},
				Collaborators: []string{"carol", "dave"},
			},
			params: map[string]string{
				"image_url":     "https://cdn.example.com/b.jpg",
				"location_id":   "110843418940484",
				"user_tags":     `[{"username":"alice","x":0.5,"y":0.8},{"username":"bob_<b>","x":0,"y":1}]`,
				"collaborators": `["carol","dave"]`,
				"fields":        "id,status_code,status",
			},
			answer: `{"id":"17900000000000001","status_code":"IN_PROGRESS"}`,
			want:   &Container{ID: containerID, StatusCode: StatusInProgress},
		},
		{
			name: "story with an unplaced tag and both labels",
			req: &ContainerRequest{
				MediaType: MediaTypeStories, ImageURL: "https://cdn.example.com/s.jpg",
				UserTags: []UserTag{{Username: "alice"}},
				Labels:   Labels{AIGenerated: true, PaidPartnership: true, SponsorIDs: []string{"17841400000000009"}},
			},
			params: map[string]string{
				"media_type": "STORIES", "image_url": "https://cdn.example.com/s.jpg",
				"user_tags":       `[{"username":"alice"}]`,
				"is_ai_generated": "true", "is_paid_partnership": "true",
				"branded_content_sponsor_ids": `["17841400000000009"]`,
				"fields":                      "id,status_code,status",
			},
			answer: `{"id":"17900000000000001"}`,
			want:   &Container{ID: containerID},
		},
		{
			name:   "carousel item",
			req:    &ContainerRequest{MediaType: MediaTypeVideo, VideoURL: "https://cdn.example.com/v.mp4", IsCarouselItem: true},
			params: map[string]string{"media_type": "VIDEO", "video_url": "https://cdn.example.com/v.mp4", "is_carousel_item": "true", "fields": "id,status_code,status"},
			answer: `{"id":"17900000000000001"}`,
			want:   &Container{ID: containerID},
		},
		{
			name:   "carousel parent",
			req:    &ContainerRequest{MediaType: MediaTypeCarousel, Children: []string{"1", "2", "3"}, Caption: "three"},
			params: map[string]string{"media_type": "CAROUSEL", "children": "1,2,3", "caption": "three", "fields": "id,status_code,status"},
			answer: `{"id":"17900000000000001"}`,
			want:   &Container{ID: containerID},
		},
		{
			name: "reel with every option",
			req: &ContainerRequest{
				MediaType: MediaTypeReels, VideoURL: "https://cdn.example.com/r.mp4", CoverURL: "https://cdn.example.com/c.jpg",
				ThumbOffset: &offset, ShareToFeed: &feed, AudioName: "my sound",
			},
			params: map[string]string{
				"media_type": "REELS", "video_url": "https://cdn.example.com/r.mp4", "cover_url": "https://cdn.example.com/c.jpg",
				"thumb_offset": "1500", "share_to_feed": "false", "audio_name": "my sound", "fields": "id,status_code,status",
			},
			answer: `{"id":"17900000000000001","status_code":"IN_PROGRESS","status":"In Progress: Media is still being processed."}`,
			want:   &Container{ID: containerID, StatusCode: StatusInProgress, Status: "In Progress: Media is still being processed."},
		},
		{
			name:   "resumable story asks no fields and keeps uri",
			req:    &ContainerRequest{MediaType: MediaTypeStories, UploadType: "resumable"},
			params: map[string]string{"media_type": "STORIES", "upload_type": "resumable"},
			answer: `{"id":"17900000000000001","uri":"https://rupload.facebook.com/ig-api-upload/v99.0/17900000000000001"}`,
			want:   &Container{ID: containerID, URI: "https://rupload.facebook.com/ig-api-upload/v99.0/17900000000000001"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			mux.HandleFunc("/"+igID+"/media", func(w http.ResponseWriter, r *http.Request) {
				testParams(t, testRequest(t, r, http.MethodPost), tt.params)
				fmt.Fprint(w, tt.answer)
			})
			got, resp, err := client.CreateContainer(t.Context(), igID, tt.req)
			if err != nil {
				t.Fatalf("CreateContainer: %v", err)
			}
			if resp == nil || resp.StatusCode != http.StatusOK {
				t.Errorf("resp = %v", resp)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CreateContainer = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCreateContainer_graphError(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+igID+"/media", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"Only photo or video can be accepted as media type.","type":"OAuthException","code":9004,"error_subcode":2207052,"is_transient":false,"error_user_title":"Media download has failed.","error_user_msg":"The media could not be fetched from this uri: https://x/a.jpg.","fbtrace_id":"Z"}}`)
	})
	got, resp, err := client.CreateContainer(t.Context(), igID, &ContainerRequest{ImageURL: "https://x/a.jpg"})
	ge := testGraphError(t, err, 9004, 2207052)
	if got != nil || resp == nil || resp.StatusCode != 400 {
		t.Errorf("got, resp = %v, %v", got, resp)
	}
	if ge.Path != "/"+igID+"/media" || ge.Method != http.MethodPost {
		t.Errorf("Method, Path = %q, %q", ge.Method, ge.Path)
	}
}

func TestGetContainer(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+containerID, func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodGet), map[string]string{"fields": "id,status_code,status"})
		fmt.Fprint(w, `{"status_code":"ERROR","status":"Error: Media upload has failed with error code 2207026","id":"17900000000000001"}`)
	})
	got, _, err := client.GetContainer(t.Context(), containerID)
	if err != nil {
		t.Fatal(err)
	}
	want := &Container{ID: containerID, StatusCode: StatusError, Status: "Error: Media upload has failed with error code 2207026"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetContainer = %+v, want %+v", got, want)
	}
	if got.ErrorSubcode() != 2207026 {
		t.Errorf("ErrorSubcode = %d", got.ErrorSubcode())
	}
}

func TestContainer_ErrorSubcode(t *testing.T) {
	t.Parallel()
	tests := map[string]int{
		"Error: Media upload has failed with error code 2207026":  2207026,
		"Error: Media upload has failed with error code 2207082.": 2207082,
		"In Progress: Media is still being processed.":            0,
		"Finished: Media has been uploaded":                       0,
		"":                                                        0,
		"Error: code 99999999999999999999999999":                  0,
	}
	for status, want := range tests {
		if got := (&Container{Status: status}).ErrorSubcode(); got != want {
			t.Errorf("ErrorSubcode(%q) = %d, want %d", status, got, want)
		}
	}
	if (*Container)(nil).ErrorSubcode() != 0 {
		t.Error("nil container")
	}
}

func TestPublish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer string
		want   *Media
	}{
		{"with permalink", `{"id":"17920000000000001","permalink":"https://www.instagram.com/p/DAbCdEf/"}`, &Media{ID: mediaID, Permalink: "https://www.instagram.com/p/DAbCdEf/"}},
		{"id only", `{"id":"17920000000000001"}`, &Media{ID: mediaID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			mux.HandleFunc("/"+igID+"/media_publish", func(w http.ResponseWriter, r *http.Request) {
				testParams(t, testRequest(t, r, http.MethodPost), map[string]string{"creation_id": containerID, "fields": "id,permalink"})
				fmt.Fprint(w, tt.answer)
			})
			got, _, err := client.Publish(t.Context(), igID, containerID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Publish = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPublish_errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status        int
		body          string
		code, subcode int
	}{
		{"not ready", 400, `{"error":{"message":"Media ID is not available","type":"OAuthException","code":9007,"error_subcode":2207027,"is_transient":false,"error_user_title":"Cannot Publish","error_user_msg":"The media is not ready for publishing, please wait for a moment","fbtrace_id":"x"}}`, 9007, 2207027},
		{"quota", 400, `{"error":{"message":"Application request limit reached","type":"OAuthException","code":9,"error_subcode":2207042,"fbtrace_id":"x"}}`, 9, 2207042},
		{"unknown container", 400, `{"error":{"message":"The media builder with creation id = 1 does not exist or has been expired.","type":"OAuthException","code":24,"error_subcode":2207008}}`, 24, 2207008},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			mux.HandleFunc("/"+igID+"/media_publish", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			got, _, err := client.Publish(t.Context(), igID, containerID)
			testGraphError(t, err, tt.code, tt.subcode)
			if got != nil {
				t.Errorf("media = %+v on error", got)
			}
		})
	}
	// A 2xx with no id cannot be trusted as published.
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+igID+"/media_publish", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"success":true}`)
	})
	if _, _, err := client.Publish(t.Context(), igID, containerID); err == nil {
		t.Error("Publish without id in answer: no error")
	}
}

func TestGetMedia(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields []string
		want   string
	}{
		{"default fields", nil, "id,media_type,media_product_type,caption,permalink,timestamp"},
		{"custom fields", []string{"id", "like_count", "children{media_url}"}, "id,like_count,children{media_url}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux, _ := setup(t)
			mux.HandleFunc("/"+mediaID, func(w http.ResponseWriter, r *http.Request) {
				testParams(t, testRequest(t, r, http.MethodGet), map[string]string{"fields": tt.want})
				fmt.Fprint(w, `{"id":"17920000000000001","media_type":"VIDEO","media_product_type":"REELS","caption":"hi","permalink":"https://www.instagram.com/reel/X/","timestamp":"2026-05-19T23:27:28+0000","like_count":3}`)
			})
			got, _, err := client.GetMedia(t.Context(), mediaID, tt.fields...)
			if err != nil {
				t.Fatal(err)
			}
			three := 3
			want := &Media{ID: mediaID, MediaType: "VIDEO", MediaProductType: "REELS", Caption: "hi", Permalink: "https://www.instagram.com/reel/X/", Timestamp: "2026-05-19T23:27:28+0000", LikeCount: &three}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("GetMedia = %+v, want %+v", got, want)
			}
		})
	}
}

func TestRecentMedia(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+igID+"/media", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodGet), map[string]string{"fields": defaultMediaFields, "limit": "10"})
		fmt.Fprint(w, `{"data":[{"id":"2","caption":"new","timestamp":"2026-05-19T23:27:28+0000","permalink":"https://www.instagram.com/p/B/"},{"id":"1"}],
		  "paging":{"cursors":{"before":"b","after":"a"},"next":"https://graph.facebook.com/v99.0/x/media?after=a"}}`)
	})
	got, resp, err := client.RecentMedia(t.Context(), igID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Caption != "new" || got[0].Permalink != "https://www.instagram.com/p/B/" || got[1].ID != "1" {
		t.Errorf("RecentMedia = %+v", got)
	}
	if resp.Paging == nil || resp.Paging.After != "a" || resp.Paging.Next == "" {
		t.Errorf("Paging = %+v", resp.Paging)
	}
	if _, _, err := client.RecentMedia(t.Context(), "", 1); err == nil {
		t.Error("empty id: no error")
	}
}

func TestRecentStories(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	mux.HandleFunc("/"+igID+"/stories", func(w http.ResponseWriter, r *http.Request) {
		testParams(t, testRequest(t, r, http.MethodGet), map[string]string{"fields": defaultMediaFields, "limit": "10"})
		fmt.Fprint(w, `{"data":[{"id":"9","media_type":"IMAGE","timestamp":"2026-05-19T23:27:28+0000","permalink":"https://www.instagram.com/stories/u/9/"}]}`)
	})
	got, _, err := client.RecentStories(t.Context(), igID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "9" || got[0].Timestamp == "" || got[0].Permalink == "" {
		t.Errorf("RecentStories = %+v", got)
	}
	if _, _, err := client.RecentStories(t.Context(), "", 1); err == nil {
		t.Error("empty id: no error")
	}
}

func ptr[T any](v T) *T { return &v }
