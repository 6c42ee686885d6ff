package tools

import (
	"github.com/igmcp/igmcp/publish"
)

type publishStoryArgs struct {
	publish.StoryInput
	PublishArgs
}

func (a *publishStoryArgs) request() (publish.Request, publish.Options) {
	return publish.Request{Kind: publish.KindStory, Story: &a.StoryInput}, publish.Options{}
}

// PublishStory publishes a Story from an image or a video, given as a
// public URL or a local file (videos are uploaded with progress; images are
// staged when the publisher has a bucket), like every publishing tool.
func PublishStory(d *Deps) Tool {
	return publishTool[publishStoryArgs](d, "publish_story", "Publish a Story.")
}
