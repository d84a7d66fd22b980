package vaulttest

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"

	alter "github.com/altersdk/alter-go"
	"github.com/altersdk/alter-go/internal/emu"
)

// call is the per-request state shared by the layers of the pipeline; the audit row is built
// from it once the answer is written.
type call struct {
	reqID        string
	op           string
	body         []byte
	start        time.Time
	status       int
	errCode      string
	key          *apiKey
	agent        *agent // the agent principal (agent key or impersonation)
	caller       string
	callerTyp    string
	userSub      string
	grant        *grant
	provider     string
	reason       string
	context      map[string]string
	method       string
	url          string
	pending      bool
	upstream     int
	noAudit      bool
	createdAgent uuid.UUID
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

// apiError is an error answer in the spec's envelope.
type apiError struct {
	status  int
	code    emu.ErrorCode
	msg     string
	details *emu.ErrorDetails
	retry   int // Retry-After seconds, when > 0
}

func (e *apiError) Error() string { return string(e.code) + ": " + e.msg }

func errf(status int, code emu.ErrorCode, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func (e *apiError) with(d emu.ErrorDetails) *apiError { e.details = &d; return e }

func ptr[T any](v T) *T { return &v }

// writeError writes the envelope and remembers the code for the audit row.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	c := callFrom(r.Context())
	c.errCode = string(e.code)
	if e.retry > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.retry))
	}
	writeJSON(w, e.status, emu.Error{
		Error:     emu.ErrorBody{Code: e.code, Message: e.msg, Details: e.details},
		RequestID: c.reqID,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal_error","message":"cannot encode the answer"},"request_id":""}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) buildHandlers() error {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(alter.OpenAPI)
	if err != nil {
		return err
	}
	doc.Servers = openapi3.Servers{{URL: "/v1"}}
	if err := doc.Validate(loader.Context); err != nil {
		return err
	}
	s.router, err = legacy.NewRouter(doc)
	if err != nil {
		return err
	}
	a := &api{s: s}
	mux := http.NewServeMux()
	s.api = emu.HandlerWithOptions(a, emu.StdHTTPServerOptions{
		BaseURL:    "/v1",
		BaseRouter: mux,
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "invalid parameter: %s", clip(err.Error())))
		},
	})
	inner := s.authenticate(s.idempotent(s.handlerFaults(s.api)))
	s.checked = inner
	if s.cfg.validate {
		v := openapi3filter.NewValidator(s.router,
			openapi3filter.Strict(true),
			openapi3filter.ValidationOptions(openapi3filter.Options{
				IncludeResponseStatus: true,
				SkipSettingDefaults:   true, // defaults would rewrite the query and break the signature
				MultiError:            true,
				AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
				SchemaValidationOptions: []openapi3.SchemaValidationOption{
					openapi3.WithStringFormatValidator("uuid",
						openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
				},
			}),
			openapi3filter.OnLog(func(ctx context.Context, msg string, err error) {
				c := callFrom(ctx)
				s.addViolation(fmt.Sprintf("%s %s: %s: %v", c.op, c.reqID, msg, err))
			}),
			openapi3filter.OnErr(func(ctx context.Context, w http.ResponseWriter, status int, code openapi3filter.ErrCode, err error) {
				r := (&http.Request{}).WithContext(ctx)
				switch code {
				case openapi3filter.ErrCodeRequestInvalid:
					writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "request does not match the API: %s", clip(err.Error())))
				case openapi3filter.ErrCodeCannotFindRoute:
					writeError(w, r, errf(http.StatusNotFound, "not_found", "no such route"))
				default:
					w.Header().Del("Idempotent-Replayed")
					writeError(w, r, errf(http.StatusInternalServerError, "contract_violation", "the vault's answer broke openapi.yaml: %s", clip(err.Error())))
				}
			}),
		)
		s.checked = v.Middleware(inner)
	}
	s.pages = s.pageMux()
	return nil
}

func clip(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 500 {
		return s[:500] + "…"
	}
	return s
}

// ServeHTTP is the whole pipeline: request id, panic recovery, body cap, routing, faults,
// contract validation, authentication, idempotency, the operation, and the audit row.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1" && !strings.HasPrefix(r.URL.Path, "/v1/") {
		s.pages.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	s.reqSeq++
	c := &call{reqID: fmt.Sprintf("req_%s%06d", randAlnum(10), s.reqSeq), start: s.now()}
	s.mu.Unlock()
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, c))
	rec := &recorder{ResponseWriter: w}
	rec.Header().Set("X-Request-Id", c.reqID)
	rec.Header().Set("X-Alter-Actor-Id", s.appID.String())
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				c.status, c.errCode = 0, "dropped"
				s.writeAudit(r, c)
				panic(p)
			}
			s.cfg.logger.Error("vaulttest: handler panic", "op", c.op, "panic", fmt.Sprint(p))
			if !rec.written {
				rec.Header().Del("Idempotent-Replayed")
				writeError(rec, r, errf(http.StatusInternalServerError, "internal_error", "internal error"))
			}
		}
		c.status = rec.status
		s.writeAudit(r, c)
		s.cfg.logger.Debug("vaulttest", "op", c.op, "method", r.Method, "path", r.URL.Path, "status", rec.status, "code", c.errCode)
	}()

	body, err := io.ReadAll(http.MaxBytesReader(rec, r.Body, s.cfg.maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(rec, r, errf(http.StatusRequestEntityTooLarge, "request_too_large", "request body over %d bytes", s.cfg.maxBodyBytes))
		} else {
			writeError(rec, r, errf(http.StatusBadRequest, "invalid_request", "cannot read the body"))
		}
		return
	}
	c.body = body
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))

	if r.URL.Host != "" || r.URL.Scheme != "" { // absolute-form target: route on the path only
		u := *r.URL
		u.Scheme, u.Host = "", ""
		r.URL = &u
	}
	route, _, err := s.router.FindRoute(r)
	if err != nil {
		s.recordRequest(r, c)
	}
	switch {
	case err != nil && err.Error() == routers.ErrMethodNotAllowed.Error(): // a RouteError carrying only the reason
		writeError(rec, r, errf(http.StatusMethodNotAllowed, "method_not_allowed", "method %s not allowed here", r.Method))
		return
	case err != nil:
		writeError(rec, r, errf(http.StatusNotFound, "not_found", "no such route"))
		return
	}
	c.op = route.Operation.OperationID
	s.recordRequest(r, c)
	if s.applyFault(rec, r, c) {
		return
	}
	s.checked.ServeHTTP(rec, r)
}

var redacted = []string{"X-Api-Key", "X-Alter-User-Token", "X-Alter-Signature", "Authorization", "Cookie"}

var userTokenField = regexp.MustCompile(`("user_token"\s*:\s*)"(?:[^"\\]|\\.)*"`)

// redactBody hides end-user tokens sent in JSON bodies.
func redactBody(b []byte) []byte {
	if !bytes.Contains(b, []byte(`"user_token"`)) {
		return b
	}
	return userTokenField.ReplaceAll(b, []byte(`$1"REDACTED"`))
}

func (s *Server) recordRequest(r *http.Request, c *call) {
	h := r.Header.Clone()
	for _, k := range redacted {
		if h.Get(k) != "" {
			h.Set(k, "REDACTED")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[c.op]++
	s.requests = append(s.requests, Request{Operation: c.op, Method: r.Method, Path: r.URL.Path, Header: h, Body: redactBody(c.body), Time: c.start})
}

func (s *Server) writeAudit(r *http.Request, c *call) {
	if c.noAudit {
		return
	}
	row := AuditRow{
		ID: uuid.New(), Time: s.now(), RequestID: c.reqID, Operation: c.op, ErrorCode: c.errCode,
		Caller: c.caller, CallerType: c.callerTyp, ProviderID: c.provider, Reason: c.reason,
		Context: c.context, Method: c.method, URL: c.url, ResponseStatus: c.upstream,
		RunID: r.Header.Get("X-Alter-Run-Id"), ThreadID: r.Header.Get("X-Alter-Thread-Id"),
		ToolCallID: r.Header.Get("X-Alter-Tool-Call-Id"),
	}
	if row.Operation == "" {
		row.Operation = "unknown"
	}
	if row.CallerType == "" {
		row.CallerType = "service"
	}
	switch {
	case c.pending:
		row.Outcome = "pending"
	case c.status >= 200 && c.status < 300:
		row.Outcome = "success"
	case c.status == 401 || c.status == 403:
		row.Outcome = "denied"
	default:
		row.Outcome = "error"
	}
	if c.key != nil {
		row.KeyPrefix = c.key.prefix()
		row.ActorID = c.key.id
		row.PrincipalType, row.PrincipalID = "system", s.appID.String()
	}
	if c.userSub != "" {
		row.PrincipalType, row.PrincipalID = "user", c.userSub
	}
	if c.agent != nil {
		row.AgentID, row.ActorID = c.agent.id, c.agent.id
		row.PrincipalType, row.PrincipalID = "agent", c.agent.id.String()
	}
	if c.grant != nil {
		row.GrantID = c.grant.id
		if row.ProviderID == "" {
			row.ProviderID = c.grant.provider
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit = append(s.audit, row)
}
