package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/publish"
)

type validatePostArgs struct {
	Kind string         `json:"kind" jsonschema:"enum=post,enum=carousel,enum=reel,enum=story" jsonschema_description:"Post kind."`
	Post map[string]any `json:"post" jsonschema_description:"Arguments of that kind's tool."`
	AccountArg
}

// Problem is one reason the post would fail.
type Problem struct {
	Kind    string `json:"kind"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

// Validation is the validate_post result.
type Validation struct {
	Valid    bool             `json:"valid"`
	Problems []Problem        `json:"problems"`
	Warnings []string         `json:"warnings,omitempty"`
	Media    []preflight.Info `json:"media,omitempty"`
	Quota    *Quota           `json:"quota,omitempty"`
}

// Tool-level arguments a caller may copy along with the post; they are not
// part of the post's content.
var toolOnlyArgs = []string{"wait_seconds", "idempotency_key", "account", "publish", "confirm"}

// ValidatePost runs every check a publish would make (input rules, local
// files, preflight on the media, staging, quota) without publishing.
// Nothing is checked up front (auth.NoScopes): a quota it cannot read is a
// warning of its result.
func ValidatePost(d *Deps) Tool {
	return newTool[validatePostArgs, Validation](d, "validate_post", "Check a post as a publish would (input, media, quota) without publishing.",
		annotations{readOnly: true, idempotent: true}, auth.NoScopes(),
		func(ctx context.Context, c *call, a *validatePostArgs) (any, string, error) {
			switch a.Kind {
			case publish.KindPost, publish.KindCarousel, publish.KindReel, publish.KindStory:
			default:
				return nil, "", invalid("kind", "kind must be post, carousel, reel or story, got %q", a.Kind)
			}
			if a.Post == nil {
				return nil, "", invalid("post", "post is required: the arguments of the %s tool", toolFor(a.Kind))
			}
			res := Validation{Problems: []Problem{}}
			// The media root before anything opens the file; its refusal
			// says nothing about the file, so nothing else is looked at.
			if err := d.checkRoot("file_path", filePathOf(a.Post)); err != nil {
				res.Problems = append(res.Problems, problem(err, "post."))
				return res, fmt.Sprintf("%s would fail: %s", a.Kind, res.Problems[0].Message), nil
			}
			media, _, err := decodePost(a.Kind, a.Post)
			if err != nil {
				res.Problems = append(res.Problems, problem(err, "post."))
				// Input the checks refused (an http:// or private URL) is
				// never fetched.
				media = nil
			}
			for _, x := range media {
				if x.Path != "" && !preflight.RulesFor(x.Kind).Video && d.Stager == nil {
					res.Problems = append(res.Problems, problem(publish.NoStagingError(x.Field), "post."))
				}
			}
			if d.Preflight == nil {
				res.Warnings = append(res.Warnings, "Preflight is off (IGMCP_PREFLIGHT=off): media URLs were not fetched; only local files were examined.")
			} else if d.Preflight.Offline() {
				res.Warnings = append(res.Warnings, "Preflight does not fetch media in this mode (sandbox): media URLs were not examined.")
			}
			for _, r := range d.Preflight.InspectAll(ctx, media) {
				r.Info.Field = "post." + r.Info.Field
				res.Media = append(res.Media, r.Info)
				res.Warnings = append(res.Warnings, r.Warnings...)
				for _, v := range r.Violations {
					res.Problems = append(res.Problems, problem(preflight.Rejected(v), "post."))
				}
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			if q, err := readQuota(ctx, acct); err == nil {
				res.Quota = q
				if q.Total > 0 && q.Used >= q.Total {
					res.Problems = append(res.Problems, Problem{Kind: string(failure.PublishLimitReached),
						Message: fmt.Sprintf("The account has used its %s of the last 24 hours; a publish now would be refused.", count(q.Total, "post", "posts"))})
				}
			} else {
				res.Warnings = append(res.Warnings, "The publishing quota could not be read: "+failure.Classify(err).Message)
			}
			res.Valid = len(res.Problems) == 0
			return res, validationText(a.Kind, res), nil
		})
}

// validationText says what was found, and how much was looked at: media
// preflight could not examine are not counted as checked.
func validationText(kind string, v Validation) string {
	if !v.Valid {
		more := ""
		if n := len(v.Problems) - 1; n > 0 {
			more = fmt.Sprintf(" (and %s more)", count(n, "problem", "problems"))
		}
		return fmt.Sprintf("%s would fail: %s%s", kind, v.Problems[0].Message, more)
	}
	checked := 0
	for _, m := range v.Media {
		if m.Checked {
			checked++
		}
	}
	media := "no media examined"
	if checked > 0 {
		media = fmt.Sprintf("%d of %s examined", checked, count(len(v.Media), "media", "media"))
	}
	return fmt.Sprintf("%s is valid: %s, %s", kind, media, count(len(v.Warnings), "warning", "warnings"))
}

func toolFor(kind string) string {
	switch kind {
	case publish.KindCarousel:
		return "create_carousel"
	case publish.KindReel:
		return "publish_reel"
	case publish.KindStory:
		return "publish_story"
	}
	return "create_post"
}

func problem(err error, prefix string) Problem {
	fe := failure.Classify(err)
	p := Problem{Kind: string(fe.Kind), Message: fe.Message}
	if fe.Field != "" {
		p.Field = prefix + fe.Field
		p.Message = strings.ReplaceAll(p.Message, fe.Field+":", p.Field+":")
	}
	if i := strings.LastIndex(fe.Message, "(rule "); i >= 0 {
		p.Rule = strings.TrimSuffix(fe.Message[i+len("(rule "):], ")")
	}
	return p
}

// decodePost decodes and validates the post of a kind (strictly: unknown
// fields are problems too) and lists its media (URLs for preflight, a
// local file_path with its path).
func decodePost(kind string, post map[string]any) ([]preflight.Media, string, error) {
	args := map[string]any{}
	for k, v := range post {
		args[k] = v
	}
	for _, k := range toolOnlyArgs {
		delete(args, k)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, "", invalid("", "post is not a JSON object")
	}
	r, err := publish.DecodeRequest(kind, raw, "")
	if err != nil {
		var fe *failure.Error
		if fe = failure.Classify(err); fe.Kind == failure.InvalidInput && fe.Field == "post" {
			// DecodeRequest names the whole post; the decoder's message names the field.
			return nil, "", strictDecode(raw, target(kind))
		}
		return nil, "", err
	}
	return r.Media(), r.FilePath(), r.Validate()
}

func target(kind string) any {
	switch kind {
	case publish.KindCarousel:
		return new(publish.CarouselInput)
	case publish.KindReel:
		return new(publish.ReelInput)
	case publish.KindStory:
		return new(publish.StoryInput)
	}
	return new(publish.PostInput)
}
