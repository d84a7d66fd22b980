package facade

import (
	"context"
	"encoding/json"
	"io"
	"iter"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/altersdk/alter-go/gen"
)

// ProviderSpecKind is the family of provider a spec describes.
type ProviderSpecKind string

// The provider families of the spec store.
const (
	ProviderSpecKindOAuth   ProviderSpecKind = "oauth"   // an OAuth provider
	ProviderSpecKindManaged ProviderSpecKind = "managed" // a managed-secret provider template
)

// ProviderSpecs is the provider API spec namespace (ProviderSpecs on an App or an Agent): which
// operations a provider's API has, with their JSON Schemas, so an agent can find the method and
// path of a call mid-run. Every call needs the providers:read scope. A provider without an active
// spec, or an operation its spec lacks, is a *GrantNotFoundError whose Code is
// ErrorCodeProviderSpecNotFound or ErrorCodeOperationNotFound.
type ProviderSpecs struct{ c *client }

// ProviderSpecs returns the provider API spec namespace.
func (c *client) ProviderSpecs() *ProviderSpecs { return &ProviderSpecs{c: c} }

// ProviderSpec is the metadata of a provider's active API spec: its freshness and provenance.
type ProviderSpec struct {
	Kind           ProviderSpecKind // as the vault reports it (not checked against the known kinds)
	ProviderID     string
	Version        int    // grows with each change of the provider's spec
	Provenance     string // where the spec was ingested from
	SourceURL      string // the upstream spec document ("" when unknown)
	ContentHash    string // hash of the ingested spec: pin a version with it
	OperationCount int
	FetchedAt      time.Time // when the spec was last ingested
	ChangedAt      time.Time // when this version last changed
	Title          string    // the spec document's title ("" when none)
	SpecVersion    string    // the upstream spec's own version ("" when none)
}

// SpecOperation is one operation of a provider spec.
type SpecOperation struct {
	ID           string // the spec's operation id, opaque (e.g. "repos/get", "post:/emails")
	Method       string // its HTTP method
	PathTemplate string // its path, with {parameters}
	Summary      string // "" when the spec has none
}

// SpecOperationsPage is one page of a spec's operations, and the spec it was served from.
type SpecOperationsPage struct {
	Page[SpecOperation]
	Spec ProviderSpec
}

// SpecOperationDetail is one operation with its JSON Schemas, verbatim (nil when the spec has
// none); compile them with any JSON Schema library to check a call before making it.
type SpecOperationDetail struct {
	SpecOperation
	ParamsSchema   []json.RawMessage // one schema per parameter
	RequestSchema  json.RawMessage   // the request body's schema
	ResponseSchema json.RawMessage   // the response body's schema
	Spec           ProviderSpec      // the spec the operation belongs to
}

// SpecOperationsParams page and filter ListOperations.
type SpecOperationsParams struct {
	Search string // substring of the operation id, path or summary, at most 200 characters ("": none)
	Limit  int    // page size, 1..500 (0: 100)
	Offset int    // operations to skip
}

func (p SpecOperationsParams) at(offset int) SpecOperationsParams { p.Offset = offset; return p }

// Limits of the spec store's parameters (the vault's own).
const (
	maxSpecSearch      = 200
	maxSpecPageLimit   = 500
	maxSpecOperationID = 512
)

func specCall(op string) *call {
	return &call{op: op, surface: surfaceShared, actor: true, ctxHeader: true}
}

// List returns the active spec metadata of every provider of kind ("" for both kinds).
func (s *ProviderSpecs) List(ctx context.Context, kind ProviderSpecKind) ([]ProviderSpec, error) {
	params := &gen.ListProviderSpecsParams{}
	if kind != "" {
		if err := checkSpecKind(kind); err != nil {
			return nil, err
		}
		k := gen.ProviderSpecKind(kind)
		params.Kind = &k
	}
	out, err := sendValid(ctx, s.c, specCall("listProviderSpecs"), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.ListProviderSpecs(ctx, params)
	}, func(l *gen.ProviderSpecList) bool {
		for i := range l.Items {
			if !validSpec(&l.Items[i]) {
				return false
			}
		}
		return l.Items != nil
	})
	if err != nil {
		return nil, err
	}
	specs := make([]ProviderSpec, len(out.Items))
	for i := range out.Items {
		specs[i] = specFrom(out.Items[i])
	}
	return specs, nil
}

// Get returns the active spec metadata of one provider.
func (s *ProviderSpecs) Get(ctx context.Context, kind ProviderSpecKind, providerID string) (ProviderSpec, error) {
	if err := checkSpecTarget(kind, providerID); err != nil {
		return ProviderSpec{}, err
	}
	out, err := sendValid(ctx, s.c, specCall("getProviderSpec"), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.GetProviderSpec(ctx, gen.ProviderSpecKind(kind), providerID)
	}, validSpec)
	if err != nil {
		return ProviderSpec{}, err
	}
	return specFrom(out), nil
}

// ListOperations returns one page of a provider's operations.
func (s *ProviderSpecs) ListOperations(ctx context.Context, kind ProviderSpecKind, providerID string, p SpecOperationsParams) (SpecOperationsPage, error) {
	if err := checkSpecTarget(kind, providerID); err != nil {
		return SpecOperationsPage{}, err
	}
	if p.Limit < 0 || p.Limit > maxSpecPageLimit {
		return SpecOperationsPage{}, inputErr("SpecOperationsParams.Limit", "must be between 1 and 500 (0 for the default)", nil)
	}
	if p.Offset < 0 {
		return SpecOperationsPage{}, inputErr("SpecOperationsParams.Offset", "must not be negative", nil)
	}
	if utf8.RuneCountInString(p.Search) > maxSpecSearch {
		return SpecOperationsPage{}, inputErr("SpecOperationsParams.Search", "must be at most 200 characters", nil)
	}
	limit := p.Limit
	if limit == 0 {
		limit = 100
	}
	params := &gen.ListProviderOperationsParams{Limit: &limit, Offset: &p.Offset, Search: optStr(p.Search)}
	out, err := sendValid(ctx, s.c, specCall("listProviderOperations"), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.ListProviderOperations(ctx, gen.ProviderSpecKind(kind), providerID, params)
	}, func(pg *gen.SpecOperationsPage) bool {
		for _, op := range pg.Items {
			if !validOperation(op.OperationID, op.Method, op.PathTemplate) {
				return false
			}
		}
		return pg.Items != nil && validSpec(&pg.Spec)
	})
	if err != nil {
		return SpecOperationsPage{}, err
	}
	pg := SpecOperationsPage{Page: Page[SpecOperation]{Items: make([]SpecOperation, 0, len(out.Items)), Total: out.Total,
		Limit: out.Limit, Offset: out.Offset, HasMore: out.HasMore}, Spec: specFrom(out.Spec)}
	for _, op := range out.Items {
		pg.Items = append(pg.Items, SpecOperation{ID: op.OperationID, Method: op.Method, PathTemplate: op.PathTemplate,
			Summary: derefStr(op.Summary)})
	}
	return pg, nil
}

// AllOperations iterates over every operation of a provider matching p, page after page from
// p.Offset. It stops after the first error, which it yields with a zero SpecOperation.
func (s *ProviderSpecs) AllOperations(ctx context.Context, kind ProviderSpecKind, providerID string, p SpecOperationsParams) iter.Seq2[SpecOperation, error] {
	return allPages(ctx, p, p.Offset, func(ctx context.Context, p SpecOperationsParams) (Page[SpecOperation], error) {
		pg, err := s.ListOperations(ctx, kind, providerID, p)
		return pg.Page, err
	})
}

// GetOperation returns one operation of a provider's spec with its schemas. The operation id is
// opaque: reserved characters are fine (it travels in the query).
func (s *ProviderSpecs) GetOperation(ctx context.Context, kind ProviderSpecKind, providerID, operationID string) (SpecOperationDetail, error) {
	if err := checkSpecTarget(kind, providerID); err != nil {
		return SpecOperationDetail{}, err
	}
	switch {
	case strings.TrimSpace(operationID) == "":
		return SpecOperationDetail{}, inputErr("operationID", "required", nil)
	case utf8.RuneCountInString(operationID) > maxSpecOperationID:
		return SpecOperationDetail{}, inputErr("operationID", "must be at most 512 characters", nil)
	case hasControl(operationID):
		return SpecOperationDetail{}, inputErr("operationID", "must not contain control characters", nil)
	}
	params := &gen.GetProviderOperationParams{OperationID: operationID}
	out, err := sendValid(ctx, s.c, specCall("getProviderOperation"), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.GetProviderOperation(ctx, gen.ProviderSpecKind(kind), providerID, params)
	}, func(d *gen.SpecOperationDetail) bool {
		return validOperation(d.OperationID, d.Method, d.PathTemplate) && validSpec(&d.Spec)
	})
	if err != nil {
		return SpecOperationDetail{}, err
	}
	return SpecOperationDetail{
		SpecOperation: SpecOperation{ID: out.OperationID, Method: out.Method, PathTemplate: out.PathTemplate, Summary: derefStr(out.Summary)},
		ParamsSchema:  out.ParamsSchema, RequestSchema: derefRaw(out.RequestSchema), ResponseSchema: derefRaw(out.ResponseSchema),
		Spec: specFrom(out.Spec),
	}, nil
}

func checkSpecKind(kind ProviderSpecKind) error {
	if kind != ProviderSpecKindOAuth && kind != ProviderSpecKindManaged {
		return inputErr("kind", `must be "oauth" or "managed"`, nil)
	}
	return nil
}

// checkSpecTarget refuses a kind outside the two and a provider id that is blank or holds '?',
// '#' or a control character: each survives the path escaping and changes the path the vault
// decodes, so the signature could never match.
func checkSpecTarget(kind ProviderSpecKind, providerID string) error {
	if err := checkSpecKind(kind); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(providerID) == "":
		return inputErr("providerID", "required", nil)
	case hasControl(providerID):
		return inputErr("providerID", "must not contain control characters", nil)
	case strings.ContainsAny(providerID, "?#"):
		return inputErr("providerID", "must not contain '?' or '#'", nil)
	}
	return nil
}

// validSpec: 0.29.0 refuses a spec whose required strings are empty.
func validSpec(sp *gen.ProviderSpec) bool {
	return sp.ProviderKind != "" && sp.ProviderID != "" && sp.Provenance != "" && sp.ContentHash != ""
}

func validOperation(id, method, path string) bool { return id != "" && method != "" && path != "" }

func specFrom(g gen.ProviderSpec) ProviderSpec {
	return ProviderSpec{Kind: ProviderSpecKind(g.ProviderKind), ProviderID: g.ProviderID, Version: g.Version,
		Provenance: g.Provenance, SourceURL: derefStr(g.SourceURL), ContentHash: g.ContentHash,
		OperationCount: g.OperationCount, FetchedAt: g.FetchedAt, ChangedAt: g.ChangedAt, Title: derefStr(g.Title),
		SpecVersion: derefStr(g.SpecVersion)}
}

func derefRaw(m *json.RawMessage) json.RawMessage {
	if m == nil {
		return nil
	}
	return *m
}
