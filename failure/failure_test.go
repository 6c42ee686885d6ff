package failure_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
)

func TestClassifyGraphErrors(t *testing.T) {
	buc := graph.Usage{BUC: map[string][]graph.BUCUsage{"1784": {{Type: "instagram", CallCount: 100, EstimatedTimeToRegainAccess: 7}}}}
	cases := []struct {
		code, subcode, http int
		transient           bool
		usage               graph.Usage
		kind                failure.Kind
		retryable           bool
		retryAfter          int
	}{
		{code: 190, subcode: 463, kind: failure.AuthExpired},
		{code: 190, subcode: 460, kind: failure.AuthExpired},
		{code: 102, kind: failure.AuthExpired},
		{code: 10, kind: failure.PermissionDenied},
		{code: 200, http: 403, kind: failure.PermissionDenied},
		{code: 299, kind: failure.PermissionDenied},
		{code: 4, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 17, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 32, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 613, subcode: 1996, kind: failure.RateLimited, retryable: true, retryAfter: 300},
		{code: 80002, usage: buc, kind: failure.RateLimited, retryable: true, retryAfter: 420},
		{code: 4, subcode: 2207051, kind: failure.SpamBlocked},
		{code: 368, kind: failure.SpamBlocked},
		{code: 9, subcode: 2207042, kind: failure.PublishLimitReached, retryable: true, retryAfter: 3600},
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
		{code: 36004, subcode: 2207010, kind: failure.InvalidInput},
		{code: 100, subcode: 2207040, kind: failure.InvalidInput},
		{code: 100, subcode: 2207028, kind: failure.InvalidInput},
		{code: 1, subcode: 2207057, kind: failure.InvalidInput},
		{code: 100, subcode: 33, kind: failure.NotFound},
		{code: 1, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: 2, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: 12345, transient: true, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: 0, http: 502, kind: failure.Transient, retryable: true, retryAfter: 60},
		{code: 100, kind: failure.Upstream},
		{code: 12345, kind: failure.Upstream},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d_%d", tc.code, tc.subcode), func(t *testing.T) {
			ge := &graph.Error{HTTPStatus: 400, Code: tc.code, Subcode: tc.subcode, IsTransient: tc.transient, Usage: tc.usage, Message: "m", FBTraceID: "trace"}
			if tc.http != 0 {
				ge.HTTPStatus = tc.http
			}
			fe := failure.Classify(fmt.Errorf("wrapped: %w", ge))
			if fe.Kind != tc.kind || fe.Retryable != tc.retryable || fe.RetryAfter != tc.retryAfter {
				t.Fatalf("got kind=%s retryable=%v after=%d, want %s %v %d", fe.Kind, fe.Retryable, fe.RetryAfter, tc.kind, tc.retryable, tc.retryAfter)
			}
			if fe.Action == "" || fe.Message == "" {
				t.Fatalf("empty action or message: %+v", fe)
			}
			if fe.Graph == nil || fe.Graph.Code != tc.code || fe.Graph.Subcode != tc.subcode || fe.Graph.FBTraceID != "trace" {
				t.Fatalf("graph info: %+v", fe.Graph)
			}
			var back *graph.Error
			if !errors.As(fe, &back) {
				t.Fatal("the graph error is not kept as the cause")
			}
		})
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
