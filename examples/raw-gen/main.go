// Command raw-gen calls the vault through Raw(): the low-level client generated from openapi.yaml
// (package gen), already wired by the facade with the key, request signing, caller and trace
// headers, idempotency keys, retries and the timeout. Use it for an endpoint the facade does not
// wrap yet (here: the Alter scope catalog and the audit log). Raw calls return typed XxxResponse
// values and do not turn a non-2xx answer into an error: check JSON200 (or StatusCode()).
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

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
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarUpstreamURL, demoenv.VarGrantID)
	defer cleanup()
	if err != nil {
		return err
	}

	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithCaller("raw-gen"))
	if err != nil {
		return err
	}
	defer app.Close()
	raw := app.Raw()

	runID := demoenv.RunID("raw-gen")
	ctx = facade.WithTrace(ctx, facade.Trace{RunID: runID}) // honoured by Raw calls too

	// GET /v1/scopes: the Alter scopes an App key can carry.
	scopes, err := raw.ListScopesWithResponse(ctx, nil)
	if err != nil {
		return err
	}
	if scopes.JSON200 == nil {
		return fmt.Errorf("listScopes: vault answered %d", scopes.StatusCode())
	}
	fmt.Printf("ListScopesWithResponse: %d Alter scopes, the first three:\n", len(scopes.JSON200.Scopes))
	for _, s := range scopes.JSON200.Scopes[:min(3, len(scopes.JSON200.Scopes))] {
		fmt.Printf("    %-16s %s\n", s.Scope, s.Description)
	}

	// GET /v1/providers, the same endpoint the facade wraps as ListProviders.
	providers, err := raw.ListProvidersWithResponse(ctx, nil)
	if err != nil {
		return err
	}
	if providers.JSON200 == nil {
		return fmt.Errorf("listProviders: vault answered %d", providers.StatusCode())
	}
	for _, p := range providers.JSON200.Providers {
		fmt.Printf("ListProvidersWithResponse: %-10s %-15s %d scopes\n", p.ProviderID, p.Kind, len(p.Scopes))
	}

	// A non-2xx answer is not an error here: it is a typed field of the response.
	missing, err := raw.GetAgentWithResponse(ctx, uuid.New(), nil)
	if err != nil {
		return err
	}
	if missing.JSON404 == nil {
		return fmt.Errorf("getAgent: expected 404, got %d", missing.StatusCode())
	}
	fmt.Printf("GetAgentWithResponse(unknown id): HTTP %d, JSON404.Error.Code = %s, request id %s\n",
		missing.StatusCode(), missing.JSON404.Error.Code, missing.JSON404.RequestID)

	// Make one upstream call with the facade, then page through its audit rows with Raw.
	resp, err := app.Request(ctx, http.MethodGet, env.UpstreamURL+"/user", facade.RequestParams{GrantID: env.GrantID, Reason: "raw-gen"})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if err := app.Close(); err != nil { // drain the background audit post
		return err
	}
	reader, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithCaller("raw-gen-audit"))
	if err != nil {
		return err
	}
	defer reader.Close()
	params := &gen.ListAuditEventsParams{RunID: &runID, Limit: ptr(2)}
	for page := 1; ; page++ {
		events, err := reader.Raw().ListAuditEventsWithResponse(context.Background(), params)
		if err != nil {
			return err
		}
		if events.JSON200 == nil {
			return fmt.Errorf("listAuditEvents: vault answered %d", events.StatusCode())
		}
		for _, e := range events.JSON200.Events {
			fmt.Printf("ListAuditEventsWithResponse page %d: %-18s %-8s run %s\n", page, e.Operation, e.Outcome, *e.RunID)
		}
		if !events.JSON200.HasMore {
			break
		}
		params.Cursor = events.JSON200.NextCursor
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
