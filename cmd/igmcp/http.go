package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/igmcp/igmcp/httpserver"
)

// runHTTP serves the MCP server over HTTP (`igmcp http --listen ADDR`) until
// ctx is done (SIGINT/SIGTERM), then shuts down gracefully. Settings beyond
// config are read here:
//
//	IGMCP_ALLOWED_ORIGINS        comma list of browser origins (default: loopback origins)
//	IGMCP_HTTP_TOKENS_FILE       JSON file of scoped tokens (see httpserver.LoadTokens)
//	IGMCP_HTTP_SHUTDOWN_GRACE    how long running tool calls may finish on shutdown (default 30s)
//
// Bad settings, and a non-loopback --listen without any token, are one line
// on stderr and exit 2; a listen failure exits 1.
func runHTTP(ctx context.Context, cfg *config, a *app, getenv env, stderr io.Writer, logger *slog.Logger) int {
	hc, err := httpConfig(cfg, getenv, logger)
	if err != nil {
		fmt.Fprintf(stderr, "igmcp: %v\n", err)
		return 2
	}
	secured := hc.Token != "" || len(hc.Tokens) > 0
	if !secured && !httpserver.IsLoopback(cfg.listen) {
		fmt.Fprintf(stderr, "igmcp: refusing to listen on %s without a token: set IGMCP_HTTP_TOKEN (or IGMCP_HTTP_TOKEN_FILE, IGMCP_HTTP_TOKENS_FILE), or listen on 127.0.0.1\n", cfg.listen)
		return 2
	}
	srv, err := httpserver.New(a.server, hc)
	if err != nil {
		fmt.Fprintf(stderr, "igmcp: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		fmt.Fprintf(stderr, "igmcp: listen %s: %v\n", cfg.listen, err)
		return 1
	}
	authMode := "none (loopback only)"
	if secured {
		authMode = fmt.Sprintf("bearer (%d scoped tokens)", len(hc.Tokens))
	}
	logger.Info("igmcp serving on http", "addr", ln.Addr().String(), "mcp", "/mcp", "sse", "/sse", "auth", authMode,
		"version", version, "sandbox", cfg.sandbox, "graph_api", cfg.apiVersion)
	if !secured {
		logger.Warn("no IGMCP_HTTP_TOKEN: every local process and user can call this server")
	}
	if err := srv.Serve(ctx, ln); err != nil {
		logger.Error("http server stopped", "err", err)
		return 1
	}
	return 0
}

// httpConfig gathers the HTTP settings; the token was parsed with the rest
// of the configuration (IGMCP_HTTP_TOKEN / _FILE).
func httpConfig(cfg *config, getenv env, logger *slog.Logger) (httpserver.Config, error) {
	hc := httpserver.Config{Token: cfg.httpToken, Logger: logger}
	if hc.Token != "" && len(hc.Token) < httpserver.MinTokenLength {
		logger.Warn("IGMCP_HTTP_TOKEN is short; use at least 16 random characters", "min", httpserver.MinTokenLength)
	}
	var err error
	if hc.AllowedOrigins, err = httpserver.ParseOrigins(getenv("IGMCP_ALLOWED_ORIGINS")); err != nil {
		return hc, err
	}
	if path := strings.TrimSpace(getenv("IGMCP_HTTP_TOKENS_FILE")); path != "" {
		if hc.Tokens, err = httpserver.LoadTokens(path); err != nil {
			return hc, err
		}
	}
	if s := strings.TrimSpace(getenv("IGMCP_HTTP_SHUTDOWN_GRACE")); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > 15*time.Minute {
			return hc, fmt.Errorf("IGMCP_HTTP_SHUTDOWN_GRACE must be a duration such as 30s (at most 15m), got %q", s)
		}
		hc.ShutdownGrace = d
	}
	return hc, nil
}
