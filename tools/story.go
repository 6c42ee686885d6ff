package tools

import (
	"context"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/publish"
)

type publishStoryArgs struct {
	publish.StoryInput
	WaitArg
	JobArg
	IdempotencyArg
	AccountArg
}

// PublishStory publishes a Story from an image or a video, given as a
// public URL or a local file (videos are uploaded with progress; images are
// staged when a bucket is configured).
func PublishStory(d *Deps) Tool {
	return newTool[publishStoryArgs, PublishOutput](d, "publish_story", "Publish a Story (image or video, URL or file_path).",
		annotations{}, auth.PublishScopes(),
		func(ctx context.Context, c *call, a *publishStoryArgs) (any, string, error) {
			wait, err := a.duration()
			if err != nil {
				return nil, "", err
			}
			in := &a.StoryInput
			if err := d.checkRoot("file_path", in.FilePath); err != nil {
				return nil, "", err
			}
			if err := in.Validate(); err != nil {
				return nil, "", err
			}
			if a.IdempotencyKey != "" {
				if err := publish.CheckIdempotencyKey(a.IdempotencyKey); err != nil {
					return nil, "", err
				}
			}
			if in.FilePath != "" && !in.IsVideo() && d.Stager == nil {
				return nil, "", publish.NoStagingError("file_path")
			}
			// Local files were checked by Validate; URLs by preflight.
			var warnings []string
			if in.FilePath == "" {
				if warnings, err = d.Preflight.Check(ctx, in.Media()); err != nil {
					return nil, "", err
				}
			}
			if a.Background() {
				return runJob(ctx, c, publish.Request{Kind: publish.KindStory, Story: in, IdempotencyKey: a.IdempotencyKey}, publish.Options{})
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			p := newProgress(ctx, c.req)
			base := 0.0
			if in.FilePath != "" && in.IsVideo() {
				base = 50 // the upload reports 0–50
			}
			res, err := d.Publisher.Story(ctx, pubAccount(acct), in, a.IdempotencyKey, publish.Options{Wait: wait, Progress: p.wait(base)}, d.local(p.upload()))
			if res != nil && len(warnings) > 0 {
				res.Warnings = append(warnings, res.Warnings...)
			}
			return res, resultText(res), err
		})
}
