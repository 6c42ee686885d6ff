package fakegraph

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultVersion is reported in the facebook-api-version header for
// unversioned calls.
const DefaultVersion = "v25.0"

var versionRE = regexp.MustCompile(`^v\d+\.\d+$`)

// request is one parsed incoming call.
type request struct {
	r        *http.Request
	method   string
	path     string // unversioned
	version  string
	segs     []string
	params   url.Values // without access_token
	token    string
	tokenSrc string
	bodyLen  int64 // rupload: bytes received (the bytes themselves are discarded)
	badBody  bool

	ti   *tokenInfo
	acct *account // the account whose BUC usage this call counts against
}

// recordedHeaders are the request headers kept in Call.Header.
var recordedHeaders = []string{"User-Agent", "Content-Type", "Offset", "File_size", "File_url", "Idempotency-Key"}

func parseRequest(r *http.Request) *request {
	q := &request{r: r, method: r.Method, params: url.Values{}}
	p := r.URL.Path
	if p == "" {
		p = "/"
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) > 0 && versionRE.MatchString(segs[0]) {
		q.version = segs[0]
		segs = segs[1:]
	}
	if len(segs) == 1 && segs[0] == "" {
		segs = nil
	}
	q.segs = segs
	q.path = "/" + strings.Join(segs, "/")

	query := r.URL.Query()
	var bodyVals url.Values
	isUpload := len(segs) > 0 && segs[0] == "ig-api-upload"
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var jsonTok string
	switch {
	case r.Body == nil:
	case isUpload:
		q.bodyLen, _ = io.Copy(io.Discard, r.Body)
	case ct == "application/json":
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if len(bytes.TrimSpace(raw)) > 0 {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				q.badBody = true
			}
			bodyVals = url.Values{}
			for k, v := range m {
				var str string
				if json.Unmarshal(v, &str) == nil {
					bodyVals.Set(k, str)
				} else {
					var buf bytes.Buffer
					if json.Compact(&buf, v) == nil {
						bodyVals.Set(k, buf.String())
					} else {
						bodyVals.Set(k, string(v))
					}
				}
			}
			jsonTok = bodyVals.Get("access_token")
		}
	case ct == "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err == nil && r.MultipartForm != nil {
			bodyVals = url.Values(r.MultipartForm.Value)
		} else {
			q.badBody = true
		}
	default:
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			raw, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
			if vals, err := url.ParseQuery(string(raw)); err == nil {
				bodyVals = vals
			} else if len(raw) > 0 {
				q.badBody = true
			}
		}
	}

	// Token: an access_token parameter (query, then body) wins over the
	// Authorization header (test assumption: Meta does not document which
	// wins when both are sent).
	switch {
	case query.Get("access_token") != "":
		q.token, q.tokenSrc = query.Get("access_token"), "query"
	case jsonTok != "":
		q.token, q.tokenSrc = jsonTok, "json"
	case bodyVals.Get("access_token") != "":
		q.token, q.tokenSrc = bodyVals.Get("access_token"), "form"
	default:
		h := strings.TrimSpace(r.Header.Get("Authorization"))
		if scheme, tok, ok := strings.Cut(h, " "); ok {
			switch strings.ToLower(scheme) {
			case "bearer":
				q.token, q.tokenSrc = strings.TrimSpace(tok), "bearer"
			case "oauth":
				q.token, q.tokenSrc = strings.TrimSpace(tok), "oauth"
			}
		}
	}
	for k, vs := range query {
		if k != "access_token" {
			q.params[k] = append(q.params[k], vs...)
		}
	}
	for k, vs := range bodyVals {
		if k != "access_token" {
			q.params[k] = append(q.params[k], vs...)
		}
	}
	return q
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := parseRequest(r)
	call := s.recordStart(q)
	defer s.recordEnd(call)

	if !sleepCtx(r.Context(), s.opts.Latency) {
		s.recordAborted(call)
		return
	}
	delay, f := s.matchFaults(q)
	if f != nil {
		s.recordFault(call, f.Action)
	}
	if !sleepCtx(r.Context(), delay) {
		s.recordAborted(call)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.respond(w, sw, q, f)
	s.recordStatus(call, sw) // stays 0 when the connection was dropped
}

// respond answers the call, or misbehaves as the fault f says.
func (s *Server) respond(w http.ResponseWriter, sw *statusWriter, q *request, f *Fault) {
	if f == nil {
		s.serve(sw, q)
		return
	}
	switch f.Action {
	case FaultGraphError:
		s.writeError(sw, specError(f.GraphError))
	case FaultHTTP500:
		st := 500
		if f.GraphError != nil {
			st = f.GraphError.HTTPStatus
		}
		writeEdge5xx(sw, st)
	case FaultDrop:
		drop(w)
	case FaultDropThenApplyLater:
		s.applyLater(q, f.ApplyAfter) // counted as pending before the client can see the drop
		drop(w)
	case FaultPublishThenFail:
		rec := httptest.NewRecorder()
		s.serve(rec, q)
		switch {
		case rec.Code >= 300: // the work failed for real: nothing went live
			copyRecorder(sw, rec)
		case f.GraphError != nil:
			for _, k := range []string{"X-Business-Use-Case-Usage", "X-App-Usage", "Facebook-Api-Version"} {
				if v := rec.Header().Get(k); v != "" {
					sw.Header().Set(k, v)
				}
			}
			s.writeError(sw, specError(f.GraphError))
		default:
			drop(w)
		}
	default:
		s.serve(sw, q)
	}
}

func copyRecorder(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// statusWriter keeps the status of an answer and, for a Graph error
// envelope, its code and subcode (for Call).
type statusWriter struct {
	http.ResponseWriter
	status        int
	code, subcode int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status >= 400 && w.code == 0 {
		var env struct {
			Error struct {
				Code    json.Number `json:"code"`
				Subcode int         `json:"error_subcode"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &env) == nil {
			n, _ := env.Error.Code.Int64() // a string code records 0
			w.code, w.subcode = int(n), env.Error.Subcode
		}
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) recordStart(q *request) *Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev++
	h := http.Header{}
	for _, k := range recordedHeaders {
		if v := q.r.Header.Values(k); len(v) > 0 {
			h[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
		}
	}
	params := cloneValues(q.params)
	for _, k := range secretParams {
		if _, ok := params[k]; ok {
			params[k] = []string{"[redacted]"}
		}
	}
	c := &Call{Method: q.method, Path: q.path, Version: q.version, Params: params,
		Token: q.token, TokenSource: q.tokenSrc, Header: h, Time: s.now(), start: s.ev}
	s.calls = append(s.calls, c)
	return c
}

func (s *Server) recordEnd(c *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev++
	c.end = s.ev
}

// recordAborted marks a call whose client went away before the fake acted
// on it: nothing happened (Instagram might have acted; clients must be
// right either way, and this is the case where a resend is harmless).
func (s *Server) recordAborted(c *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Aborted = true
}

func (s *Server) recordStatus(c *Call, w *statusWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Status, c.ErrorCode, c.ErrorSubcode = w.status, w.code, w.subcode
}

// serve does the work of one call (auth, usage, routing) under the lock.
func (s *Server) serve(w http.ResponseWriter, q *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliverDueStoryInsights()
	v := q.version
	if v == "" {
		v = DefaultVersion
	}
	w.Header().Set("facebook-api-version", v)
	w.Header().Set("x-fb-trace-id", traceID()[:11])

	if len(q.segs) > 0 {
		switch q.segs[0] {
		case "ig-api-upload":
			s.serveUpload(w, q)
			return
		case "oauth", "access_token", "refresh_access_token", "dialog", "debug_token":
			s.serveTokenEndpoint(w, q)
			return
		}
	}
	if q.badBody {
		s.writeError(w, errParam("Invalid JSON or form body"))
		return
	}
	if e := s.authenticate(q); e != nil {
		s.writeError(w, e)
		return
	}
	q.acct = s.usageAccount(q)
	if q.acct != nil {
		if e := s.chargeUsage(w, q.acct); e != nil {
			s.writeError(w, e)
			return
		}
	}
	if e := s.route(w, q); e != nil {
		s.writeError(w, e)
	}
}

// authenticate checks the token, its expiry and appsecret_proof.
func (s *Server) authenticate(q *request) *apiError {
	if q.token == "" {
		return errNoToken()
	}
	ti := s.tokens[q.token]
	if ti == nil {
		return errBadToken()
	}
	now := s.now()
	if !ti.expiry.IsZero() && !now.Before(ti.expiry) {
		return errExpiredToken(ti.expiry, now)
	}
	if s.opts.AppSecret != "" {
		proof := q.params.Get("appsecret_proof")
		if proof == "" {
			return errProofMissing()
		}
		got, err := hex.DecodeString(proof)
		mac := hmac.New(sha256.New, []byte(s.opts.AppSecret))
		mac.Write([]byte(q.token))
		if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
			return errProofInvalid()
		}
	}
	q.ti = ti
	return nil
}

// usageAccount is the account a call is charged to: the owner of the
// object addressed when the token may act on it, else the token's first
// account.
func (s *Server) usageAccount(q *request) *account {
	if len(q.segs) > 0 {
		if a := s.ownerOf(q.segs[0], q.ti); a != nil && q.ti.owns(a) {
			return a
		}
	}
	if len(q.ti.accounts) > 0 {
		return q.ti.accounts[0]
	}
	return nil
}

// ownerOf is the account owning object id ("me" resolves through the token).
func (s *Server) ownerOf(id string, ti *tokenInfo) *account {
	if id == "me" {
		if len(ti.accounts) > 0 {
			return ti.accounts[0]
		}
		return nil
	}
	if a := s.acctByID[id]; a != nil {
		return a
	}
	if a := s.pages[id]; a != nil {
		return a
	}
	switch o := s.objs[id].(type) {
	case *container:
		return o.acct
	case *media:
		return o.acct
	case *comment:
		return o.media.acct
	}
	return nil
}

// --- ids ---------------------------------------------------------------------

// newID returns a fresh, unique, 17-digit id starting with prefix (5 digits).
func (s *Server) newID(prefix string) (string, int64) {
	s.seq++
	return prefix + leftPad(strconv.FormatInt(s.seq, 10), 12), s.seq
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// derivedID is a stable numeric id of n digits after prefix, from key.
func derivedID(prefix, key string, n int) string {
	h := hash64(key)
	d := strconv.FormatUint(h, 10)
	for len(d) < n {
		d += strconv.FormatUint(hash64(d), 10)
	}
	return prefix + d[:n]
}

// igsid is the stable IG-scoped id of a simulated other user.
func igsid(username string) string { return derivedID("1784", "user:"+username, 13) }

func hash64(s string) uint64 {
	h := sha256.Sum256([]byte(s))
	var v uint64
	for i := 0; i < 8; i++ {
		v = v<<8 | uint64(h[i])
	}
	return v
}

// isoTime formats a timestamp like Graph: 2006-01-02T15:04:05+0000.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-0700") }

// requiredBool reads a required boolean parameter (hide, comment_enabled).
func requiredBool(q *request, name string) (bool, *apiError) {
	v := q.params.Get(name)
	if v == "" {
		return false, errRequired(name)
	}
	b, ok := parseBoolParam(v)
	if !ok {
		return false, errParam("Param %s must be a boolean", name)
	}
	return b, nil
}

func parseBoolParam(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}
