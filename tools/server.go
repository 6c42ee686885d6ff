package tools

import (
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/server"
)

// NewServer builds the MCP server with the selected tools.
func NewServer(d *Deps, version string, sel Selection) *server.MCPServer {
	tools := Select(All(d), sel)
	s := server.NewMCPServer("igmcp", version,
		server.WithToolCapabilities(false),
		server.WithLogging(),
		server.WithRecovery(),
		server.WithOutputSchemaValidation(),
		server.WithInstructions(instructions(tools, d.Sandbox)),
	)
	for _, t := range tools {
		s.AddTool(t.Tool, t.Handler)
	}
	return s
}

// instructions carry the cross-tool workflow once, instead of in every
// description.
func instructions(tools []Tool, sandbox bool) string {
	var b strings.Builder
	b.WriteString("igmcp publishes to Instagram through Meta's official Graph API. Every failed call returns structuredContent.error with kind, retryable, retry_after_seconds and an action sentence: follow the action.")
	has := func(set string) bool {
		return slices.ContainsFunc(tools, func(t Tool) bool { return t.Toolset == set })
	}
	if has(ToolsetPublish) {
		b.WriteString(" Publishing: create_post, create_carousel and publish_reel do the whole flow in one call (container, wait, publish, first comment). If a result says status \"processing\", poll get_container_status and call publish_container when FINISHED; publish_container is safe to repeat. Never re-run a publishing tool to 'retry' a post that returned processing or outcome_unknown: that makes a second post.")
	}
	if sandbox {
		b.WriteString(" SANDBOX: this server talks to a built-in simulated Graph API; nothing reaches Instagram.")
	}
	return b.String()
}
