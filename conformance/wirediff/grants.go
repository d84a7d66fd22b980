package main

import (
	"context"
	"time"

	"github.com/altersdk/alter-go/facade"
)

// The grants and delegation scenarios (test_wire_diff.py: delegate, mint_grant, the list
// filters, a managed-secret grant naming its credential).
func init() {
	scenarios["delegate"] = func(ctx context.Context) error {
		return withAgent(ctx, env("WD_HOLDER_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			no := false
			_, err := ag.Delegate(ctx, envUUID("WD_GRANT_ID"), envUUID("WD_AGENT_ID"),
				facade.DelegateParams{Delegable: &no, ScopeConstraint: []string{env("WD_SCOPE")}, TTL: 600 * time.Second})
			return err
		})
	}
	scenarios["mint_grant"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.MintGrant(ctx, envUUID("WD_GRANT_ID"), facade.MintGrantParams{Label: env("WD_LABEL"), Tags: []string{"wd"},
				Policy: &facade.MintPolicy{MaxTTL: 900 * time.Second, Restrictions: map[string]any{"methods": []any{"GET"}}}})
			return err
		})
	}
	scenarios["list_grants_every_filter"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ListGrants(ctx, facade.ListGrantsParams{Provider: "github", Status: "active", Account: "alice@work.example",
				Label: "wd", UserToken: env("ALTER_USER_TOKEN"), Limit: 10, Offset: 1})
			return err
		})
	}
	scenarios["list_grants_agent_label"] = func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			_, err := ag.ListGrants(ctx, facade.ListGrantsParams{Label: "wd", Status: "active", Account: "alice@work.example"})
			return err
		})
	}
	scenarios["create_managed_secret_grant_credential"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.CreateManagedSecretGrant(ctx, env("ALTER_MANAGED_SECRET_ID"), facade.ManagedSecretGrantParams{
				Principal: facade.SystemPrincipal{Label: env("WD_LABEL")}, CredentialID: env("WD_CREDENTIAL_ID"),
				Policy: &facade.GrantPolicyInput{MaxTTL: time.Hour}})
			return err
		})
	}
}
