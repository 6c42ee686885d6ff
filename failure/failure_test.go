package failure_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
)

func TestClassifyGraphErrors(t *testing.T) {
	buc := graph.Usage{BUC: map[string][]graph.BUCUsage{"1784": {{Type: "instagram", CallCount: 100, EstimatedTimeToRegainAccess: 7}}}}
	const create = "POST /1784/media"
	cases := []struct {
		code, subcode, http int
		codeName            string
		transient           bool
		msg                 string // default "m"
		call                string // "METHOD /path"
		usage               graph.Usage
		kind                failure.Kind
		retryable           bool
		retryAfter          int
		field               string
	}{
		{code: 190, subcode: 463, kind: failure.AuthExpired},
		{code: 190, subcode: 460, kind: failure.AuthExpired},
		{code: 102, kind: failure.AuthExpired},
		{code: 10, kind: failure.PermissionDenied},
		{code: 10, msg: "(#10) Not enough viewers for the media to show insights", kind: failure.Upstream},
		{code: 3, kind: failure.PermissionDenied},
		{code: 200, http: 403, kind: failure.PermissionDenied},
		{code: 299, kind: failure.PermissionDenied},
		{codeName: "INSTAGRAM_PLATFORM_API__PERMISSION", kind: failure.PermissionDenied},
		{code: 4, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 17, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 32, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 341, transient: true, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 613, subcode: 1996, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 80001, transient: true, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 80002, usage: buc, kind: failure.RateLimited, retryable: true, retryAfter: 420},
		{code: 4, subcode: 2207051, kind: failure.SpamBlocked},
		{code: 368, transient: true, kind: failure.SpamBlocked},
		{code: 9, subcode: 2207042, kind: failure.PublishLimitReached, retryable: true, retryAfter: 3600},
		{code: 9, subcode: 2207042, call: create, kind: failure.PublishLimitReached, retryable: true, retryAfter: 3600},
		{code: 9, call: create, kind: failure.RateLimited, retryable: true, retryAfter: 3600},
		{code: 9, call: create, usage: buc, kind: failure.RateLimited, retryable: true, retryAfter: 420},
		{code: 9007, subcode: 2207027, kind: failure.ContainerNotReady, retryable: true, retryAfter: 30},
		{code: 24, subcode: 2207008, kind: failure.NotFound},
		{code: 24, subcode: 2207006, kind: failure.NotFound},
		{code: -2, subcode: 2207020, kind: failure.ContainerExpired},
		{code: 25, subcode: 2207050, kind: failure.PermissionDenied},
		{code: -2, subcode: 2207003, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: -1, subcode: 2207001, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: -1, subcode: 2207032, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: -1, subcode: 2207053, kind: failure.MediaRejected},
		{code: 9004, subcode: 2207052, kind: failure.MediaRejected},
		{code: 36000, subcode: 2207004, kind: failure.MediaRejected},
		{code: 36001, subcode: 2207005, kind: failure.MediaRejected},
		{code: 36003, subcode: 2207009, kind: failure.MediaRejected},
		{code: 352, subcode: 2207026, kind: failure.MediaRejected},
		{code: 36004, subcode: 2207010, kind: failure.InvalidInput, field: "caption"},
		{code: 100, subcode: 2207040, kind: failure.InvalidInput, field: "caption"},
		{code: 100, subcode: 2207028, kind: failure.InvalidInput, field: "items"},
		{code: 1, subcode: 2207057, call: create, kind: failure.InvalidInput, field: "thumb_offset"},
		{code: 1, subcode: 2207057, transient: true, call: create, kind: failure.InvalidInput, field: "thumb_offset"},
		{codeName: "INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID", call: create, kind: failure.InvalidInput, field: "location_id"},
		{codeName: "INSTAGRAM_PLATFORM_API__INVALID_PARAM", call: create, kind: failure.InvalidInput},
		{code: 100, subcode: 33, kind: failure.NotFound},
		{code: 1, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: 2, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: 12345, transient: true, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: 0, http: 502, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: 100, kind: failure.Upstream},
		{code: 12345, kind: failure.Upstream},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%d_%d%s_%s", tc.code, tc.subcode, tc.codeName, tc.call)
		t.Run(name, func(t *testing.T) {
			ge := &graph.Error{HTTPStatus: 400, Code: tc.code, CodeName: tc.codeName, Subcode: tc.subcode, IsTransient: tc.transient, Usage: tc.usage, Message: "m", FBTraceID: "trace"}
			if tc.http != 0 {
				ge.HTTPStatus = tc.http
			}
			if tc.msg != "" {
				ge.Message = tc.msg
			}
			ge.Method, ge.Path = "GET", "/1784"
			if tc.call != "" {
				ge.Method, ge.Path, _ = strings.Cut(tc.call, " ")
			}
			fe := failure.Classify(fmt.Errorf("wrapped: %w", ge))
			if fe.Kind != tc.kind || fe.Retryable != tc.retryable || fe.RetryAfter != tc.retryAfter || fe.Field != tc.field {
				t.Fatalf("got kind=%s retryable=%v after=%d field=%q, want %s %v %d %q", fe.Kind, fe.Retryable, fe.RetryAfter, fe.Field, tc.kind, tc.retryable, tc.retryAfter, tc.field)
			}
			if fe.Action == "" || fe.Message == "" {
				t.Fatalf("empty action or message: %+v", fe)
			}
			if fe.Graph == nil || fe.Graph.Code != tc.code || fe.Graph.Subcode != tc.subcode || fe.Graph.CodeName != tc.codeName || fe.Graph.FBTraceID != "trace" {
				t.Fatalf("graph info: %+v", fe.Graph)
			}
			var back *graph.Error
			if !errors.As(fe, &back) {
				t.Fatal("the graph error is not kept as the cause")
			}
		})
	}
}

// The 400-containers limit has its own words, not the publishing quota's.
func TestClassifyContainerLimit(t *testing.T) {
	quota := failure.Classify(&graph.Error{HTTPStatus: 400, Code: 9, Subcode: 2207042, Message: "m", Method: "POST", Path: "/1784/media_publish"})
	limit := failure.Classify(&graph.Error{HTTPStatus: 400, Code: 9, Message: "m", Method: "POST", Path: "/1784/media"})
	if !strings.Contains(limit.Message, "400 media containers") || !strings.Contains(limit.Action, "Containers count when created") || !strings.Contains(limit.Action, "1 hour") && !strings.Contains(limit.Action, "60 minutes") {
		t.Errorf("container limit: %+v", limit)
	}
	if limit.Action == quota.Action || strings.Contains(limit.Action, "publishing quota") || strings.Contains(quota.Message, "container") {
		t.Errorf("container limit reuses the quota text:\n%+v\n%+v", limit, quota)
	}
}

// A Story Instagram refuses for the account: permission_denied that says
// why, whatever Meta's code.
func TestClassifyStoryRefused(t *testing.T) {
	for _, ge := range []*graph.Error{
		{HTTPStatus: 400, Code: 10, Message: "(#10) Application does not have permission for this action", FBTraceID: "t"},
		{HTTPStatus: 400, Code: 100, Subcode: 2207023, Message: "The media type is not supported", FBTraceID: "t"},
	} {
		fe := failure.Classify(fmt.Errorf("create: %w", &graph.StoryRefusedError{Err: ge}))
		if fe.Kind != failure.PermissionDenied || fe.Retryable || fe.Field != "" || !strings.Contains(fe.Message, "Story") ||
			!strings.Contains(fe.Message, "Creator") || !strings.Contains(fe.Action, "Business account") || fe.Graph == nil || fe.Graph.Code != ge.Code {
			t.Errorf("%d/%d: %+v", ge.Code, ge.Subcode, fe)
		}
		var back *graph.Error
		if !errors.As(fe, &back) || back != ge {
			t.Error("Meta's error is not kept as the cause")
		}
	}
}

func TestClassifyOtherErrors(t *testing.T) {
	cases := []struct {
		err  error
		kind failure.Kind
	}{
		{&graph.TransportError{Method: "POST", Path: "/1/media", Err: errors.New("connection reset")}, failure.Transient},
		{&graph.TokenError{Err: errors.New("refresh failed")}, failure.AuthExpired},
		{context.Canceled, failure.Transient},
		{context.DeadlineExceeded, failure.Transient},
		{errors.New("boom"), failure.Upstream},
		{failure.Invalid("caption", "too long"), failure.InvalidInput},
	}
	for _, tc := range cases {
		if got := failure.Classify(tc.err); got.Kind != tc.kind || got.Action == "" {
			t.Errorf("%v: got %s (%q), want %s", tc.err, got.Kind, got.Action, tc.kind)
		}
	}
	// Only the retryable kinds are retryable; outcome_unknown never is.
	if failure.New(failure.OutcomeUnknown, "x").Retryable {
		t.Error("outcome_unknown is retryable")
	}
}
