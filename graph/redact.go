package graph

import (
	"regexp"
	"strings"
)

// secretParams are the parameters that carry a credential somewhere in the
// Graph/Instagram OAuth surface: tokens, the proof, the app secret, OAuth
// codes and debug_token's input.
const secretParams = `access_token|appsecret_proof|client_secret|fb_exchange_token|code|input_token|refresh_token`

// The key must start a parameter (after ?, &, ;, start, a quote or space, or
// their percent-encodings) so error_code= or postcode= are left alone. The
// value ends at a separator, including a percent-encoded & (%26) so that a
// URL nested in a parameter keeps its other parameters.
var (
	redactQuery = regexp.MustCompile(`(?i)(^|[?&;\s"'(,/]|%26|%3F)(` + secretParams + `)(=|%3D)((?:[^&\s"'#;<>,)%]|%(?:[013-9A-Fa-f][0-9A-Fa-f]|2[0-57-9A-Fa-f]))*)`)
	redactJSON  = regexp.MustCompile(`(?i)("(?:` + secretParams + `)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
)

// Redacted replaces secret values.
const Redacted = "REDACTED"

// Redact blanks the values of access_token, appsecret_proof, client_secret,
// fb_exchange_token, code, input_token and refresh_token query parameters
// (and JSON members of those names) in any URL-ish string, for logs and
// error messages.
func Redact(s string) string {
	if s == "" {
		return s
	}
	s = redactQuery.ReplaceAllString(s, "${1}${2}${3}"+Redacted)
	return redactJSON.ReplaceAllString(s, "${1}"+Redacted+"${3}")
}

// scrub removes literal secrets too: Graph echoes a malformed token in its
// message ("Malformed access token EAAB…"), with no parameter name around it.
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}

// redactedError keeps the cause for errors.Is/As but reports a scrubbed
// message.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err unchanged when its message is already clean.
func redactErr(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := Redact(scrub(msg, secrets...))
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}
