package graph

import (
	"net/http"
	"strings"
)

// What Meta's error codes mean (docs/graph-api.md §4, §10), in one place:
// failure (the error kinds agents see), ratelimit (the governor) and the
// retry policy below all ask these predicates instead of listing codes.
// Subcodes win over codes, because Meta reuses codes: 4 is both the app's
// rate limit and, with 2207051, a spam block.

// String codes Meta sends in place of a number (docs/graph-api.md §2, §10.3).
const (
	CodeInvalidLocationID  = "INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID"
	CodePartnerPermission  = "INSTAGRAM_PLATFORM_API__PERMISSION"
	CodePartnerInvalidParm = "INSTAGRAM_PLATFORM_API__INVALID_PARAM"
)

// IsSpamBlock: Instagram blocked the action as suspected spam or abuse (368,
// or subcode 2207051 under code 4). Repeating it prolongs the block.
func (e *Error) IsSpamBlock() bool {
	return e != nil && (e.Code == 368 || e.Subcode == 2207051)
}

// IsRateLimit: a call budget is used up — the app's (4, 341), the user's
// (17), a Page's (32, 80001), a custom one (613) or the Instagram account's
// BUC (80002). Calls succeed again once the window rolls on; the governor
// waits that out instead of retrying.
func (e *Error) IsRateLimit() bool {
	if e == nil || e.IsSpamBlock() {
		return false
	}
	switch e.Code {
	case 4, 17, 32, 341, 613, 80001, 80002:
		return true
	}
	return false
}

// IsAppRateLimit: the rate limit is the Meta app's, shared by every account
// it serves: (#4) "Application request limit reached" and (#341)
// "Application limit reached".
func (e *Error) IsAppRateLimit() bool {
	return e.IsRateLimit() && (e.Code == 4 || e.Code == 341)
}

// IsAuth: the access token is expired, revoked or invalid (190, 102); only
// a refresh or a new login helps.
func (e *Error) IsAuth() bool {
	return e != nil && (e.Code == 190 || e.Code == 102)
}

// IsNotEnoughViewers: "(#10) Not enough viewers for the media to show
// insights" — a Story seen by fewer than 5 accounts has no insights yet
// (docs/graph-api.md §8.1). It shares code 10 with missing permissions and
// has no subcode, so the documented message is the only thing that tells
// them apart.
func (e *Error) IsNotEnoughViewers() bool {
	return e != nil && e.Code == 10 && strings.Contains(strings.ToLower(e.Message), "not enough viewers")
}

// IsPermission: the app, token or account may not do this — a missing
// permission or capability (3, 10, 200–299), the partnership-label
// permission string code, or a restricted account (2207050).
func (e *Error) IsPermission() bool {
	if e == nil || e.IsNotEnoughViewers() {
		return false
	}
	return e.Code == 3 || e.Code == 10 || (e.Code >= 200 && e.Code <= 299) ||
		e.CodeName == CodePartnerPermission || e.Subcode == 2207050
}

// IsPublishQuota: the account used its rolling 24-hour publishing quota
// (9/2207042, docs/graph-api.md §5).
func (e *Error) IsPublishQuota() bool {
	return e != nil && (e.Subcode == 2207042 || (e.Code == 9 && !e.IsContainerLimit()))
}

// IsContainerLimit: the account created 400 containers in the last 24
// hours (docs/graph-api.md §2). Meta documents the limit but not its error;
// we assume what the sandbox answers — code 9 (as for the publishing quota)
// without the quota's subcode 2207042, on container creation (POST
// /{ig-user-id}/media). Any other answer falls back to the generic kinds.
func (e *Error) IsContainerLimit() bool {
	return e != nil && e.Code == 9 && e.Subcode != 2207042 &&
		e.Method == http.MethodPost && strings.HasSuffix(e.Path, "/media")
}

// IsNotReady: media_publish on a container that is still processing
// (9007/2207027): poll its status, then publish.
func (e *Error) IsNotReady() bool {
	return e != nil && (e.Subcode == 2207027 || e.Code == 9007)
}

// inputParams are the documented refusals of one request argument, keyed by
// subcode, with the Graph parameter at fault ("" when it is the request as a
// whole).
var inputParams = map[int]string{
	2207057: "thumb_offset",  // 1: thumbnail offset out of the video's range
	2207010: "caption",       // 36004: caption too long / too many hashtags
	2207040: "caption",       // 100: more than 20 @ tags
	2207028: "children",      // 100: a carousel needs 2 to 10 items
	2207023: "media_type",    // 100: unknown media type
	2207018: "collaborators", // 100: collaborator with a leading @ (observed)
	2207035: "product_tags",  // 100: product tag position
	2207036: "product_tags",  // 100: product tag validity
	2207037: "product_tags",  // 100: product tags
}

// InvalidParam reports whether Meta refused an argument of the request
// (documented input codes, docs/graph-api.md §10.3) and which Graph
// parameter it was ("" when Meta does not say). Such a request fails the
// same way every time: it is never retried.
func (e *Error) InvalidParam() (param string, ok bool) {
	if e == nil {
		return "", false
	}
	if p, ok := inputParams[e.Subcode]; ok {
		return p, true
	}
	switch {
	case e.CodeName == CodeInvalidLocationID:
		return "location_id", true
	case e.CodeName == CodePartnerInvalidParm:
		return "", true
	case e.Code == 36004:
		return "caption", true
	}
	return "", false
}

// transientSubcodes are the publishing errors Meta documents as "try again"
// (docs/graph-api.md §10.3): server error, creation failed, media download
// timed out.
var transientSubcodes = map[int]bool{2207001: true, 2207032: true, 2207003: true}

// IsTemporary: Instagram failed on its side and the same request may
// succeed if sent again soon — a documented transient subcode, the generic
// codes 1, 2, -1 and -2 without a subcode (API unknown / service), an
// answer marked is_transient, or a 5xx. Never a rate limit or a spam block
// (waiting is the cure, and a repeat spends budget or prolongs the block),
// an auth or permission refusal, or a refusal of the request's arguments:
// code 1 with a documented subcode (1/2207057, a bad thumb_offset) is an
// input error, not an outage.
func (e *Error) IsTemporary() bool {
	if e == nil || e.IsRateLimit() || e.IsSpamBlock() || e.IsAuth() || e.IsPermission() || e.IsNotEnoughViewers() {
		return false
	}
	if _, bad := e.InvalidParam(); bad {
		return false
	}
	if transientSubcodes[e.Subcode] {
		return true
	}
	switch e.Code {
	case 1, 2, -1, -2:
		if e.Subcode == 0 {
			return true
		}
	}
	return e.IsTransient || e.HTTPStatus >= http.StatusInternalServerError
}
