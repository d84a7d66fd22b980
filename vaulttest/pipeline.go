package vaulttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	alter "github.com/altersdk/alter-go"
	"github.com/altersdk/alter-go/internal/emu"
)

// call is the per-request state shared by the layers of the pipeline.
type call struct {
	reqID      string
	op         string
	route      *routers.Route
	pathParams map[string]string
	body       []byte
	start      time.Time
	errCode    string
	key        *apiKey
	p          principal
	rule       *requestRule // X-Alter-Request-Rule, parsed when the call authenticates
	overLimit  *apiError    // the key is over its rate window
	logged     bool         // the request log entry is written (a dropped connection logs before closing)
}

type ctxKey struct{}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(ctxKey{}).(*call)
	if c == nil {
		return &call{}
	}
	return c
}

// recorder remembers the status and whether anything was written.
type recorder struct {
	http.ResponseWriter
	status  int
	written bool
}

func (r *recorder) WriteHeader(code int) {
	if r.written {
		return
	}
	r.status, r.written = code, true
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.written {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// buffer holds an answer until the response validator has seen it.
type buffer struct {
	w      http.ResponseWriter
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *buffer) Header() http.Header { return b.header }

func (b *buffer) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *buffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *buffer) Unwrap() http.ResponseWriter { return b.w }

func (b *buffer) flush() {
	h := b.w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.w.WriteHeader(b.status)
	_, _ = b.w.Write(b.body.Bytes())
}

var validationOptions = &openapi3filter.Options{
	IncludeResponseStatus: true,
	SkipSettingDefaults:   true, // defaults would rewrite the query and break the signature
	MultiError:            true,
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
}

func (s *Server) buildHandlers() error {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(alter.OpenAPI)
	if err != nil {
		return err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return err
	}
	s.doc = doc
	apiMux := http.NewServeMux()
	s.api = emu.HandlerWithOptions(&api{s: s}, emu.StdHTTPServerOptions{
		BaseRouter: apiMux,
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeValidation(w, r, []fieldError{{Type: "value_error", Loc: []any{"request"}, Msg: clip(err.Error())}})
		},
	})
	s.ops = http.NewServeMux()
	if err := s.registerRoutes(doc); err != nil {
		return err
	}
	s.ops.HandleFunc("/", s.noRoute)
	s.pages = s.pageMux()
	s.dev = s.devMux()
	return nil
}

func (s *Server) registerRoutes(doc *openapi3.T) (err error) {
	defer func() { // ServeMux panics on conflicting patterns: a spec problem, reported as an error
		if p := recover(); p != nil {
			err = fmt.Errorf("routing the spec: %v", p)
		}
	}()
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			route := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
			names := pathParamNames(path)
			s.ops.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
				c := callFrom(r.Context())
				c.op, c.route = op.OperationID, route
				c.pathParams = make(map[string]string, len(names))
				for _, n := range names {
					c.pathParams[n] = r.PathValue(n)
				}
				s.serveOperation(w, r, c)
			})
		}
	}
	return nil
}

var paramRE = regexp.MustCompile(`\{([^}]+)\}`)

func pathParamNames(path string) []string {
	var out []string
	for _, m := range paramRE.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// noRoute answers as FastAPI does: 405 when the path exists with another method, else 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.ops.Handler(probe); pattern != "/" && pattern != "" {
			callFrom(r.Context()).errCode = "method_not_allowed"
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
			return
		}
	}
	callFrom(r.Context()).errCode = "not_found"
	writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
}

// ServeHTTP is the whole pipeline: request id, panic recovery, body cap, routing, faults,
// authentication, rate limit, contract validation, the operation, and the request log.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqSeq++
	seq := s.reqSeq
	s.mu.Unlock()
	c := &call{reqID: fmt.Sprintf("req_%s%08d", randAlnum(10), seq), start: s.now()}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, c))
	rec := &recorder{ResponseWriter: w}
	rec.Header().Set("X-Request-ID", c.reqID)

	if strings.HasPrefix(r.URL.Path, "/_dev/") {
		s.serveDev(rec, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/sdk/") {
		s.pages.ServeHTTP(rec, r)
		return
	}
	s.meter(rec, r, c)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				c.errCode = "dropped"
				s.logRequest(r, c, 0)
				panic(p)
			}
			s.cfg.logger.Error("vaulttest: handler panic", "op", c.op, "panic", fmt.Sprint(p))
			if !rec.written {
				writeError(rec, r, errf(http.StatusInternalServerError, "", "internal error"))
			}
		}
		if !c.logged {
			s.logRequest(r, c, rec.status)
		}
		s.cfg.logger.Debug("vaulttest", "op", c.op, "method", r.Method, "path", r.URL.Path, "status", rec.status, "code", c.errCode)
	}()

	body, err := io.ReadAll(http.MaxBytesReader(rec, r.Body, s.cfg.maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(rec, r, errf(http.StatusRequestEntityTooLarge, "", "request body over %d bytes", s.cfg.maxBodyBytes))
		} else {
			writeError(rec, r, errf(http.StatusBadRequest, "", "cannot read the body"))
		}
		return
	}
	c.body = body
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	if r.URL.Host != "" || r.URL.Scheme != "" { // absolute-form target: route and verify on the path
		u := *r.URL
		u.Scheme, u.Host = "", ""
		r.URL = &u
		r.RequestURI = u.RequestURI()
	}
	s.ops.ServeHTTP(rec, r)
}

// serveOperation runs one spec operation: outer faults, authentication, rate limit, request
// validation, inner faults, the handler, response validation.
func (s *Server) serveOperation(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	s.calls[c.op]++
	s.mu.Unlock()
	if s.applyFault(w, r, c) {
		return
	}
	b := &buffer{w: w, header: http.Header{}}
	s.handle(b, r, c)
	if s.cfg.validate {
		s.checkResponse(b, r, c)
	}
	b.flush()
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, c *call) {
	if e := s.authenticate(w, r, c); e != nil {
		writeError(w, r, e)
		return
	}
	if s.cfg.validate {
		if errs := s.checkRequest(r, c); len(errs) > 0 {
			writeValidation(w, r, errs)
			return
		}
	}
	if f := s.takeFault(c.op, true); f != nil {
		if f.Panic {
			panic("vaulttest: injected panic in " + c.op)
		}
		writeJSON(w, http.StatusOK, map[string]any{"unexpected": true})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(c.body))
	s.api.ServeHTTP(w, r)
}

func (s *Server) validationInput(r *http.Request, c *call) *openapi3filter.RequestValidationInput {
	vr := r.Clone(r.Context())
	vr.Body = io.NopCloser(bytes.NewReader(c.body))
	return &openapi3filter.RequestValidationInput{Request: vr, PathParams: c.pathParams, Route: c.route, Options: validationOptions}
}

// checkRequest validates the request against the spec; a failure is a client error (422), not a
// violation of the emulator.
func (s *Server) checkRequest(r *http.Request, c *call) []fieldError {
	err := openapi3filter.ValidateRequest(r.Context(), s.validationInput(r, c))
	if err == nil {
		return nil
	}
	var errs []error
	var me openapi3.MultiError
	if errors.As(err, &me) {
		errs = me
	} else {
		errs = []error{err}
	}
	out := make([]fieldError, 0, len(errs))
	for _, e := range errs {
		out = append(out, toFieldError(e))
	}
	return out
}

func toFieldError(err error) fieldError {
	fe := fieldError{Type: "value_error", Loc: []any{"body"}, Msg: clip(err.Error())}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		if re.Parameter != nil {
			fe.Loc = []any{re.Parameter.In, re.Parameter.Name}
		}
		if re.Reason != "" {
			fe.Msg = re.Reason
		}
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		for _, p := range se.JSONPointer() {
			fe.Loc = append(fe.Loc, p)
		}
		fe.Msg, fe.Input = se.Reason, se.Value
		if se.SchemaField == "required" {
			fe.Type = "missing"
		}
	}
	return fe
}

// checkResponse validates the buffered answer; a failure is the emulator's bug: it is recorded
// and the answer replaced by a 500 contract_violation so that it cannot go unnoticed.
func (s *Server) checkResponse(b *buffer, r *http.Request, c *call) {
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	in := &openapi3filter.ResponseValidationInput{RequestValidationInput: s.validationInput(r, c),
		Status: status, Header: b.header, Options: validationOptions}
	in.SetBodyBytes(b.body.Bytes())
	err := openapi3filter.ValidateResponse(r.Context(), in)
	if err == nil {
		return
	}
	s.addViolation(fmt.Sprintf("%s %s: response %d: %v", c.op, c.reqID, status, clip(err.Error())))
	b.body.Reset()
	b.status = 0
	b.header.Del("Retry-After")
	writeError(b, r, errf(http.StatusInternalServerError, "", "the vault's answer broke openapi.yaml: %s", clip(err.Error())))
}

var redactedHeaders = []string{"X-Api-Key", "Authorization", "Cookie"}

var userTokenField = regexp.MustCompile(`("(?:user_token|token)"\s*:\s*)"(?:[^"\\]|\\.)*"`)

// redactBody hides end-user tokens sent in JSON bodies.
func redactBody(b []byte) []byte {
	if !bytes.Contains(b, []byte(`token"`)) {
		return b
	}
	return userTokenField.ReplaceAll(b, []byte(`$1"REDACTED"`))
}

// redacted is a copy of q with the API key and end-user tokens hidden.
func (q Request) redacted() Request {
	q.Header = q.Header.Clone()
	for _, k := range redactedHeaders {
		if q.Header.Get(k) != "" {
			q.Header.Set(k, "REDACTED")
		}
	}
	q.Body = redactBody(q.Body)
	return q
}

// logRequest keeps the request as received; Requests redacts it, the dev API (loopback only,
// emulator secrets only) serves it verbatim for wire comparisons.
func (s *Server) logRequest(r *http.Request, c *call, status int) {
	h := r.Header.Clone()
	op := c.op
	if op == "" {
		op = "unknown"
	}
	req := Request{Operation: op, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: h,
		Body: c.body, Status: status, Time: c.start}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests.push(req)
}
