package httpserver

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// originPolicy decides which browser Origins may call the server. The MCP
// transport specification requires servers to validate Origin against DNS
// rebinding: a page on evil.example whose name resolves to 127.0.0.1 must
// not drive a local server from the victim's browser. Requests without an
// Origin (every non-browser client) are not affected.
type originPolicy struct {
	allowed map[string]bool // normalized origins; nil: loopback origins only
}

// ParseOrigins validates IGMCP_ALLOWED_ORIGINS: a comma list of origins such
// as https://app.example.com or http://localhost:5173. When set it replaces
// the default (loopback origins only), as docs/reference.md §2 says.
func ParseOrigins(s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		n, ok := normalizeOrigin(o)
		if !ok {
			return nil, fmt.Errorf("IGMCP_ALLOWED_ORIGINS: %q is not an origin like https://app.example.com (scheme and host, no path, no wildcard)", o)
		}
		out = append(out, n)
	}
	return out, nil
}

func newOriginPolicy(origins []string) *originPolicy {
	if len(origins) == 0 {
		return &originPolicy{}
	}
	p := &originPolicy{allowed: map[string]bool{}}
	for _, o := range origins {
		if n, ok := normalizeOrigin(o); ok {
			p.allowed[n] = true
		}
	}
	return p
}

func (p *originPolicy) allows(origin string) bool {
	n, ok := normalizeOrigin(origin)
	if !ok {
		return false // "null" (sandboxed frames, file://) and garbage
	}
	if p.allowed != nil {
		return p.allowed[n]
	}
	u, _ := url.Parse(n)
	return isLoopbackHost(u.Hostname())
}

// normalizeOrigin lower-cases scheme and host and drops the scheme's default
// port, so "HTTPS://App.example.com:443" and "https://app.example.com" match.
func normalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, "*") || host == "" {
		return "", false
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// IsLoopback reports whether a --listen address only accepts connections
// from this machine: 127.0.0.0/8, ::1 or the name localhost. An empty host
// (":8080") listens on every interface and is not loopback.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	return isLoopbackHost(host)
}

func isLoopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// corsHeaders answers a request from an allowed browser Origin: without
// them the browser would hide the response from the page that was allowed.
// Request headers are reflected only when they are ones MCP uses.
func corsHeaders(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate")
	if r.Method != http.MethodOptions {
		return
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	var allowed []string
	for _, name := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
		name = strings.TrimSpace(name)
		switch l := strings.ToLower(name); {
		case l == "authorization", l == "content-type", l == "accept", l == "last-event-id", strings.HasPrefix(l, "mcp-"):
			allowed = append(allowed, name)
		}
	}
	if len(allowed) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(allowed, ", "))
	}
	h.Set("Access-Control-Max-Age", "600")
}
