package facade

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const specAns = `{"provider_kind":"oauth","provider_id":"github","version":3,"provenance":"vendor_openapi","source_url":"https://s/api.json","content_hash":"abc","operation_count":3,"fetched_at":"2026-01-02T00:00:00Z","changed_at":"2026-01-01T00:00:00Z","title":"GitHub","spec_version":"1.1.4"}`

var wantSpec = ProviderSpec{Kind: ProviderSpecKindOAuth, ProviderID: "github", Version: 3, Provenance: "vendor_openapi",
	SourceURL: "https://s/api.json", ContentHash: "abc", OperationCount: 3, FetchedAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
	ChangedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Title: "GitHub", SpecVersion: "1.1.4"}

func opsPage(items string, offset int, more bool) string {
	m := "false"
	if more {
		m = "true"
	}
	return `{"items":[` + items + `],"total":3,"limit":2,"offset":` + string(rune('0'+offset)) + `,"has_more":` + m + `,"spec":` + specAns + `}`
}

const (
	opA = `{"operation_id":"repos/get","method":"GET","path_template":"/repos/{owner}/{repo}","summary":"Get a repository"}`
	opB = `{"operation_id":"issues/create","method":"POST","path_template":"/repos/{owner}/{repo}/issues"}`
	opC = `{"operation_id":"users/get-authenticated","method":"GET","path_template":"/user","summary":null}`
)

func TestProviderSpecsWire(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("GET /sdk/provider-specs", ok(`{"items":[`+specAns+`],"total":1}`))
	v.on("GET /sdk/provider-specs/oauth/github", ok(specAns))
	v.on("GET /sdk/provider-specs/oauth/github/operations", ok(opsPage(opA+","+opB, 0, true)))
	v.on("GET /sdk/provider-specs/managed/resend/operation", ok(`{"operation_id":"post:/emails","method":"POST","path_template":"/emails","params_schema":[{"name":"x","in":"query"}],"request_schema":{"type":"object"},"response_schema":null,"spec":`+specAns+`}`))
	app := newTestApp(t, v)
	specs := app.ProviderSpecs()

	all, err := specs.List(bg, "")
	require.NoError(t, err)
	require.Equal(t, []ProviderSpec{wantSpec}, all)
	require.Empty(t, v.last("GET /sdk/provider-specs").Query, "no kind: no query")
	_, err = specs.List(bg, ProviderSpecKindManaged)
	require.NoError(t, err)
	require.Equal(t, "kind=managed", v.last("GET /sdk/provider-specs").Query)

	sp, err := specs.Get(bg, ProviderSpecKindOAuth, ProviderGitHub)
	require.NoError(t, err)
	require.Equal(t, wantSpec, sp)

	pg, err := specs.ListOperations(bg, ProviderSpecKindOAuth, ProviderGitHub, SpecOperationsParams{Search: "repo issue", Limit: 2})
	require.NoError(t, err)
	require.Equal(t, "limit=2&offset=0&search=repo+issue", v.last("GET /sdk/provider-specs/oauth/github/operations").Query, "sorted, form-encoded")
	require.Equal(t, SpecOperationsPage{Page: Page[SpecOperation]{Items: []SpecOperation{
		{ID: "repos/get", Method: "GET", PathTemplate: "/repos/{owner}/{repo}", Summary: "Get a repository"},
		{ID: "issues/create", Method: "POST", PathTemplate: "/repos/{owner}/{repo}/issues"},
	}, Total: 3, Limit: 2, HasMore: true}, Spec: wantSpec}, pg)
	_, err = specs.ListOperations(bg, ProviderSpecKindOAuth, ProviderGitHub, SpecOperationsParams{})
	require.NoError(t, err)
	require.Equal(t, "limit=100&offset=0", v.last("GET /sdk/provider-specs/oauth/github/operations").Query, "0.29.0's defaults")

	op, err := specs.GetOperation(bg, ProviderSpecKindManaged, "resend", "post:/emails")
	require.NoError(t, err)
	require.Equal(t, "operation_id=post%3A%2Femails", v.last("GET /sdk/provider-specs/managed/resend/operation").Query)
	require.Equal(t, SpecOperation{ID: "post:/emails", Method: "POST", PathTemplate: "/emails"}, op.SpecOperation)
	require.Equal(t, []json.RawMessage{json.RawMessage(`{"name":"x","in":"query"}`)}, op.ParamsSchema)
	require.JSONEq(t, `{"type":"object"}`, string(op.RequestSchema))
	require.Nil(t, op.ResponseSchema, "null: no schema")
	require.Equal(t, wantSpec, op.Spec)

	for _, r := range v.requests() {
		require.NoError(t, r.SigErr)
	}
}

func TestProviderSpecsAllOperations(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("GET /sdk/provider-specs/oauth/github/operations", ok(opsPage(opA+","+opB, 0, true)), ok(opsPage(opC, 2, false)))
	var ids []string
	for op, err := range newTestApp(t, v).ProviderSpecs().AllOperations(bg, ProviderSpecKindOAuth, ProviderGitHub, SpecOperationsParams{Limit: 2}) {
		require.NoError(t, err)
		ids = append(ids, op.ID)
	}
	require.Equal(t, []string{"repos/get", "issues/create", "users/get-authenticated"}, ids)
	require.Equal(t, "limit=2&offset=2", v.last("GET /sdk/provider-specs/oauth/github/operations").Query)

	v.on("GET /sdk/provider-specs/oauth/github/operations", reply{status: 404, body: `{"detail":{"error":"provider_spec_not_found","message":"no spec"}}`})
	n := 0
	for op, err := range newTestApp(t, v).ProviderSpecs().AllOperations(bg, ProviderSpecKindOAuth, ProviderGitHub, SpecOperationsParams{}) {
		n++
		require.Zero(t, op)
		require.ErrorIs(t, err, ErrGrantNotFound)
		var ae *APIError
		require.True(t, errors.As(err, &ae))
		require.Equal(t, ErrorCodeProviderSpecNotFound, ae.Code)
	}
	require.Equal(t, 1, n)
}

// Every input 0.29.0 refuses locally is refused before any request.
func TestProviderSpecsInput(t *testing.T) {
	v := newFakeVault(t, appKey)
	s := newTestApp(t, v).ProviderSpecs()
	for name, err := range map[string]error{
		"list kind":        func() error { _, err := s.List(bg, "OAuth"); return err }(),
		"get kind":         func() error { _, err := s.Get(bg, "secret", "x"); return err }(),
		"blank provider":   func() error { _, err := s.Get(bg, ProviderSpecKindOAuth, " "); return err }(),
		"provider ?":       func() error { _, err := s.Get(bg, ProviderSpecKindOAuth, "git?hub"); return err }(),
		"provider #":       func() error { _, err := s.Get(bg, ProviderSpecKindOAuth, "git#hub"); return err }(),
		"provider control": func() error { _, err := s.Get(bg, ProviderSpecKindOAuth, "git\x7fhub"); return err }(),
		"limit high": func() error {
			_, err := s.ListOperations(bg, ProviderSpecKindOAuth, "x", SpecOperationsParams{Limit: 501})
			return err
		}(),
		"limit negative": func() error {
			_, err := s.ListOperations(bg, ProviderSpecKindOAuth, "x", SpecOperationsParams{Limit: -1})
			return err
		}(),
		"offset negative": func() error {
			_, err := s.ListOperations(bg, ProviderSpecKindOAuth, "x", SpecOperationsParams{Offset: -1})
			return err
		}(),
		"search long": func() error {
			_, err := s.ListOperations(bg, ProviderSpecKindOAuth, "x", SpecOperationsParams{Search: strings.Repeat("é", 201)})
			return err
		}(),
		"operation blank": func() error { _, err := s.GetOperation(bg, ProviderSpecKindOAuth, "x", "\t"); return err }(),
		"operation long": func() error {
			_, err := s.GetOperation(bg, ProviderSpecKindOAuth, "x", strings.Repeat("a", 513))
			return err
		}(),
		"operation control": func() error { _, err := s.GetOperation(bg, ProviderSpecKindOAuth, "x", "get:/a\n"); return err }(),
		"operation kind":    func() error { _, err := s.GetOperation(bg, "", "x", "get:/a"); return err }(),
	} {
		require.ErrorIs(t, err, ErrInvalidInput, name)
	}
	require.Empty(t, v.requests())
	// At the limits: accepted.
	_, err := s.ListOperations(bg, ProviderSpecKindOAuth, "x", SpecOperationsParams{Limit: 500, Search: strings.Repeat("é", 200)})
	require.ErrorIs(t, err, ErrBackend, "sent (the fake vault's {} is no page)")
	_, err = s.GetOperation(bg, ProviderSpecKindOAuth, "x", strings.Repeat("a", 512))
	require.ErrorIs(t, err, ErrBackend)
	require.Len(t, v.requests(), 2)
}

func TestProviderSpecAnswersChecked(t *testing.T) {
	bad := strings.Replace(specAns, `"provenance":"vendor_openapi"`, `"provenance":""`, 1)
	v := newFakeVault(t, appKey)
	v.on("GET /sdk/provider-specs", ok(`{"items":[`+bad+`],"total":1}`), ok(`{"total":0}`))
	v.on("GET /sdk/provider-specs/oauth/x", ok(bad))
	v.on("GET /sdk/provider-specs/oauth/x/operations", ok(`{"items":[{"operation_id":"","method":"GET","path_template":"/"}],"total":1,"limit":1,"offset":0,"has_more":false,"spec":`+specAns+`}`))
	v.on("GET /sdk/provider-specs/oauth/x/operation", ok(`{"operation_id":"a","method":"","path_template":"/","spec":`+specAns+`}`))
	s := newTestApp(t, v).ProviderSpecs()
	for _, err := range []error{
		func() error { _, err := s.List(bg, ""); return err }(),
		func() error { _, err := s.List(bg, ""); return err }(),
		func() error { _, err := s.Get(bg, ProviderSpecKindOAuth, "x"); return err }(),
		func() error {
			_, err := s.ListOperations(bg, ProviderSpecKindOAuth, "x", SpecOperationsParams{})
			return err
		}(),
		func() error { _, err := s.GetOperation(bg, ProviderSpecKindOAuth, "x", "a"); return err }(),
	} {
		require.ErrorIs(t, err, ErrBackend)
	}
}

func TestEmitSpans(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/spans", ok(`{"accepted":2}`))
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	res, err := newTestApp(t, v).EmitSpans(bg, []UserSpan{
		{TraceID: "t1", Name: "plan", Start: start},
		{TraceID: "t1", SpanID: "s2", ParentSpanID: "s1", Name: "summarize", Start: start, End: start.Add(1500 * time.Millisecond),
			Attributes: map[string]string{"model": "m", "tokens": "12"}},
	})
	require.NoError(t, err)
	require.Equal(t, EmitSpansResult{Accepted: 2}, res)
	compactEq(t, `{"spans":[{"trace_id":"t1","name":"plan","start_time":"2026-01-01T12:00:00Z","attributes":{}},`+
		`{"trace_id":"t1","name":"summarize","start_time":"2026-01-01T12:00:00Z","span_id":"s2","parent_span_id":"s1","end_time":"2026-01-01T12:00:01.5Z","attributes":{"model":"m","tokens":"12"}}]}`,
		v.last("POST /sdk/spans").Body)

	v.on("POST /sdk/spans", ok(`{"accepted":-1}`))
	_, err = newTestApp(t, v).EmitSpans(bg, []UserSpan{{TraceID: "t", Name: "n", Start: start}})
	require.ErrorIs(t, err, ErrBackend)
}

func TestEmitSpansInput(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	start := time.Now()
	okSpan := UserSpan{TraceID: "t", Name: "n", Start: start}
	with := func(f func(*UserSpan)) []UserSpan { s := okSpan; f(&s); return []UserSpan{okSpan, s} }
	for name, c := range map[string]struct {
		spans []UserSpan
		field string
	}{
		"none":           {nil, "spans"},
		"too many":       {make([]UserSpan, MaxSpansPerBatch+1), "spans"},
		"no trace":       {with(func(s *UserSpan) { s.TraceID = "" }), "spans[1].TraceID"},
		"long trace":     {with(func(s *UserSpan) { s.TraceID = strings.Repeat("t", 256) }), "spans[1].TraceID"},
		"no name":        {with(func(s *UserSpan) { s.Name = "" }), "spans[1].Name"},
		"long name":      {with(func(s *UserSpan) { s.Name = strings.Repeat("é", 256) }), "spans[1].Name"},
		"long span id":   {with(func(s *UserSpan) { s.SpanID = strings.Repeat("a", 33) }), "spans[1].SpanID"},
		"long parent id": {with(func(s *UserSpan) { s.ParentSpanID = strings.Repeat("a", 33) }), "spans[1].ParentSpanID"},
		"no start":       {with(func(s *UserSpan) { s.Start = time.Time{} }), "spans[1].Start"},
	} {
		_, err := app.EmitSpans(bg, c.spans)
		require.ErrorIs(t, err, ErrInvalidInput, name)
		var ie *InputError
		require.True(t, errors.As(err, &ie), name)
		require.Equal(t, c.field, ie.Field, name)
	}
	require.Empty(t, v.requests())
	full := make([]UserSpan, MaxSpansPerBatch)
	for i := range full {
		full[i] = UserSpan{TraceID: strings.Repeat("t", 255), SpanID: strings.Repeat("s", 32), Name: strings.Repeat("é", 255), Start: start}
	}
	v.on("POST /sdk/spans", ok(`{"accepted":50}`))
	res, err := app.EmitSpans(bg, full)
	require.NoError(t, err)
	require.Equal(t, 50, res.Accepted)
}

// The spec reads are in the retry set; EmitSpans is retried only when every span has its own id
// (a span without one would count twice).
func TestProviderSpecsRetried(t *testing.T) {
	v := newFakeVault(t, appKey)
	busy := reply{status: 503, body: `{"detail":{"error":"service_unavailable","message":"busy"}}`}
	v.on("GET /sdk/provider-specs/oauth/github", busy, ok(specAns))
	v.on("POST /sdk/spans", busy, busy, ok(`{"accepted":2}`))
	app := newTestApp(t, v, WithRetryPolicy(RetryPolicy{InitialBackoff: time.Millisecond}))
	sp, err := app.ProviderSpecs().Get(bg, ProviderSpecKindOAuth, ProviderGitHub)
	require.NoError(t, err)
	require.Equal(t, wantSpec, sp)
	require.Equal(t, 2, v.count("GET /sdk/provider-specs/oauth/github"))
	now := time.Now()
	_, err = app.EmitSpans(bg, []UserSpan{{TraceID: "t", SpanID: "a", Name: "n", Start: now}, {TraceID: "t", Name: "n", Start: now}})
	require.ErrorIs(t, err, ErrBackend)
	require.Equal(t, 1, v.count("POST /sdk/spans"), "one span without an id: sent once")
	res, err := app.EmitSpans(bg, []UserSpan{{TraceID: "t", SpanID: "a", Name: "n", Start: now}, {TraceID: "t", SpanID: "b", Name: "n", Start: now}})
	require.NoError(t, err)
	require.Equal(t, 2, res.Accepted)
	require.Equal(t, 3, v.count("POST /sdk/spans"), "every span with its id: retried")
}
