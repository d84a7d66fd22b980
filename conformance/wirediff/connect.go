package main

import (
	"context"
	"errors"
	"path"
	"time"

	"github.com/altersdk/alter-go/facade"
)

// The Connect scenarios: every session option, recovery from an error, managed-secret sessions.
func init() {
	scenarios["connect_session_every_option"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.CreateConnectSession(ctx, facade.ConnectSessionParams{AllowedProviders: []string{"github"}, Direct: true,
				ReturnURL: "https://example.com/done", AllowedOrigin: "https://example.com",
				Metadata:    &facade.ConnectMetadata{IPAddress: "203.0.113.7", UserAgent: "wd-browser"},
				GrantPolicy: &facade.GrantPolicyInput{MaxTTL: time.Hour, DefaultTTL: 10 * time.Minute}, RequiredScopes: map[string][]string{"github": {"repo"}},
				RequestedGrant:          &facade.RequestedGrant{Label: "wd", AllowedMethods: []string{"GET"}, AllowedEndpoints: []string{"/repos"}},
				DisallowUserPolicyRules: true, UserToken: env("ALTER_USER_TOKEN")})
			return err
		})
	}
	scenarios["connect_session_switch_account"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			yes := true
			_, err := app.CreateConnectSession(ctx, facade.ConnectSessionParams{AllowedProviders: []string{"github", "google"},
				SwitchAccount: true, Agent: "demo-agent", Delegable: &yes})
			return err
		}, facade.WithUserTokenGetter(aliceGetter))
	}
	scenarios["connect_session_repair"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.CreateConnectSession(ctx, facade.ConnectSessionParams{AllowedProviders: []string{"github"},
				RepairGrantID: envUUID("ALTER_GRANT_ID"), UserToken: env("ALTER_USER_TOKEN")})
			return err
		})
	}
	scenarios["connect_session_for_error"] = func(ctx context.Context) error {
		user := env("WD_USER_TOKEN")
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
				_, err := ag.Request(ctx, "GET", upstream(""), facade.RequestParams{Provider: "google", UserToken: user})
				_, err = app.ConnectSessionForError(ctx, err, facade.ConnectForErrorParams{UserToken: user, ReturnURL: "https://example.com/done"})
				return err
			})
		})
	}
	scenarios["connect_headless_direct"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Connect(ctx, facade.ConnectParams{Providers: []string{"github"}, Direct: true, DisallowUserPolicyRules: true,
				Timeout: time.Minute, PollInterval: 100 * time.Millisecond,
				OpenURL: func(ctx context.Context, u string) error {
					return devPost(ctx, "/_dev/connect/"+path.Base(u)+"/complete", `{"provider":"github","account":"wd@example.com"}`)
				}})
			return err
		}, facade.WithUserTokenGetter(func(context.Context) (string, error) { return env("WD_USER_TOKEN"), nil }))
	}
	scenarios["managed_secret_connect_session"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.CreateManagedSecretConnectSession(ctx, facade.ManagedSecretConnectParams{Provider: "stripe",
				UserToken: env("ALTER_USER_TOKEN"), Agent: env("AGENT_ID"), Delegable: true, Label: "wd",
				GrantPolicy: &facade.GrantPolicyInput{MaxTTL: time.Hour}, Direct: true, DisallowUserPolicyRules: true,
				AllowedOrigin: "https://example.com", ReturnURL: "https://example.com/back"})
			return err
		})
	}
	scenarios["managed_secret_connect_ttl"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.CreateManagedSecretConnectSession(ctx, facade.ManagedSecretConnectParams{Provider: "stripe",
				UserToken: env("ALTER_USER_TOKEN"), RequestedTTL: 10 * time.Minute})
			return err
		})
	}
	scenarios["agent_managed_secret_connect_session"] = func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			_, err := ag.CreateManagedSecretConnectSession(ctx, facade.ManagedSecretConnectParams{Provider: "stripe", UserToken: env("ALTER_USER_TOKEN")})
			return err
		})
	}
	scenarios["app_get_agent_managed_secret_connect"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			child, err := app.GetAgent(envUUID("AGENT_ID"))
			if err != nil {
				return err
			}
			_, err = child.CreateManagedSecretConnectSession(ctx, facade.ManagedSecretConnectParams{Provider: "stripe", UserToken: env("ALTER_USER_TOKEN")})
			return errors.Join(err, child.Close())
		})
	}
}
