// Package failure turns everything that can go wrong in a tool call into the
// structured error of docs/reference.md §4: a kind, whether to retry, when, and one
// sentence saying what the agent should do next.
package failure

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/igmcp/igmcp/graph"
)

// Kind is one of the error kinds of docs/reference.md §4.
type Kind string

const (
	InvalidInput        Kind = "invalid_input"
	AuthExpired         Kind = "auth_expired"
	PermissionDenied    Kind = "permission_denied"
	RateLimited         Kind = "rate_limited"
	PublishLimitReached Kind = "publish_limit_reached"
	MediaRejected       Kind = "media_rejected"
	ContainerNotReady   Kind = "container_not_ready"
	ContainerFailed     Kind = "container_failed"
	ContainerExpired    Kind = "container_expired"
	SpamBlocked         Kind = "spam_blocked"
	NotFound            Kind = "not_found"
	Transient           Kind = "transient"
	OutcomeUnknown      Kind = "outcome_unknown"
	Upstream            Kind = "upstream"
)

// GraphInfo is the `graph` member of the error: what Instagram said.
type GraphInfo struct {
	Code    int `json:"code"`
	Subcode int `json:"subcode"`
	// CodeName is a string code such as
	// INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID (code is 0 then).
	CodeName  string `json:"code_name,omitempty"`
	Type      string `json:"type,omitempty"`
	FBTraceID string `json:"fbtrace_id,omitempty"`
}

// Error is the structured tool error. It is an error so it can travel
// through ordinary Go returns and be recovered with errors.As.
type Error struct {
	Kind       Kind       `json:"kind"`
	Message    string     `json:"message"`
	Retryable  bool       `json:"retryable"`
	RetryAfter int        `json:"retry_after_seconds,omitempty"`
	Action     string     `json:"action"`
	Field      string     `json:"field,omitempty"`
	Graph      *GraphInfo `json:"graph,omitempty"`
	// Context for callers that want it; not serialised.
	cause error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Kind, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.cause }

// Invalid is an invalid_input error about one argument; field is a JSON path
// such as "items[3].image_url".
func Invalid(field, format string, args ...any) *Error {
	return &Error{
		Kind:    InvalidInput,
		Message: fmt.Sprintf(format, args...),
		Field:   field,
		Action:  "Fix the argument named in `field` as the message says, then call the tool again.",
	}
}

// New builds an error of any kind with the default retryability and action
// for that kind; callers may override fields afterwards.
func New(kind Kind, message string) *Error {
	e := &Error{Kind: kind, Message: message, Retryable: defaultRetryable[kind], Action: defaultAction[kind]}
	return e
}

var defaultRetryable = map[Kind]bool{
	RateLimited: true, PublishLimitReached: true, ContainerNotReady: true, Transient: true,
}

var defaultAction = map[Kind]string{
	InvalidInput:        "Fix the argument named in `field`, then call the tool again.",
	AuthExpired:         "The access token is expired or invalid: log in again with `igmcp auth login` (or set a new INSTAGRAM_ACCESS_TOKEN) and restart the server.",
	PermissionDenied:    "Grant the missing permission to the Meta app and log in again, then retry.",
	RateLimited:         "Wait retry_after_seconds, then retry the same call; do not retry sooner.",
	PublishLimitReached: "The account has used its 24-hour publishing quota: wait retry_after_seconds or schedule the post for later.",
	MediaRejected:       "Instagram refused this media: change the file as the message says (format, size, aspect ratio, duration), then create a new post.",
	ContainerNotReady:   "The container is still processing: poll get_container_status and call publish_container when it is FINISHED.",
	ContainerFailed:     "Instagram could not process this media: fix it as the message says and create a new post; this container cannot be published.",
	ContainerExpired:    "The container expired (24 hours unpublished): create a new post.",
	SpamBlocked:         "Instagram blocked this action as suspected spam: do not retry automatically; tell the user and try again much later.",
	NotFound:            "Check the id: the media, comment or container does not exist or this account cannot see it.",
	Transient:           "Instagram had a temporary failure: retry the same call in a minute.",
	OutcomeUnknown:      "Do not publish again yet: check the account's recent media (or get_container_status on the container) to see whether the post went live.",
	Upstream:            "Instagram refused the request: read the message, fix the request if you can, otherwise report it to the user.",
}

// Classify maps any error to a structured Error (nil for nil); an *Error
// already in err's chain is returned as it is. Graph errors are mapped by
// the predicates of graph.Error (Meta's codes live there, not here);
// transport failures are transient; a cancelled context is reported as such.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var sr *graph.StoryRefusedError
	if errors.As(err, &sr) {
		return storyRefused(sr)
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		return fromGraph(ge)
	}
	var th *graph.ThrottledError
	if errors.As(err, &th) {
		e := New(RateLimited, "Not sent: "+th.Reason+".")
		e.RetryAfter = max(seconds(th.RetryAfter), 1)
		e.Action = fmt.Sprintf("Wait %s, then retry the same call; igmcp holds calls back until Instagram's limit resets, so retrying sooner fails the same way.", humanize(e.RetryAfter))
		e.cause = err
		return e
	}
	var tke *graph.TokenError
	if errors.As(err, &tke) {
		e := New(AuthExpired, "No usable Instagram access token: "+tke.Err.Error())
		e.cause = err
		return e
	}
	if errors.Is(err, context.Canceled) {
		e := New(Transient, "The call was cancelled before it finished.")
		e.Action = "Call the tool again if you still want the result."
		e.cause = err
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		e := New(Transient, "The call timed out before Instagram answered.")
		e.cause = err
		return e
	}
	var te *graph.TransportError
	if errors.As(err, &te) {
		e := New(Transient, "Instagram could not be reached: "+te.Err.Error())
		e.RetryAfter = 30
		e.cause = err
		return e
	}
	e := New(Upstream, err.Error())
	e.cause = err
	return e
}

func seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

func fromGraph(ge *graph.Error) *Error {
	g := graphKind(ge)
	e := New(g.kind, graphMessage(ge))
	if g.action != "" {
		e.Action = g.action
	}
	e.Field = g.field
	e.Graph = &GraphInfo{Code: ge.Code, Subcode: ge.Subcode, CodeName: ge.CodeName, Type: ge.Type, FBTraceID: ge.FBTraceID}
	e.cause = ge
	switch {
	case ge.IsContainerLimit():
		// The window rolls: a slot frees when the oldest container of the
		// last 24 h ages out. Meta's BUC estimate is used when it came with
		// the error; without the creation history an hour is a safe guess.
		e.RetryAfter = seconds(ge.RetryAfter())
		if e.RetryAfter == 0 {
			e.RetryAfter = 3600
		}
		e.Message = "Instagram allows 400 media containers per account in a rolling 24 hours and this account has reached that limit (this is not the publishing quota). " + e.Message
		e.Action = fmt.Sprintf("Wait %s, then create the post again. Containers count when created, published or not: do not create containers you will not publish.", humanize(e.RetryAfter))
	case g.kind == RateLimited:
		e.RetryAfter = seconds(ge.RetryAfter())
		if e.RetryAfter == 0 {
			// Meta gives no Retry-After; without a BUC estimate, a platform
			// limit is an hourly window: back off for a while, not seconds.
			e.RetryAfter = 300
		}
		e.Action = fmt.Sprintf("Wait %s, then retry the same call; do not retry sooner.", humanize(e.RetryAfter))
	case g.kind == PublishLimitReached:
		// The rolling window frees a slot when the oldest post of the last
		// 24 h ages out; without the publish history, an hour is a safe guess.
		e.RetryAfter = 3600
	case g.kind == Transient:
		e.RetryAfter = 60
	case g.kind == ContainerNotReady:
		e.RetryAfter = 30
	}
	return e
}

// storyRefused is Instagram refusing a Story for the account (see
// graph.StoryRefusedError for why igmcp does not refuse it first).
func storyRefused(sr *graph.StoryRefusedError) *Error {
	e := fromGraph(sr.Err)
	e.Kind, e.Retryable, e.RetryAfter, e.Field = PermissionDenied, false, 0, ""
	e.Message = "Instagram refused to create a Story for this account. Meta documents Story publishing for Business accounts; whether Creator accounts may publish Stories through the API is not documented, and this answer suggests this account may not. " + e.Message
	e.Action = "Do not retry: check in the Instagram app that the account is a Business account (Settings, Account type and tools), or post this Story from the app. Feed posts, carousels and reels are not affected."
	e.cause = sr
	return e
}

func graphMessage(ge *graph.Error) string {
	msg := ge.Message
	if ge.UserMsg != "" && ge.UserMsg != ge.Message {
		msg += " (" + ge.UserMsg + ")"
	}
	return "Instagram: " + msg
}

// classification is a kind with its specific action and field.
type classification struct {
	kind   Kind
	action string
	field  string
}

// mediaActions are the documented media and container subcodes whose
// action says exactly what to do (docs/graph-api.md §10.3).
var mediaActions = map[int]classification{
	2207008: {NotFound, "The container does not exist or has expired: if it was just created retry publish_container in a minute, otherwise create a new post.", ""},
	2207006: {NotFound, "The media cannot be found (deleted, expired, or the token lacks access): create a new post.", ""},
	2207020: {ContainerExpired, "", ""},
	2207050: {PermissionDenied, "The Instagram account is restricted: the user must open Instagram and resolve the restriction; do not retry.", ""},
	2207053: {MediaRejected, "Instagram failed to process the uploaded video: create a new post, re-encoding the video (H.264/AAC MP4) if it fails again.", ""},
	2207052: {MediaRejected, "Instagram could not fetch the media URL: make sure it is a public https URL that answers without login or redirects to a login page, then create a new post.", ""},
	2207004: {MediaRejected, "The image is larger than 8 MiB: give a smaller JPEG.", ""},
	2207005: {MediaRejected, "The image format is not supported: give a JPEG.", ""},
	2207009: {MediaRejected, "The image aspect ratio must be between 4:5 and 1.91:1: crop it and try again.", ""},
	2207026: {MediaRejected, "The video format is not supported: give an MP4 or MOV (H.264 or HEVC video, AAC audio, moov atom first).", ""},
	2207076: {MediaRejected, videoHostAction, ""},
	2207077: {MediaRejected, videoHostAction, ""},
	2207082: {MediaRejected, videoHostAction, ""},
	2207085: {MediaRejected, videoHostAction, ""},
	// DELETE /{ig-media-id} refusing the media's type (docs/graph-api.md §9).
	2207073: {Upstream, "Instagram refuses to delete this kind of media through the API (a carousel item, possibly a Story): delete the whole carousel instead, or remove the media in the Instagram app.", ""},
}

const videoHostAction = "Instagram could not download or process the video: host it where it is served with Content-Length and HTTP Range support, as MP4 (H.264/AAC), then create a new post."

// inputActions say how to fix an argument Instagram refused, by Graph
// parameter.
var inputActions = map[string]string{
	"thumb_offset":  "thumb_offset is beyond the video's length: give a smaller offset in milliseconds, then create the post again.",
	"caption":       "The caption is too long or has too many hashtags or @mentions (2200 characters, 5 hashtags, 20 mentions): shorten it.",
	"children":      "A carousel needs 2 to 10 items.",
	"media_type":    "Instagram does not know this media type: check image_url/video_url.",
	"collaborators": "A collaborator username is invalid: give plain usernames without '@'.",
	"location_id":   "location_id must be the id of a Facebook Page that has a location (a place's Page): give another id, or leave location_id out.",
}

// inputFields maps a Graph parameter to the tool argument that carries it,
// where their names differ; parameters no tool takes give no field.
var inputFields = map[string]string{"children": "items", "media_type": "", "product_tags": ""}

// graphKind is the classification table, in the order Meta's reuse of codes
// requires: subcodes with a specific action, then the families of
// graph.Error's predicates.
func graphKind(ge *graph.Error) classification {
	if c, ok := mediaActions[ge.Subcode]; ok {
		return c
	}
	if param, ok := ge.InvalidParam(); ok {
		field, renamed := inputFields[param]
		if !renamed {
			field = param
		}
		return classification{InvalidInput, inputActions[param], field}
	}
	switch {
	case ge.IsSpamBlock():
		return classification{kind: SpamBlocked}
	case ge.IsAuth():
		return classification{AuthExpired, authAction(ge.Subcode), ""}
	case ge.IsNotEnoughViewers():
		// Not a missing permission: a Story seen by fewer than 5 accounts
		// has no insights yet (get_insights answers this as a result).
		return classification{Upstream, "Instagram shows no insights for a Story until at least 5 accounts have viewed it: ask again later (Story insights are kept 24 hours). No permission is missing.", ""}
	case ge.IsContainerLimit(), ge.IsRateLimit():
		return classification{kind: RateLimited}
	case ge.IsPublishQuota():
		return classification{kind: PublishLimitReached}
	case ge.IsNotReady():
		return classification{kind: ContainerNotReady}
	case ge.IsPermission():
		return classification{kind: PermissionDenied}
	case ge.Code == 9004:
		return classification{MediaRejected, "Instagram could not fetch the media URL: make sure it is a public https URL, then create a new post.", ""}
	case ge.Code == 36000 || ge.Code == 36001 || ge.Code == 36003 || ge.Code == 352:
		return classification{kind: MediaRejected}
	case ge.Code == 100 && ge.Subcode == 33, ge.Code == 803:
		return classification{kind: NotFound}
	case ge.IsTemporary():
		return classification{kind: Transient}
	}
	return classification{kind: Upstream}
}

func authAction(subcode int) string {
	switch subcode {
	case 459, 464:
		return "The user must log in to Instagram/Facebook in a browser and clear the checkpoint, then run `igmcp auth login` again."
	default:
		return "The access token is expired or was revoked: run `igmcp auth login` (or set a new INSTAGRAM_ACCESS_TOKEN) and call the tool again."
	}
}

func humanize(sec int) string {
	switch {
	case sec < 120:
		return fmt.Sprintf("%d seconds", sec)
	case sec < 7200:
		return fmt.Sprintf("%d minutes", (sec+59)/60)
	default:
		return fmt.Sprintf("%.1f hours", float64(sec)/3600)
	}
}
