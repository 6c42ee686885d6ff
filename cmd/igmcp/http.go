package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/igmcp/igmcp/httpserver"
	"github.com/igmcp/igmcp/webhooks"
)

// runHTTP serves the MCP server over HTTP (`igmcp http --listen ADDR`) on
// ln until ctx is done (SIGINT/SIGTERM), then shuts down gracefully, with
// the background work (scheduler, event pruning) running meanwhile. Its
// settings were checked with the rest of the configuration
// (config.finish), so a bad one never gets here.
func runHTTP(ctx context.Context, cfg *config, a *app, ln net.Listener, logger *slog.Logger) int {
	hc := cfg.httpConfig(logger)
	if a.receiver != nil { // a nil *Receiver in the interface would be mounted
		hc.Webhooks = a.receiver
	}
	if f := a.replicas.tasks(); f != nil {
		hc.Tasks = f
	}
	srv, err := httpserver.New(a.server, hc)
	if err != nil {
		_ = ln.Close()
		logger.Error("http server", "err", err)
		return exitFailure
	}
	defer a.start(ctx)()
	secured := hc.Token != "" || len(hc.Tokens) > 0
	authMode := "none (loopback only)"
	if secured {
		authMode = fmt.Sprintf("bearer (%d scoped tokens)", len(hc.Tokens))
	}
	webhooksPath := "off"
	if hc.Webhooks != nil {
		webhooksPath = webhooks.Path
	}
	logger.Info("igmcp serving on http", "addr", ln.Addr().String(), "mcp", "/mcp", "sse", "/sse", "webhooks", webhooksPath, "auth", authMode,
		"version", version, "sandbox", cfg.sandbox, "graph_api", cfg.apiVersion)
	switch {
	case !secured:
		logger.Warn("no IGMCP_HTTP_TOKEN: every local process and user can call this server")
	case hc.Token != "" && len(hc.Token) < httpserver.MinTokenLength:
		// Refused beyond loopback (config.checkHTTPAuth); here only a warning.
		logger.Warn("IGMCP_HTTP_TOKEN is short; use at least 16 random characters", "min", httpserver.MinTokenLength)
	}
	if err := srv.Serve(ctx, ln); err != nil {
		logger.Error("http server stopped", "err", err)
		return exitFailure
	}
	return exitOK
}
