package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/igmcp/igmcp/argjson"
	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scope"
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
	// Username is the checked account's, when the server knows it without
	// asking Instagram (the post preview shows it).
	Username string `json:"username,omitempty"`
	// Approve is the one call that publishes this post, when it is valid.
	Approve *Approval `json:"approve,omitempty"`
}

// Approval is the call that publishes a checked post (the post preview's
// Approve button sends exactly this): the kind's publishing tool with the
// post's own arguments, the checked account, and an idempotency_key — the
// caller's, or one derived from the account and the post's content — so
// that approving it again, from a view rendered again later, replays the
// first publish ("replayed": true) and never makes a second post.
type Approval struct {
	Tool      string         `json:"tool"`
	Arguments map[string]any `json:"arguments"`
}

// Tool-level arguments a caller may copy along with the post; they are not
// part of the post's content.
var toolOnlyArgs = []string{"wait_seconds", "wait", "idempotency_key", "account", "publish", "confirm"}

// approvalKeyPrefix marks the keys validate_post derives. It is none of the
// prefixes publish reserves for igmcp's own keys (auto:, container:,
// schedule:, job:), so the publishing tool takes it as a caller's key.
const approvalKeyPrefix = "approve-"

// ValidatePost runs every check a publish would make (input rules, local
// files, preflight on the media, staging, quota) without publishing.
// Nothing is checked up front (auth.NoScopes): a quota it cannot read is a
// warning of its result.
func ValidatePost(d *Deps) Tool {
	return newTool[validatePostArgs, Validation](d, "validate_post", "Check a post without publishing it.",
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
			if err := checkCallArgs(a.Kind, a.Post, a.Account); err != nil {
				res.Problems = append(res.Problems, problem(err, "post."))
			}
			req, decodeErr := decodePost(a.Kind, a.Post)
			var media []preflight.Media
			if decodeErr != nil {
				res.Problems = append(res.Problems, problem(decodeErr, "post."))
			} else {
				// Input the checks refused (an http:// or private URL) is
				// never fetched.
				media = req.Media()
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
			if decodeErr == nil {
				// the account's own rules (a local video or the paid
				// partnership label need Facebook Login)
				if err := req.ValidateFor(pubAccount(acct)); err != nil {
					res.Problems = append(res.Problems, problem(err, "post."))
				}
			}
			res.Username = acct.Username
			res.Valid = len(res.Problems) == 0
			if res.Valid {
				if res.Approve, err = approval(a, &req, acct.ID); err != nil {
					return nil, "", err
				}
			}
			return res, validationText(a.Kind, res), nil
		})
}

// approval is the call that publishes the checked post: its arguments as
// given (without confirm: whether the server asks the user again is the
// operator's IGMCP_CONFIRM, never something the checked arguments decide),
// on the account the check was made for, under the caller's
// idempotency_key or one derived from the account and the post.
func approval(a *validatePostArgs, r *publish.Request, accountID string) (*Approval, error) {
	args := maps.Clone(a.Post)
	delete(args, "confirm")
	if a.Account != "" {
		args["account"] = a.Account
	}
	if key, _ := args["idempotency_key"].(string); key == "" {
		digest, err := r.Digest(publish.Options{Draft: isDraftPost(a.Kind, a.Post)})
		if err != nil {
			return nil, err
		}
		args["idempotency_key"] = approvalKey(accountID, digest)
	}
	return &Approval{Tool: toolFor(a.Kind), Arguments: args}, nil
}

// approvalKey derives an approval's idempotency key from the account and
// the post's digest (kind, content, draft or not, a local file's bytes):
// the same post approved twice on one account is one publish; other
// content, a draft of it, or another account gets another key. Lowercase
// letters, digits and '-' only, 40 characters.
func approvalKey(accountID, digest string) string {
	sum := sha256.Sum256([]byte(accountID + "\x00" + digest))
	return approvalKeyPrefix + hex.EncodeToString(sum[:16])
}

func isDraftPost(kind string, post map[string]any) bool {
	return kind == publish.KindPost && post["publish"] == false
}

// callArgs are the tool-level arguments a post may carry (toolOnlyArgs;
// confirm is the confirmation middleware's, checked there).
type callArgs struct {
	PublishArgs
	Publish *bool `json:"publish,omitempty"`
}

// checkCallArgs checks the tool-level arguments the post carries, which
// its content does not cover but its tool would refuse: their types, a
// caller's idempotency_key, wait_seconds, and publish on a kind whose tool
// makes no drafts. An account in the post must be the one checked
// (validate_post's own account argument), or the approval would publish
// on an account nothing was checked for.
func checkCallArgs(kind string, post map[string]any, checked string) error {
	given := map[string]any{}
	for _, k := range toolOnlyArgs {
		if v, ok := post[k]; ok && k != "confirm" {
			given[k] = v
		}
	}
	raw, err := json.Marshal(given)
	if err != nil {
		return invalid("", "post is not a JSON object")
	}
	var a callArgs
	if err := argjson.Decode(raw, &a); err != nil {
		return err
	}
	if a.IdempotencyKey != "" {
		if err := publish.CheckIdempotencyKey(a.IdempotencyKey); err != nil {
			return err
		}
	}
	if _, err := a.duration(); err != nil {
		return err
	}
	if a.Account != "" && !strings.EqualFold(scope.Normalize(a.Account), scope.Normalize(checked)) {
		was := "the default account"
		if checked != "" {
			was = fmt.Sprintf("%q", checked)
		}
		return invalid("account", "the post names account %q but the check is for %s: give the account as validate_post's own account argument", a.Account, was)
	}
	switch {
	case a.Publish != nil && kind != publish.KindPost:
		return invalid("publish", "publish: only create_post makes drafts; %s has no publish argument", toolFor(kind))
	case a.Publish != nil && !*a.Publish && a.Background():
		return invalid("wait", "wait: false does not go with publish: false: a draft is made in the call itself")
	}
	return nil
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
// fields are problems too).
func decodePost(kind string, post map[string]any) (publish.Request, error) {
	args := map[string]any{}
	for k, v := range post {
		args[k] = v
	}
	for _, k := range toolOnlyArgs {
		delete(args, k)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return publish.Request{}, invalid("", "post is not a JSON object")
	}
	r, err := publish.DecodeRequest(kind, raw, "")
	if err != nil {
		return publish.Request{}, err
	}
	return r, r.Validate()
}
