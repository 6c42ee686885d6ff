package fakegraph

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// apiError is a Graph error answer (the {"error":{...}} envelope).
type apiError struct {
	status    int
	Message   string
	Type      string
	Code      int
	CodeName  string // a string code sent in place of Code (INSTAGRAM_PLATFORM_API__…)
	Subcode   int
	Transient *bool // nil: is_transient omitted
	UserTitle string
	UserMsg   string
	wwwAuth   string // WWW-Authenticate value
}

type errorBody struct {
	Message     string `json:"message"`
	Type        string `json:"type"`
	Code        any    `json:"code"` // a number, or a string code
	Subcode     int    `json:"error_subcode,omitempty"`
	IsTransient *bool  `json:"is_transient,omitempty"`
	UserTitle   string `json:"error_user_title,omitempty"`
	UserMsg     string `json:"error_user_msg,omitempty"`
	FBTraceID   string `json:"fbtrace_id"`
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	status := e.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	typ := e.Type
	if typ == "" {
		typ = "OAuthException"
	}
	if e.wwwAuth != "" {
		w.Header().Set("WWW-Authenticate", e.wwwAuth)
	}
	var code any = e.Code
	if e.CodeName != "" {
		code = e.CodeName
	}
	writeJSON(w, status, map[string]any{"error": errorBody{
		Message: e.Message, Type: typ, Code: code, Subcode: e.Subcode,
		IsTransient: e.Transient, UserTitle: e.UserTitle, UserMsg: e.UserMsg,
		FBTraceID: traceID(),
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1}}`)
		status = 500
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// traceID is a random fbtrace_id like "A6LJylpZRKw2xKLFsAP-cJh".
func traceID() string {
	var b [17]byte
	_, _ = rand.Read(b[:])
	return "A" + base64.RawURLEncoding.EncodeToString(b[:])[:22]
}

func boolp(b bool) *bool { return &b }

// --- constructors for the errors the fake answers ---------------------------

func errParam(format string, args ...any) *apiError {
	return &apiError{Code: 100, Message: "(#100) " + fmt.Sprintf(format, args...)}
}

func errRequired(name string) *apiError {
	return errParam("The parameter %s is required", name)
}

func errNotAllowed(name, what string) *apiError {
	return errParam("Param %s is not allowed for %s", name, what)
}

// errUnsupported is 100/33 "Unsupported get request. Object with ID ..." —
// the answer for unknown objects and objects the token may not see.
func errUnsupported(method, id string) *apiError {
	verb := "get"
	switch method {
	case http.MethodPost:
		verb = "post"
	case http.MethodDelete:
		verb = "delete"
	}
	return &apiError{Code: 100, Subcode: 33, Type: "GraphMethodException", Message: fmt.Sprintf(
		"Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", verb, id)}
}

func errUnknownPath(rest string) *apiError {
	return &apiError{Code: 2500, Message: "Unknown path components: " + rest}
}

func errNoField(field, node string) *apiError {
	return errParam("Tried accessing nonexisting field (%s) on node type (%s)", field, node)
}

func errNoToken() *apiError {
	msg := "An active access token must be used to query information about the current user."
	return &apiError{Code: 2500, Message: msg, wwwAuth: `OAuth "Facebook Platform" "invalid_request" "` + msg + `"`}
}

func errBadToken() *apiError {
	msg := "Invalid OAuth access token - Cannot parse access token"
	return &apiError{Code: 190, Subcode: 467, Message: msg, wwwAuth: `OAuth "Facebook Platform" "invalid_token" "` + msg + `"`}
}

var pacific = func() *time.Location {
	if l, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		return l
	}
	return time.UTC
}()

func errExpiredToken(expiry, now time.Time) *apiError {
	const layout = "Monday, 02-Jan-06 15:04:05 MST"
	msg := fmt.Sprintf("Error validating access token: Session has expired on %s. The current time is %s.",
		expiry.In(pacific).Format(layout), now.In(pacific).Format(layout))
	return &apiError{Code: 190, Subcode: 463, Message: msg, wwwAuth: `OAuth "Facebook Platform" "invalid_token" "` + msg + `"`}
}

func errProofMissing() *apiError {
	return &apiError{Code: 100, Type: "GraphMethodException", Message: "API calls from the server require an appsecret_proof argument"}
}

func errProofInvalid() *apiError {
	return &apiError{Code: 100, Type: "GraphMethodException", Message: "Invalid appsecret_proof provided in the API argument"}
}

func errBUC() *apiError {
	return &apiError{Code: 80002, Transient: boolp(true),
		Message: "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again."}
}

// errIG is an Instagram publishing error (2207xxx subcodes, §10.3), always
// with is_transient.
func errIG(code, subcode int, msg, title, userMsg string, transient bool) *apiError {
	return &apiError{Code: code, Subcode: subcode, Message: msg, UserTitle: title, UserMsg: userMsg, Transient: boolp(transient)}
}

func errBuilderMissing(id string) *apiError {
	return errIG(24, 2207008, fmt.Sprintf("The media builder with creation id = %s does not exist or has been expired.", id),
		"Media builder expired", "The media builder does not exist or has expired. Please try again.", false)
}

func errNotReady() *apiError {
	// Observed real body: message "Media ID is not available", title
	// "Cannot Publish"; the documented text goes in error_user_msg.
	return errIG(9007, 2207027, "Media ID is not available", "Cannot Publish",
		"The media is not ready for publishing, please wait for a moment", false)
}

func errMediaExpired() *apiError {
	return errIG(-2, 2207020, "The media you are trying to access has expired. Please try to upload again.",
		"Media expired", "The media you are trying to access has expired. Please try to upload again.", false)
}

func errQuota() *apiError {
	return errIG(9, 2207042, "You reached maximum number of posts that is allowed to be published by Content Publishing API.",
		"Publishing limit reached", "You reached maximum number of posts that is allowed to be published by Content Publishing API.", false)
}

// mediaErrors maps documented media subcodes to their code and message
// (error-codes reference, §10.3).
var mediaErrors = map[int]struct {
	code int
	msg  string
}{
	2207001: {-1, "Instagram server error."},
	2207003: {-2, "It takes too long to download the media."},
	2207004: {36000, "The image is too large to download. It should be less than 8 MiB."},
	2207005: {36001, "The image format is not supported. Supported formats are: JPEG."},
	2207006: {24, "The media cannot be found."},
	2207009: {36003, "The submitted image with aspect ratio is not supported. Allowed range is 4:5 to 1.91:1."},
	2207010: {36004, "The caption was too long. Captions are limited to 2200 characters, 30 hashtags and 20 @ tags."},
	2207020: {-2, "The media you are trying to access has expired. Please try to upload again."},
	2207023: {100, "The media type is unknown."},
	2207026: {352, "The video format is not supported. Please check spec for supported format (MOV or MP4)."},
	2207028: {100, "Your post won't be shared as a carousel. Carousels need at least 2 photos or videos and no more than 10 photos or videos."},
	2207032: {-1, "Create media fail, please re-create media."},
	2207040: {100, "Cannot use more than 20 tags per created media."},
	2207052: {9004, "The media could not be fetched from this uri."},
	2207053: {-1, "An unknown error occurred during video upload."},
	2207057: {1, "The thumbnail offset entered is out of range of the video duration."},
}

// errMedia is the documented error for a media subcode; unknown subcodes
// get code -1.
func errMedia(subcode int) *apiError {
	me, ok := mediaErrors[subcode]
	if !ok {
		me.code, me.msg = -1, fmt.Sprintf("Media upload has failed with error code %d", subcode)
	}
	return errIG(me.code, subcode, me.msg, "", "", subcode == 2207003 || subcode == 2207001)
}

// checkLocationID: location_id must be the id of a Facebook Page that has
// location data; anything else is refused with Meta's string code
// INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID (docs/graph-api.md §2, §10.3).
// The sandbox knows no places, so (test assumption) it refuses what cannot
// be a place — a non-numeric id, or the id of an object it knows that has no
// location: an Instagram account, its Page, a container, a media or a
// comment — and takes any other numeric id for a place. The envelope keeps
// the usual members with the string in `code` and no subcode (assumption:
// Meta shows only the string).
func (s *Server) checkLocationID(v string) *apiError {
	_, known := s.objs[v]
	if strings.Trim(v, "0123456789") == "" && s.acctByID[v] == nil && s.pages[v] == nil && !known {
		return nil
	}
	return &apiError{CodeName: "INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID",
		Message: fmt.Sprintf("The location_id %s is not a valid location: use the id of a Facebook Page that has a location.", v)}
}
