package auth

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CallbackPath is the redirect path on the loopback listener.
const CallbackPath = "/callback"

// Loopback receives the login dialog's redirect on 127.0.0.1 (RFC 8252
// §7.3): a random port unless one is given, a state check on every
// answer, and nothing but the callback path served.
type Loopback struct {
	ln     net.Listener
	srv    *http.Server
	login  *PendingLogin
	result chan callbackResult
	once   sync.Once
}

type callbackResult struct {
	code string
	err  error
}

// ListenLoopback opens 127.0.0.1:port (0 = a random free port).
func ListenLoopback(port int) (*Loopback, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("opening the loopback redirect listener: %w", err)
	}
	return &Loopback{ln: ln, result: make(chan callbackResult, 1)}, nil
}

// RedirectURI is http://127.0.0.1:PORT/callback.
func (lb *Loopback) RedirectURI() string {
	return "http://" + lb.ln.Addr().String() + CallbackPath
}

// Serve starts answering redirects for the login. Call Close when done.
func (lb *Loopback) Serve(p *PendingLogin) {
	lb.login = p
	mux := http.NewServeMux()
	mux.HandleFunc(CallbackPath, lb.handle)
	lb.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = lb.srv.Serve(lb.ln) }()
}

func (lb *Loopback) handle(w http.ResponseWriter, r *http.Request) {
	code, err, ours := lb.check(r.URL.Query())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch {
	case !ours:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, page("This is not the answer to the login igmcp started (state does not match). Start again with igmcp auth login."))
		return
	case err != nil:
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, page("Login did not complete: "+err.Error()+". You can close this tab."))
	default:
		fmt.Fprint(w, page("Logged in. Return to the terminal; you can close this tab."))
	}
	lb.deliver(callbackResult{code: code, err: err})
}

// Deliver takes the address the browser ended on, pasted by the user on a
// machine whose browser cannot reach this loopback listener. It reports
// whether the address was an answer to this login.
func (lb *Loopback) Deliver(rawURL string) bool {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return false
	}
	q := u.Query()
	if len(q) == 0 && u.Fragment != "" { // an address pasted with its query after '#'
		q, _ = url.ParseQuery(u.Fragment)
	}
	code, cerr, ours := lb.check(q)
	if !ours {
		return false
	}
	lb.deliver(callbackResult{code: code, err: cerr})
	return true
}

// check validates an answer; ours is false when the state is not this
// login's (a stray or forged request, which is ignored).
func (lb *Loopback) check(q url.Values) (code string, err error, ours bool) {
	if lb.login == nil || !lb.login.CheckState(q.Get("state")) {
		return "", nil, false
	}
	if e := q.Get("error"); e != "" {
		msg := e
		if d := q.Get("error_description"); d != "" {
			msg += ": " + d
		}
		if e == "access_denied" {
			return "", fmt.Errorf("the login was cancelled or permission was refused (%s)", msg), true
		}
		return "", fmt.Errorf("the login dialog answered %s", msg), true
	}
	code = strings.TrimSuffix(q.Get("code"), "#_")
	if code == "" {
		return "", errors.New("the redirect carried no authorization code"), true
	}
	return code, nil, true
}

func (lb *Loopback) deliver(r callbackResult) {
	lb.once.Do(func() { lb.result <- r })
}

// Wait blocks until an answer arrives or ctx ends, and returns the code.
func (lb *Loopback) Wait(ctx context.Context) (string, error) {
	select {
	case r := <-lb.result:
		return r.code, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("no answer from the login dialog: %w", ctx.Err())
	}
}

// Close stops the listener.
func (lb *Loopback) Close() {
	if lb.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = lb.srv.Shutdown(ctx)
		return
	}
	_ = lb.ln.Close()
}

func page(msg string) string {
	return `<!doctype html><meta charset="utf-8"><title>igmcp login</title>` +
		`<body style="font-family:sans-serif;margin:3em"><p>` + html.EscapeString(msg) + `</p></body>`
}
