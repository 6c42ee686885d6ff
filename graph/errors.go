package graph

import (
	"fmt"
	"time"
)

// Error is an error answer from the Graph API, decoded from the
// {"error":{...}} envelope (or the flat api.instagram.com OAuth shape).
type Error struct {
	HTTPStatus int
	Message    string
	Type       string
	Code       int
	// CodeName is the code when Meta sent a string rather than a number,
	// e.g. INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID (docs/graph-api.md
	// §2, §10.3); Code is 0 then.
	CodeName    string
	Subcode     int
	IsTransient bool
	UserTitle   string
	UserMsg     string
	FBTraceID   string
	// Usage holds the usage headers of the failed response; rate-limit
	// errors carry estimated_time_to_regain_access there.
	Usage Usage
	// Method and Path say which call failed; Path never has a query string.
	Method string
	Path   string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("graph: %s %s: (#%d", e.Method, e.Path, e.Code)
	if e.CodeName != "" {
		msg = fmt.Sprintf("graph: %s %s: (#%s", e.Method, e.Path, e.CodeName)
	}
	if e.Subcode != 0 {
		msg += fmt.Sprintf("/%d", e.Subcode)
	}
	return msg + ") " + e.Message
}

// RetryAfter is how long Meta says to wait before access returns (from the
// BUC header), 0 when it did not say.
func (e *Error) RetryAfter() time.Duration { return e.Usage.RegainAccessIn() }

// TransportError is a request that got no usable HTTP answer: a timeout,
// a refused or dropped connection, or a body that could not be read. For a
// write it means the request may or may not have taken effect.
type TransportError struct {
	Method string
	Path   string // no query string: it may hold appsecret_proof
	Err    error  // the cause, stripped of any URL
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("graph: %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// DecodeError is a 2xx answer whose body was not the JSON documented for it.
type DecodeError struct {
	Method string
	Path   string
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("graph: %s %s: unexpected response: %v", e.Method, e.Path, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// TokenError means no access token could be had for the request (none
// configured, or the token source failed to refresh). No request was sent.
type TokenError struct {
	Err error
}

func (e *TokenError) Error() string { return "graph: no usable access token: " + e.Err.Error() }

func (e *TokenError) Unwrap() error { return e.Err }

// Is lets errors.Is match a Graph error by code and subcode:
// errors.Is(err, &graph.Error{Code: 190}) matches any 190, and
// &graph.Error{Code: 9007, Subcode: 2207027} only that pair; CodeName
// matches a string code. Zero fields of the target are wildcards; a target
// with none set matches no error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil || (t.Code == 0 && t.Subcode == 0 && t.CodeName == "") {
		return false
	}
	return (t.Code == 0 || t.Code == e.Code) && (t.Subcode == 0 || t.Subcode == e.Subcode) &&
		(t.CodeName == "" || t.CodeName == e.CodeName)
}

// scrub removes the request's secrets from everything Graph wrote: a
// malformed-token error echoes the token in its message.
func (e *Error) scrub(secrets ...string) {
	for _, p := range []*string{&e.Message, &e.Type, &e.CodeName, &e.UserTitle, &e.UserMsg, &e.FBTraceID} {
		*p = Redact(scrub(*p, secrets...))
	}
}
