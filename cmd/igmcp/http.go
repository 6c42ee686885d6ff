package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/igmcp/igmcp/httpserver"
)

// runHTTP serves the MCP server over HTTP (`igmcp http --listen ADDR`) on
// ln until ctx is done (SIGINT/SIGTERM), then shuts down gracefully. Its
// settings (IGMCP_HTTP_TOKEN, IGMCP_HTTP_TOKENS_FILE, IGMCP_ALLOWED_ORIGINS,
// IGMCP_HTTP_SHUTDOWN_GRACE) were checked with the rest of the
// configuration, so a bad one never gets here.
func runHTTP(ctx context.Context, cfg *config, a *app, ln net.Listener, logger *slog.Logger) int {
	hc := httpserver.Config{Token: cfg.httpToken, Tokens: cfg.httpTokens, AllowedOrigins: cfg.allowedOrigins,
		ShutdownGrace: cfg.shutdownGrace, Logger: logger}
	srv, err := httpserver.New(a.server, hc)
	if err != nil {
		_ = ln.Close()
		logger.Error("http server", "err", err)
		return exitFailure
	}
	secured := hc.Token != "" || len(hc.Tokens) > 0
	authMode := "none (loopback only)"
	if secured {
		authMode = fmt.Sprintf("bearer (%d scoped tokens)", len(hc.Tokens))
	}
	logger.Info("igmcp serving on http", "addr", ln.Addr().String(), "mcp", "/mcp", "sse", "/sse", "auth", authMode,
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
