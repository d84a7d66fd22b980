package facade_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// Find the operation for a task mid-run, then read its schemas before making the call.
func ExampleProviderSpecs() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	app := exampleApp(vault)
	defer app.Close()
	ctx := context.Background()
	specs := app.ProviderSpecs()
	for op, err := range specs.AllOperations(ctx, facade.ProviderSpecKindOAuth, facade.ProviderGitHub,
		facade.SpecOperationsParams{Search: "issue"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(op.Method, op.PathTemplate, "—", op.ID)
	}
	op, err := specs.GetOperation(ctx, facade.ProviderSpecKindOAuth, facade.ProviderGitHub, "issues/create")
	if err != nil {
		log.Fatal(err)
	}
	var body struct{ Required []string }
	if err := json.Unmarshal(op.RequestSchema, &body); err != nil {
		log.Fatal(err)
	}
	fmt.Println("issues/create needs", body.Required, "and", len(op.ParamsSchema), "path parameters")
	// Output:
	// POST /repos/{owner}/{repo}/issues — issues/create
	// POST /repos/{owner}/{repo}/issues/{issue_number}/comments — issues/create-comment
	// GET /repos/{owner}/{repo}/issues/{issue_number} — issues/get
	// GET /repos/{owner}/{repo}/issues — issues/list-for-repo
	// PATCH /repos/{owner}/{repo}/issues/{issue_number} — issues/update
	// issues/create needs [title] and 2 path parameters
}

// A provider the store has no spec for is a GrantNotFoundError with its own code.
func ExampleProviderSpecs_Get() {
	onExampleVault(func(ctx context.Context, app *facade.App) {
		spec, err := app.ProviderSpecs().Get(ctx, facade.ProviderSpecKindManaged, "resend")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(spec.Title, spec.OperationCount, "operations")
		_, err = app.ProviderSpecs().Get(ctx, facade.ProviderSpecKindOAuth, facade.ProviderNotion)
		var nf *facade.GrantNotFoundError
		fmt.Println(errors.As(err, &nf) && nf.Code == facade.ErrorCodeProviderSpecNotFound)
	})
	// Output:
	// Resend 6 operations
	// true
}

func ExampleApp_EmitSpans() {
	onExampleVault(func(ctx context.Context, app *facade.App) {
		start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		spans := []facade.UserSpan{
			{TraceID: "run-42", SpanID: "plan", Name: "plan", Start: start, End: start.Add(800 * time.Millisecond)},
			{TraceID: "run-42", SpanID: "draft", ParentSpanID: "plan", Name: "draft reply", Start: start.Add(time.Second),
				Attributes: map[string]string{"model": "small"}},
		}
		res, err := app.EmitSpans(ctx, spans)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("accepted", res.Accepted)
		// The same batch again (a retry): the vault already has both spans.
		res, err = app.EmitSpans(ctx, spans)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("accepted", res.Accepted)
	})
	// Output:
	// accepted 2
	// accepted 0
}

// The catalog is cached for facade.ProviderCatalogTTL; ForceRefresh asks the vault again.
func ExampleApp_ListProviders() {
	onExampleVault(func(ctx context.Context, app *facade.App) {
		cat, err := app.ListProviders(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(cat.IDs())
		fmt.Println(cat.DefaultScopes(facade.ProviderGitHub), cat.RequiredScopes(facade.ProviderMicrosoft))
		if _, err := app.ListProviders(ctx, facade.ForceRefresh()); err != nil {
			log.Fatal(err)
		}
	})
	// Output:
	// [github google microsoft notion slack]
	// [repo read:user] [User.Read]
}

// The scope catalog lists what a derived key may hold.
func ExampleKeys_Derive() {
	onExampleVault(func(ctx context.Context, app *facade.App) {
		sc, err := app.ListScopes(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(sc.Scopes()) > 0)
		key, err := app.Keys().Derive(ctx, facade.DeriveKeyParams{Scopes: []string{"providers:read"}, ExpiresIn: time.Hour, Name: "ci"})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(key.Type, key.Name, key.Scopes, key.Status(), facade.IsValidKey(key.APIKey.Reveal()))
		info, err := app.Keys().Revoke(ctx, key.ID, facade.RevokeKeyParams{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(info.Status())
	})
	// Output:
	// true
	// dk ci [providers:read] active true
	// revoked
}

func ExampleIsValidKey() {
	fmt.Println(facade.IsValidKey("alter_rk_abcdefghijklmnopqrstuv_iwpykn"))
	fmt.Println(facade.IsValidKey("alter_rk_abcdefghijklmnopqrstuv_iwpykm")) // one character off
	// Output:
	// true
	// false
}

// onExampleVault runs f with an App on a fresh vaulttest vault (as ExampleProviderSpecs sets up).
func onExampleVault(f func(ctx context.Context, app *facade.App)) {
	vault := vaulttest.NewServer()
	defer vault.Close()
	app := exampleApp(vault)
	defer app.Close()
	f(context.Background(), app)
}
