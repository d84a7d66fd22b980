// Command raw-gen calls the vault through Raw(): the low-level client generated from openapi.yaml
// (package gen), already wired by the facade with the key, request signing, the caller and the
// X-Alter-Context trace header, and the timeout (Raw calls are never retried). Use it for an
// endpoint the facade does not wrap, or to read an answer field by field. Raw calls return typed
// XxxResponse values and do not turn a non-2xx answer into an error: check JSON200 (or
// StatusCode()), and JSONDefault for the vault's error body.
package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/gen"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "raw-gen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	_, cleanup, err := demoenv.Setup(demoenv.VarAppKey)
	defer cleanup()
	if err != nil {
		return err
	}

	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithCaller("raw-gen"))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()
	raw := app.Raw()
	ctx = facade.WithTrace(ctx, facade.Trace{RunID: demoenv.RunID("raw-gen")}) // honoured by Raw calls too

	// GET /sdk/scopes: the catalog of Alter scopes an API key can carry.
	scopes, err := raw.ListScopesWithResponse(ctx)
	if err != nil {
		return err
	}
	if scopes.JSON200 == nil {
		return fmt.Errorf("listScopes: vault answered %d", scopes.StatusCode())
	}
	resources := slices.Sorted(func(yield func(string) bool) {
		for r := range scopes.JSON200.Resources {
			if !yield(r) {
				return
			}
		}
	})
	fmt.Printf("ListScopesWithResponse: scope version %d, %d resources, verbs %v\n",
		scopes.JSON200.ScopeVersion, len(resources), scopes.JSON200.ActionVerbs)
	for _, r := range resources[:min(3, len(resources))] {
		fmt.Printf("    %-12s %v\n", r, scopes.JSON200.Resources[r].Verbs)
	}

	// GET /sdk/oauth/provider-catalog, the endpoint the facade wraps as ListProviders.
	catalog, err := raw.ListProviderCatalogWithResponse(ctx)
	if err != nil {
		return err
	}
	if catalog.JSON200 == nil {
		return fmt.Errorf("listProviderCatalog: vault answered %d", catalog.StatusCode())
	}
	ids := make([]string, 0, len(catalog.JSON200.Providers))
	for id := range catalog.JSON200.Providers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := catalog.JSON200.Providers[id]
		fmt.Printf("ListProviderCatalogWithResponse: %-10s %-20q %d scopes, default %v\n",
			id, p.DisplayName, len(p.AvailableScopes), p.DefaultScopes)
	}

	// A non-2xx answer is not an error here: it is a typed field of the response.
	missing, err := raw.GetAgentWithResponse(ctx, uuid.NewString())
	if err != nil {
		return err
	}
	if missing.JSONDefault == nil {
		return fmt.Errorf("getAgent: expected an error answer, got %d", missing.StatusCode())
	}
	fmt.Printf("GetAgentWithResponse(unknown id): HTTP %d, error code %s, X-Request-ID %s\n",
		missing.StatusCode(), errorCode(missing.JSONDefault), missing.HTTPResponse.Header.Get("X-Request-ID"))
	return nil
}

// errorCode reads the machine code of a vault error body in either of its shapes: the agents
// endpoints answer {"error": code, …}, the others {"detail": {"error": code, …}}.
func errorCode(e *gen.Error) string {
	if e.Error != nil {
		return string(*e.Error)
	}
	if e.Detail != nil {
		if b, err := e.Detail.AsErrorBody(); err == nil && b.Error != nil {
			return string(*b.Error)
		}
	}
	return "(none)"
}
