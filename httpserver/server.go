// Package httpserver serves an igmcp MCP server over HTTP: Streamable HTTP at
// /mcp, the legacy SSE transport at /sse and /message, and /healthz, behind
// bearer-token authentication (optionally scoped per token to accounts and
// toolsets), Origin validation, request limits and a graceful shutdown that
// lets running tool calls finish; and, when configured, Meta's webhooks at
// /webhooks/instagram, outside those guards (Config.Webhooks).
package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/webhooks"
)

// Defaults; see Config.
const (
	DefaultShutdownGrace = 30 * time.Second
	DefaultMaxBodyBytes  = 1 << 20
	// readHeaderTimeout bounds how long a client may take to send its
	// headers (slowloris); bodyReadTimeout does the same for the body.
	readHeaderTimeout = 10 * time.Second
	bodyReadTimeout   = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// keepAlive is how often idle SSE streams get a ping, so that proxies
	// and load balancers do not cut a stream that waits for a long call.
	keepAlive = 25 * time.Second
	// sessionIdleTTL frees the state of Streamable HTTP sessions whose
	// clients vanished without a DELETE.
	sessionIdleTTL = 30 * time.Minute
	// flushWait is how long the shutdown leaves SSE streams open after the
	// last call ended: an SSE result is queued to its stream after the tool
	// returns and must be written before the stream closes.
	flushWait = 500 * time.Millisecond
	// afterCancelWait bounds how long calls may take to return once their
	// context was cancelled at the end of the grace period.
	afterCancelWait = 5 * time.Second
)

// Config configures a Server. Secrets live here only in memory: nothing in
// this package logs a token or an Authorization header.
type Config struct {
	// Token (IGMCP_HTTP_TOKEN) grants everything this server exposes.
	Token string
	// Tokens (IGMCP_HTTP_TOKENS_FILE) are further tokens, each scoped.
	Tokens []TokenEntry
	// AllowedOrigins (IGMCP_ALLOWED_ORIGINS) are the browser origins that
	// may call; empty means loopback origins only.
	AllowedOrigins []string
	// ShutdownGrace is how long a shutdown waits for running tool calls
	// before cancelling them (default DefaultShutdownGrace).
	ShutdownGrace time.Duration
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Sessions bound the MCP sessions (zero values: the defaults).
	Sessions SessionLimits
	// Webhooks, when set, serves webhooks.Path (/webhooks/instagram):
	// Meta's deliveries and verification requests (docs/reference.md §5).
	// It is outside the bearer-token, Origin and body-size guards: Meta
	// sends no token and no Origin, and the handler authenticates every
	// delivery by its signature and bounds its body itself
	// (webhooks.Receiver).
	Webhooks http.Handler
	// Tasks, when set, answers MCP tasks (docs/reference.md §6) on /mcp
	// before mcp-go sees them: taskfront.Front, from the store, so that
	// any replica answers for any task.
	Tasks  TaskFront
	Logger *slog.Logger
}

// TaskFront answers the task traffic of Streamable HTTP POSTs
// (taskfront.Front): it reports whether it answered, and may hand a
// rewritten request to next (mcp-go).
type TaskFront interface {
	ServeMCP(w http.ResponseWriter, r *http.Request, body []byte, owner string, next http.Handler) bool
}

// Check reports what New would refuse in cfg (two tokens alike or named
// alike, an origin that is not one) without building anything, so that a
// command can refuse its configuration before it starts anything.
func (cfg Config) Check() error {
	if _, err := newAuthenticator(cfg.Token, cfg.Tokens); err != nil {
		return err
	}
	for _, o := range cfg.AllowedOrigins {
		if _, ok := normalizeOrigin(o); !ok {
			return fmt.Errorf("IGMCP_ALLOWED_ORIGINS: %q is not an origin", o)
		}
	}
	return nil
}

// Server is the HTTP front of one *server.MCPServer.
type Server struct {
	mcp        *server.MCPServer
	streamable *server.StreamableHTTPServer
	sse        *server.SSEServer
	auth       *authenticator
	origins    *originPolicy
	drain      *drainer
	sessions   *sessionTable
	tasks      TaskFront
	maxBody    int64
	log        *slog.Logger
	handler    http.Handler
}

// New wraps s. It installs a tool middleware on s (to track calls for the
// graceful shutdown), so call it once per MCP server, before serving.
func New(s *server.MCPServer, cfg Config) (*Server, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	a, err := newAuthenticator(cfg.Token, cfg.Tokens)
	if err != nil {
		return nil, err
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hs := &Server{
		mcp:     s,
		auth:    a,
		origins: newOriginPolicy(cfg.AllowedOrigins),
		drain:   newDrainer(cfg.ShutdownGrace),
		tasks:   cfg.Tasks,
		maxBody: cfg.MaxBodyBytes,
		log:     cfg.Logger,
	}
	s.Use(hs.drain.middleware)
	hs.sessions = newSessionTable(cfg.Sessions, hs.dropSession)
	s.Use(hs.sessions.middleware)

	// mcp-go refuses a non-loopback Host on a loopback listener (its own
	// DNS-rebinding guard). That guard is what protects a server without a
	// token; with a token a rebinding page cannot authenticate anyway, and
	// keeping the guard would break the usual deployment behind a reverse
	// proxy on the same machine (Host: mcp.example.com → 127.0.0.1).
	hostGuard := !a.enabled()
	hs.streamable = server.NewStreamableHTTPServer(s,
		server.WithStreamableHTTPLogger(cfg.Logger),
		// A backstop only: sessionTable reaps idle sessions much sooner
		// (through mcp-go's DELETE handling).
		server.WithSessionIdleTTL(sessionIdleTTL),
		server.WithHeartbeatInterval(keepAlive),
		server.WithDisableLocalhostProtection(!hostGuard),
	)
	hs.sse = server.NewSSEServer(s,
		server.WithKeepAlive(true),
		server.WithKeepAliveInterval(keepAlive),
		server.WithSSEDisableLocalhostProtection(!hostGuard),
		// Session ids are made (and bound to the token) by sessionTable.
		server.WithSessionIDGenerator(sseSessionID),
		// mcp-go answers SSE streams with Access-Control-Allow-Origin: *.
		// That exposes nothing: guard has already refused every Origin
		// outside the allow-list with 403 before a stream opens.
	)

	// /mcp, /sse and /message are served by guard itself (serveMCP,
	// serveSSE, serveMessage): they need the token that called.
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", hs.healthz)
	hs.handler = hs.guard(mux)
	if cfg.Webhooks != nil {
		hs.handler = hs.withWebhooks(cfg.Webhooks, hs.handler)
	}
	return hs, nil
}

// withWebhooks sends webhooks.Path to the receiver, unguarded, and
// everything else to next. The path is matched exactly, before any
// cleaning: /webhooks/instagram/ or //webhooks/instagram go to next, and
// its guards.
func (s *Server) withWebhooks(receiver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != webhooks.Path {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		receiver.ServeHTTP(rec, r)
		s.log.Debug("http request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start), "remote", r.RemoteAddr, "token", "-")
	})
}

// Sessions is how many MCP sessions are open (Streamable HTTP sessions with
// an initialize handshake, and SSE streams).
func (s *Server) Sessions() int { return s.sessions.count() }

// Handler is the whole HTTP surface with its guards, for tests and for
// embedding; Serve uses it.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers connections on ln until ctx is done, then shuts down
// gracefully: it stops accepting connections, refuses new tool calls,
// waits up to the grace period for running ones, cancels what is left
// (which then returns a result saying so), and closes the streams. It
// returns nil after a shutdown and the error otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	hs := &http.Server{
		Handler: s.handler,
		// No ReadTimeout and no WriteTimeout: a Reel publish may wait up to
		// 15 minutes and an SSE stream lives for hours, and net/http turns
		// an expired read deadline into a cancelled request context.
		// Headers and bodies get their own bounds instead (guard).
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-served:
		s.drain.cancelAll()
		s.sessions.close()
		return err
	case <-ctx.Done():
	}
	defer s.sessions.close()

	n, idle := s.drain.beginDrain()
	s.log.Info("shutting down: no new connections or tool calls", "running_calls", n, "grace", s.drain.grace)
	shutdownDone := make(chan error, 1)
	// Shutdown closes the listener and idle connections at once, then waits
	// for active ones; calls on open SSE streams keep their stream until
	// they are done.
	go func() { shutdownDone <- hs.Shutdown(context.Background()) }()

	grace := time.NewTimer(s.drain.grace)
	defer grace.Stop()
	select {
	case <-idle:
	case <-grace.C:
		s.log.Warn("shutdown grace period over: cancelling running tool calls", "grace", s.drain.grace)
		s.drain.cancelAll()
		select {
		case <-idle:
		case <-time.After(afterCancelWait):
			s.log.Warn("tool calls still running after cancel; closing anyway")
		}
	}
	s.drain.cancelAll()
	// Let queued SSE results reach their streams, then end the streams so
	// that Shutdown can finish.
	time.Sleep(flushWait)
	s.sse.CloseSessions()
	_ = s.streamable.Shutdown(context.Background())
	cancelBase()
	select {
	case <-shutdownDone:
	case <-time.After(2 * time.Second):
		_ = hs.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("http server stopped")
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	status, code := "ok", http.StatusOK
	if s.drain.isDraining() {
		// A load balancer takes a draining instance out of rotation.
		status, code = "draining", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
}

// guard applies, in order: Origin validation (403) and CORS, bearer
// authentication (401, except /healthz), the request body limit (413) and
// body read timeout, then puts the token's grant in the request context,
// where the tools' scope check finds it (scope.From), and binds MCP
// sessions to the token that opened them (sessions.go).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		w = rec
		who := "-"
		owner := "" // the token's name: who a session belongs to
		defer func() {
			// Path only: the SSE session id travels in the query.
			s.log.Debug("http request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration", time.Since(start), "remote", r.RemoteAddr, "token", who)
		}()

		if origin := r.Header.Get("Origin"); origin != "" {
			if !s.origins.allows(origin) {
				s.log.Warn("http: request from a foreign Origin refused", "origin", origin, "path", r.URL.Path, "remote", r.RemoteAddr)
				http.Error(w, "Forbidden: Origin not allowed (IGMCP_ALLOWED_ORIGINS)", http.StatusForbidden)
				return
			}
			corsHeaders(w, r, origin)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				w.WriteHeader(http.StatusNoContent) // preflight: browsers send no credentials
				return
			}
		}

		if r.URL.Path != "/healthz" && s.auth.enabled() {
			tok, ok := bearer(r.Header.Get("Authorization"))
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="igmcp"`)
				s.log.Info("http: request without bearer token refused", "path", r.URL.Path, "remote", r.RemoteAddr)
				http.Error(w, "Unauthorized: send Authorization: Bearer <token>", http.StatusUnauthorized)
				return
			}
			cred, ok := s.auth.check(tok)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="igmcp", error="invalid_token"`)
				s.log.Warn("http: request with an unknown bearer token refused", "path", r.URL.Path, "remote", r.RemoteAddr)
				http.Error(w, "Unauthorized: unknown token", http.StatusUnauthorized)
				return
			}
			who, owner = cred.name, cred.name
			if cred.grant != nil {
				r = r.WithContext(scope.With(r.Context(), cred.grant))
			}
		}

		var body []byte
		if r.Method == http.MethodPost {
			if r.ContentLength > s.maxBody {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			var err error
			body, err = s.readBody(w, r)
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
					return
				}
				http.Error(w, "could not read request body", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		switch r.URL.Path {
		case "/mcp":
			s.serveMCP(w, r, owner, body)
		case "/sse":
			s.serveSSE(w, r, owner)
		case "/message":
			s.serveMessage(w, r, owner, body)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// readBody reads the whole (bounded) body under a read deadline, then clears
// the deadline: left in place it would fire while a long tool call runs and
// net/http would cancel the call's context.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyReadTimeout))
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	return io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
}

// statusRecorder remembers the status for the access log. It passes Flush
// and Unwrap through: both transports stream, and ResponseController needs
// the connection underneath.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(p)
}

func (r *statusRecorder) Flush() {
	r.wrote = true
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
