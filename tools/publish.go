package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
)

// DefaultWaitSeconds is how long publishing tools wait for processing.
const DefaultWaitSeconds = 120

// WaitArg is the wait_seconds argument of every tool that waits.
type WaitArg struct {
	WaitSeconds *int `json:"wait_seconds,omitempty" jsonschema:"minimum=0,maximum=900" jsonschema_description:"Processing wait; default 120."`
}

// IdempotencyArg makes a publishing call safe to repeat.
type IdempotencyArg struct {
	IdempotencyKey string `json:"idempotency_key,omitempty" jsonschema:"maxLength=200" jsonschema_description:"Same key: first result, no repost."`
}

func (w WaitArg) duration() (time.Duration, error) {
	if w.WaitSeconds == nil {
		return DefaultWaitSeconds * time.Second, nil
	}
	if *w.WaitSeconds < 0 || *w.WaitSeconds > 900 {
		return 0, invalid("wait_seconds", "wait_seconds must be between 0 and 900, got %d", *w.WaitSeconds)
	}
	return time.Duration(*w.WaitSeconds) * time.Second, nil
}

// PublishArgs are the arguments every publishing tool adds to its input.
type PublishArgs struct {
	WaitArg
	JobArg
	IdempotencyArg
	AccountArg
}

func (p *PublishArgs) common() *PublishArgs { return p }

// publishArgs is what a publishing tool's argument struct provides: its
// request, and the common arguments.
type publishArgs interface {
	request() (publish.Request, publish.Options)
	common() *PublishArgs
}

// publishTool builds a publishing tool: every one decodes its arguments,
// checks them, and runs one Request through the exactly-once pipeline.
func publishTool[A any, PA interface {
	*A
	publishArgs
}](d *Deps, name, description string) Tool {
	return newTool[A, PublishOutput](d, name, description, annotations{}, auth.PublishScopes(),
		func(ctx context.Context, c *call, a *A) (any, string, error) {
			p := PA(a).common()
			wait, err := p.duration()
			if err != nil {
				return nil, "", err
			}
			r, o := PA(a).request()
			r.IdempotencyKey, o.Wait = p.IdempotencyKey, wait
			if err := d.checkRoot("file_path", r.FilePath()); err != nil {
				return nil, "", err
			}
			if p.Background() {
				return runJob(ctx, c, r, o)
			}
			return run(ctx, c, r, o)
		})
}

type createPostArgs struct {
	publish.PostInput
	Publish *bool `json:"publish,omitempty" jsonschema_description:"false: a draft, for publish_container."`
	PublishArgs
}

func (a *createPostArgs) request() (publish.Request, publish.Options) {
	return publish.Request{Kind: publish.KindPost, Post: &a.PostInput}, publish.Options{Draft: a.Publish != nil && !*a.Publish}
}

// CreatePost publishes one image: container, wait, publish, first comment.
func CreatePost(d *Deps) Tool {
	return publishTool[createPostArgs](d, "create_post", "Publish an image post.")
}

type createCarouselArgs struct {
	publish.CarouselInput
	PublishArgs
}

func (a *createCarouselArgs) request() (publish.Request, publish.Options) {
	return publish.Request{Kind: publish.KindCarousel, Carousel: &a.CarouselInput}, publish.Options{}
}

// CreateCarousel publishes an album of 2–10 images and/or videos.
func CreateCarousel(d *Deps) Tool {
	return publishTool[createCarouselArgs](d, "create_carousel", "Publish a carousel of images/videos.")
}

type publishReelArgs struct {
	publish.ReelInput
	PublishArgs
}

func (a *publishReelArgs) request() (publish.Request, publish.Options) {
	return publish.Request{Kind: publish.KindReel, Reel: &a.ReelInput}, publish.Options{}
}

// PublishReel publishes a Reel, reporting progress while Instagram processes
// the video.
func PublishReel(d *Deps) Tool {
	return publishTool[publishReelArgs](d, "publish_reel", "Publish a Reel.")
}

type containerArgs struct {
	ContainerID string `json:"container_id" jsonschema_description:"From a publishing tool."`
	AccountArg
}

// ContainerStatus is the get_container_status result.
type ContainerStatus struct {
	ContainerID string `json:"container_id" jsonschema_description:"The container id."`
	StatusCode  string `json:"status_code" jsonschema:"enum=IN_PROGRESS,enum=FINISHED,enum=ERROR,enum=EXPIRED,enum=PUBLISHED" jsonschema_description:"Instagram's status code."`
	Status      string `json:"status,omitempty" jsonschema_description:"Instagram's status text (the error reason for ERROR)."`
	NextAction  string `json:"next_action" jsonschema_description:"One sentence: what to do next."`
	// CopyrightCheck is Instagram's copyright check of a video container:
	// status completed|error|in_progress|not_started, matches_found.
	CopyrightCheck *graph.CopyrightCheck `json:"copyright_check_status,omitempty"`
}

// GetContainerStatus reads a container's status with the next step.
func GetContainerStatus(d *Deps) Tool {
	return newTool[containerArgs, ContainerStatus](d, "get_container_status", "A container's status and next step.",
		annotations{readOnly: true, idempotent: true}, auth.BasicScopes(),
		func(ctx context.Context, c *call, a *containerArgs) (any, string, error) {
			if err := checkID("container_id", a.ContainerID); err != nil {
				return nil, "", err
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			det, _, err := acct.Client.GetContainerDetails(ctx, a.ContainerID, false)
			if err != nil {
				return nil, "", err
			}
			ct := &det.Container
			st := ContainerStatus{ContainerID: ct.ID, StatusCode: ct.StatusCode, Status: ct.Status, NextAction: nextAction(ct), CopyrightCheck: det.CopyrightCheckStatus}
			if cc := det.CopyrightCheckStatus; cc != nil && cc.MatchesFound {
				st.NextAction += " Instagram's copyright check found matching content: the Reel may be muted or blocked; consider other audio."
			}
			if st.ContainerID == "" {
				st.ContainerID = a.ContainerID
			}
			return st, fmt.Sprintf("container %s: %s. %s", st.ContainerID, st.StatusCode, st.NextAction), nil
		})
}

func nextAction(c *graph.Container) string {
	switch c.StatusCode {
	case graph.StatusInProgress:
		return "Still processing: check again in 30–60 seconds, then call publish_container when FINISHED."
	case graph.StatusFinished:
		return "Ready: call publish_container with this container_id to publish it."
	case graph.StatusPublished:
		return "Already published: do not publish again; publish_container returns its media id."
	case graph.StatusError:
		return "Processing failed: fix the media as the status says and create a new post; this container cannot be published."
	case graph.StatusExpired:
		return "Expired (not published within 24 hours): create a new post."
	}
	return "Unknown status: check again later."
}

type publishContainerArgs struct {
	ContainerID string `json:"container_id" jsonschema_description:"From a publishing tool."`
	WaitArg
	AccountArg
}

// PublishContainer publishes a ready container; safe to repeat.
func PublishContainer(d *Deps) Tool {
	return newTool[publishContainerArgs, publish.Result](d, "publish_container",
		"Publish a ready container; safe to repeat.",
		annotations{idempotent: true}, auth.PublishScopes(),
		func(ctx context.Context, c *call, a *publishContainerArgs) (any, string, error) {
			wait, err := a.duration()
			if err != nil {
				return nil, "", err
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			res, err := d.Publisher.PublishContainer(ctx, pubAccount(acct), a.ContainerID, publish.Options{Wait: wait, Progress: newProgress(ctx, c.req).wait(0)})
			return res, resultText(res), err
		})
}

// run is the one path of every publishing tool: input rules first (no Graph
// call on bad input), then the account, then the exactly-once pipeline.
func run(ctx context.Context, c *call, r publish.Request, o publish.Options) (any, string, error) {
	acct, err := prepare(ctx, c, &r)
	if err != nil {
		return nil, "", err
	}
	p := newProgress(ctx, c.req)
	if r.FilePath() != "" && (r.Reel != nil || r.Story.IsVideo()) {
		// a file upload reports 0–50 %, processing 50–100 %
		o.UploadProgress, o.Progress = p.upload(), p.wait(50)
	} else {
		o.Progress = p.wait(0)
	}
	res, err := c.d.Publisher.Run(ctx, pubAccount(acct), r, o)
	return res, resultText(res), err
}

// runJob is run for wait: false: the same checks, then the publish is
// handed to the scheduler as a job and the call returns at once.
func runJob(ctx context.Context, c *call, r publish.Request, o publish.Options) (any, string, error) {
	acct, err := prepare(ctx, c, &r)
	if err != nil {
		return nil, "", err
	}
	return startJob(ctx, c.d.Scheduler, acct, r, o)
}

// prepare checks a publish before anything reaches Instagram (the caller's
// key, input rules, a local file) and resolves the account. The request
// remembers it passed: Run and StartJob do not check it again.
func prepare(ctx context.Context, c *call, r *publish.Request) (*auth.Account, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	acct, err := c.account(ctx)
	if err != nil {
		return nil, err
	}
	// the account's own rules (a local video needs Facebook Login)
	return acct, r.ValidateFor(pubAccount(acct))
}

func pubAccount(a *auth.Account) *publish.Account {
	return &publish.Account{ID: a.ID, Username: a.Username, Login: a.Login, Graph: a.Client}
}

func resultText(r *publish.Result) string {
	if r == nil {
		return ""
	}
	switch r.Status {
	case publish.StatusPublished:
		s := "published media " + r.MediaID
		if r.Permalink != "" {
			s += " " + r.Permalink
		}
		for _, w := range r.Warnings {
			s += "; warning: " + w
		}
		return s
	default:
		return fmt.Sprintf("%s: container %s. %s", r.Status, r.ContainerID, r.NextAction)
	}
}
