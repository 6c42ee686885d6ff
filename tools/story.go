package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"

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
func PublishStory(d *Deps, m *MediaDeps) Tool {
	return Tool{
		Toolset: ToolsetPublish,
		Tool: tool("publish_story",
			"Publish a Story (image or video, URL or file_path); waits like publish_reel.",
			inputSchema[publishStoryArgs](), outputSchema[PublishOutput](),
			annotations{}),
		Handler: bind(d, func(ctx context.Context, req mcp.CallToolRequest, a *publishStoryArgs) (any, string, error) {
			wait, err := a.duration()
			if err != nil {
				return nil, "", err
			}
			in := &a.StoryInput
			if err := m.checkRoot("file_path", in.FilePath); err != nil {
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
			l := m.local(nil)
			if in.FilePath != "" && !in.IsVideo() && l.Stager == nil {
				return nil, "", publish.NoStagingError("file_path")
			}
			// Local files were checked by Validate; URLs by preflight.
			var warnings []string
			if in.FilePath == "" {
				if warnings, err = m.checker().Check(ctx, in.Media()); err != nil {
					return nil, "", err
				}
			}
			if a.Background() {
				return runJob(ctx, d, a.Account, publish.Request{Kind: publish.KindStory, Story: in, IdempotencyKey: a.IdempotencyKey}, publish.Options{})
			}
			acct, err := d.Accounts.Resolve(ctx, a.Account)
			if err != nil {
				return nil, "", err
			}
			p := newProgress(ctx, req)
			base := 0.0
			if in.FilePath != "" && in.IsVideo() {
				base = 50 // the upload reports 0–50
			}
			l = m.local(p.upload())
			res, err := d.Publisher.Story(ctx, pubAccount(acct), in, a.IdempotencyKey, publish.Options{Wait: wait, Progress: p.wait(base)}, l)
			if res != nil && len(warnings) > 0 {
				res.Warnings = append(warnings, res.Warnings...)
			}
			return res, resultText(res), err
		}),
	}
}
