package vaulttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// apiError is an error answer in the vault's FastAPI shape:
// {"detail": {"error": code, "message": text, ...fields}}. An empty code leaves "error" out, for
// answers the spec's ErrorCode list has no code for (the SDK then maps on the status alone).
type apiError struct {
	status int
	code   string
	msg    string
	fields map[string]any
	retry  int // Retry-After seconds, when > 0
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// with adds fields to the error body (key, value pairs).
func (e *apiError) with(kv ...any) *apiError {
	if e.fields == nil {
		e.fields = map[string]any{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok && kv[i+1] != nil { // absent, never null: the spec's fields are not nullable
			e.fields[k] = kv[i+1]
		}
	}
	return e
}

func (e *apiError) retryAfter(sec int) *apiError { e.retry = sec; return e }

func (e *apiError) body() map[string]any {
	d := make(map[string]any, len(e.fields)+2)
	for k, v := range e.fields {
		d[k] = v
	}
	if e.code != "" {
		d["error"] = e.code
	}
	d["message"] = e.msg
	return map[string]any{"detail": d}
}

// writeError writes the error answer and remembers its code for the request log.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	callFrom(r.Context()).errCode = e.code
	if e.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retry))
	}
	writeJSON(w, e.status, e.body())
}

// fieldError is one entry of a FastAPI validation answer.
type fieldError struct {
	Type  string `json:"type"`
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Input any    `json:"input"`
}

// writeValidation answers 422 {"detail": [...]}, the shape FastAPI gives a request that breaks
// the declared model.
func writeValidation(w http.ResponseWriter, r *http.Request, errs []fieldError) {
	callFrom(r.Context()).errCode = "request_validation_error"
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"detail":{"message":"cannot encode the answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func clip(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// Common errors.

func errGrantNotFound(id string) *apiError {
	return errf(http.StatusNotFound, "grant_not_found", "no such grant").with("grant_id", id)
}

func errAgentNotFound(id string) *apiError {
	return errf(http.StatusNotFound, "agent_not_found", "no such agent").with("agent_id", id)
}

// writeInvalid answers a one-field FastAPI validation error.
func writeInvalid(w http.ResponseWriter, r *http.Request, loc []any, msg string, input any) {
	writeValidation(w, r, []fieldError{{Type: "value_error", Loc: loc, Msg: msg, Input: input}})
}
