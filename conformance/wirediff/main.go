// Command wirediff performs one named scenario through the Go SDK (package facade) against
// altervault-dev, exactly as conformance/test_wire_diff.py performs it through the official
// Python SDK, so the two request logs of the server can be compared. It reads the demo exports
// (ALTER_BASE_URL, ALTER_API_KEY, …) and the scenario's inputs (WD_*) from the environment and
// prints nothing but an error, which never holds a key or token.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/altersdk/alter-go/facade"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wirediff <scenario>")
		os.Exit(2)
	}
	run, ok := scenarios[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "wirediff: unknown scenario %q\n", os.Args[1])
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "wirediff %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func env(name string) string { return os.Getenv(name) }

func envUUID(name string) uuid.UUID {
	id, err := uuid.Parse(env(name))
	if err != nil {
		return uuid.Nil
	}
	return id
}

func aliceGetter(context.Context) (string, error) { return env("ALTER_USER_TOKEN"), nil }

func newApp(opts ...facade.Option) (*facade.App, error) {
	return facade.NewApp(env("ALTER_API_KEY"), opts...)
}

// withApp runs f on a fresh App and closes it, which drains the background audit posts.
func withApp(ctx context.Context, f func(ctx context.Context, app *facade.App) error, opts ...facade.Option) error {
	app, err := newApp(opts...)
	if err != nil {
		return err
	}
	err = f(ctx, app)
	return errors.Join(err, app.Close())
}

func withAgent(ctx context.Context, key string, f func(ctx context.Context, ag *facade.Agent) error, opts ...facade.Option) error {
	ag, err := facade.NewAgent(key, opts...)
	if err != nil {
		return err
	}
	err = f(ctx, ag)
	return errors.Join(err, ag.Close())
}

// upstream is the provider URL every retrieve-mode scenario calls: a fixed answer, so the
// audit record's response fields are the same for both SDKs.
func upstream(q string) string { return env("ALTER_UPSTREAM_URL") + "/status/200" + q }

// drain reads the answer to its end, as the reference client always does: the audit record
// carries the body as far as it was read.
func drain(resp *facade.Response, err error) error {
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		_ = resp.Body.Close()
		return err
	}
	return resp.Body.Close()
}

func appRequest(p facade.RequestParams, opts ...facade.Option) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			return drain(app.Request(ctx, http.MethodGet, upstream("?wd=1"), p))
		}, opts...)
	}
}

var scenarios = map[string]func(ctx context.Context) error{
	"app_request_by_grant": appRequest(facade.RequestParams{GrantID: envUUID("ALTER_GRANT_ID"), Reason: "wire diff",
		Context: map[string]string{"run_id": "wd-run", "tool": "wd-tool"}},
		facade.WithCaller("wd-svc"), facade.WithUserTokenGetter(aliceGetter)),
	"app_request_no_identity": appRequest(facade.RequestParams{GrantID: envUUID("ALTER_GRANT_ID")}),
	"app_request_by_provider": appRequest(facade.RequestParams{Provider: "google", Reason: "read inbox"},
		facade.WithUserTokenGetter(aliceGetter)),
	"app_request_by_provider_account": appRequest(facade.RequestParams{Provider: "github", Account: "alice@work.example"},
		facade.WithUserTokenGetter(aliceGetter)),
	"agent_request_by_grant": func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			return drain(ag.Request(ctx, http.MethodGet, upstream(""), facade.RequestParams{GrantID: envUUID("ALTER_GOOGLE_GRANT_ID")}))
		})
	},
	"agent_request_user_token": func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			return drain(ag.Request(ctx, http.MethodGet, upstream(""), facade.RequestParams{Provider: "github", UserToken: env("ALTER_USER_TOKEN")}))
		})
	},
	"agent_request_json": func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			return drain(ag.Request(ctx, http.MethodPost, upstream(""), facade.RequestParams{GrantID: envUUID("ALTER_AGENT_GRANT_ID"),
				JSON: map[string]any{"text": "hi", "n": 2}, Query: url.Values{"q": {"a b"}}}))
		}, facade.WithCaller("wd-planner"))
	},
	"traceparent": func(ctx context.Context) error {
		ts, err := trace.ParseTraceState("vendor=private")
		if err != nil {
			return err
		}
		ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
			SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
			TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
		}))
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			if err := drain(app.Request(ctx, http.MethodGet, upstream(""), facade.RequestParams{GrantID: envUUID("ALTER_GRANT_ID")})); err != nil {
				return err
			}
			_, err := app.ListScopes(ctx)
			return err
		})
	},
	"app_get_agent_request": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			child, err := app.GetAgent(envUUID("AGENT_ID"))
			if err != nil {
				return err
			}
			err = drain(child.Request(ctx, http.MethodGet, upstream(""), facade.RequestParams{Provider: "google", UserToken: env("ALTER_USER_TOKEN")}))
			return errors.Join(err, child.Close())
		})
	},
	"scope_mismatch_report": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Request(ctx, http.MethodGet, env("ALTER_UPSTREAM_URL")+"/scope-mismatch?scope=repo+admin:org",
				facade.RequestParams{GrantID: envUUID("ALTER_GRANT_ID")})
			var sre *facade.ScopeReauthRequiredError
			if !errors.As(err, &sre) {
				return fmt.Errorf("want a ScopeReauthRequiredError, got %v", err)
			}
			return nil
		}, facade.WithUserTokenGetter(aliceGetter))
	},
	"proxy_request": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ProxyRequest(ctx, http.MethodGet, upstream(""), facade.ProxyParams{GrantID: envUUID("ALTER_GRANT_ID"),
				Reason: "proxied", Query: url.Values{"page": {"2"}}})
			return err
		}, facade.WithUserTokenGetter(aliceGetter))
	},
	"proxy_pending_status": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			out, err := app.ProxyRequest(ctx, http.MethodGet, upstream(""), facade.ProxyParams{GrantID: envUUID("ALTER_APPROVAL_GRANT_ID"), Reason: "needs ok"})
			if err != nil {
				return err
			}
			if out.Pending == nil {
				return errors.New("the call was not held for approval")
			}
			_, err = app.GetApprovalStatus(ctx, out.Pending.ID)
			return err
		})
	},
	"verify_user_token": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, valid, err := app.VerifyUserToken(ctx, env("ALTER_USER_TOKEN"))
			if err == nil && !valid {
				err = errors.New("alice's token was not valid")
			}
			return err
		})
	},
	"identity_resolve_app_getter": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ResolveIdentity(ctx, facade.ResolveIdentityParams{IncludeProfile: true})
			return err
		}, facade.WithUserTokenGetter(aliceGetter))
	},
	"identity_resolve_agent_user": func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			_, err := ag.ResolveIdentity(ctx, facade.ResolveIdentityParams{UserToken: env("ALTER_USER_TOKEN")})
			return err
		})
	},
	"identity_assert_agent": func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			_, err := ag.AssertIdentity(ctx, facade.AssertIdentityParams{Audience: "https://memory.internal",
				UserToken: env("ALTER_USER_TOKEN"), TTL: time.Minute})
			return err
		})
	},
	"identity_assert_app_headless": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.AssertIdentity(ctx, facade.AssertIdentityParams{Audience: "urn:service:memory", IncludeProfile: true})
			return err
		})
	},
	"agent_me": func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			_, err := ag.Me(ctx)
			return err
		})
	},
	"list_grants_app": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ListGrants(ctx, facade.ListGrantsParams{Provider: "github", Limit: 5})
			return err
		})
	},
	"list_grants_user": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ListGrants(ctx, facade.ListGrantsParams{Status: "active"})
			return err
		}, facade.WithUserTokenGetter(aliceGetter))
	},
	"list_grants_agent": func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			_, err := ag.ListGrants(ctx, facade.ListGrantsParams{Provider: "github", UserToken: env("ALTER_USER_TOKEN")})
			return err
		})
	},
	"create_connect_session": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.CreateConnectSession(ctx, facade.ConnectSessionParams{AllowedProviders: []string{"github"},
				ReturnURL: "https://example.com/done"})
			return err
		})
	},
	"poll_connect_session": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.PollConnectSession(ctx, env("WD_SESSION_TOKEN"), facade.PollParams{Timeout: time.Minute, PollInterval: 100 * time.Millisecond})
			return err
		})
	},
	"authenticate": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Authenticate(ctx, facade.AuthenticateParams{Timeout: time.Minute, PollInterval: 100 * time.Millisecond,
				OpenURL: completeSignIn})
			return err
		})
	},
	"scopes_list": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ListScopes(ctx)
			return err
		})
	},
	"provider_catalog": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ListProviders(ctx)
			return err
		})
	},
	"provider_specs_list": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			if _, err := app.ProviderSpecs().List(ctx, ""); err != nil {
				return err
			}
			_, err := app.ProviderSpecs().List(ctx, facade.ProviderSpecKindManaged)
			return err
		})
	},
	"provider_spec_get": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ProviderSpecs().Get(ctx, facade.ProviderSpecKindOAuth, facade.ProviderGitHub)
			return err
		})
	},
	"provider_operations": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ProviderSpecs().ListOperations(ctx, facade.ProviderSpecKindOAuth, facade.ProviderGitHub,
				facade.SpecOperationsParams{Search: "issue comment", Limit: 5, Offset: 1})
			return err
		})
	},
	"provider_operation": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.ProviderSpecs().GetOperation(ctx, facade.ProviderSpecKindManaged, "resend", "post:/emails")
			return err
		})
	},
	"spans_emit": func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			_, err := ag.EmitSpans(ctx, []facade.UserSpan{
				{TraceID: "wd-trace", SpanID: "wd-plan", Name: "plan", Start: t0, End: t0.Add(2 * time.Second),
					Attributes: map[string]string{"step": "1", "model": "m"}},
				{TraceID: "wd-trace", Name: "act", ParentSpanID: "wd-plan", Start: t0.Add(time.Second)},
			})
			return err
		})
	},
	"agents_list": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Agents().List(ctx, facade.AgentListParams{Limit: 5})
			return err
		})
	},
	"agents_get": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Agents().Get(ctx, envUUID("AGENT_ID"))
			return err
		})
	},
	"agents_get_by_name": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, found, err := app.Agents().GetByName(ctx, env("WD_AGENT_NAME"))
			if err == nil && !found {
				err = errors.New("the agent was not found by name")
			}
			return err
		})
	},
	"agents_list_keys": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Agents().ListKeys(ctx, envUUID("AGENT_ID"))
			return err
		})
	},
	"agents_create": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Agents().Create(ctx, facade.AgentCreateParams{Name: env("WD_AGENT_NAME"), DisplayName: "Wire Diff",
				Scopes: map[string][]string{"github": {"repo"}}, Metadata: map[string]any{"team": "wd"},
				IdempotencyKey: env("WD_IDEMPOTENCY_KEY")})
			return err
		})
	},
	"agents_update": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			v, err := strconv.Atoi(env("WD_VERSION"))
			if err != nil {
				return err
			}
			_, err = app.Agents().Update(ctx, envUUID("WD_AGENT_ID"), facade.AgentUpdateParams{DisplayName: "Renamed",
				Scopes: map[string][]string{"github": {"repo", "read:user"}}, ExpectedVersion: v, GracePeriod: time.Hour})
			return err
		})
	},
	"agents_mint_key": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Agents().MintKey(ctx, envUUID("WD_AGENT_ID"))
			return err
		})
	},
	"agents_deprecate_key": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Agents().DeprecateKey(ctx, envUUID("WD_AGENT_ID"), envUUID("WD_KEY_ID"))
			return err
		})
	},
	"keys_derive": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Keys().Derive(ctx, facade.DeriveKeyParams{Scopes: []string{"providers:read"}, ExpiresIn: time.Hour})
			return err
		})
	},
	"revoke_grant": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.RevokeGrant(ctx, envUUID("WD_GRANT_ID"), "wire diff")
			return err
		})
	},
	"create_managed_secret_grant": func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.CreateManagedSecretGrant(ctx, env("ALTER_MANAGED_SECRET_ID"), facade.ManagedSecretGrantParams{Principal: facade.SystemPrincipal{Label: env("WD_LABEL")}})
			return err
		})
	},
}

func init() {
	scenarios["revoke_delegation_app"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			return app.RevokeDelegation(ctx, envUUID("WD_GRANT_ID"), envUUID("AGENT_ID"))
		})
	}
	scenarios["revoke_delegation_agent"] = func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			return ag.RevokeDelegation(ctx, envUUID("WD_GRANT_ID"))
		})
	}
	scenarios["agents_undeprecate_key"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Agents().UndeprecateKey(ctx, envUUID("WD_AGENT_ID"), envUUID("WD_KEY_ID"))
			return err
		})
	}
	scenarios["agents_revoke_key"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Agents().RevokeKey(ctx, envUUID("WD_AGENT_ID"), envUUID("WD_KEY_ID"), facade.RevokeKeyParams{Force: true})
			return err
		})
	}
	scenarios["agents_delete"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Agents().Delete(ctx, envUUID("WD_AGENT_ID"))
			return err
		})
	}
	scenarios["connect_session_delegated"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			no := false
			_, err := app.CreateConnectSession(ctx, facade.ConnectSessionParams{AllowedProviders: []string{"github"},
				Agent: env("AGENT_ID"), Delegable: &no, ScopeConstraint: []string{"repo"}, UserToken: env("ALTER_USER_TOKEN")})
			return err
		})
	}
	scenarios["keys_rotate"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Keys().Rotate(ctx, envUUID("WD_KEY_ID"), 3)
			return err
		})
	}
	scenarios["keys_revoke"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			_, err := app.Keys().Revoke(ctx, envUUID("WD_KEY_ID"), facade.RevokeKeyParams{})
			return err
		})
	}
	scenarios["agent_connect_session"] = func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			_, err := ag.CreateConnectSession(ctx, facade.ConnectSessionParams{AllowedProviders: []string{"slack"}})
			return err
		})
	}
	scenarios["proxy_by_provider"] = func(ctx context.Context) error {
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			_, err := ag.ProxyRequest(ctx, http.MethodPost, upstream(""), facade.ProxyParams{Provider: "github", UserToken: env("ALTER_USER_TOKEN"),
				JSON: map[string]any{"title": "t", "draft": false}, Header: http.Header{"X-Trace": {"wd"}}})
			return err
		})
	}
	scenarios["agents_update_narrow_now"] = func(ctx context.Context) error {
		return updateAgent(ctx, facade.AgentUpdateParams{Scopes: map[string][]string{}, NarrowNow: true})
	}
	scenarios["agents_update_expected_version"] = func(ctx context.Context) error {
		return updateAgent(ctx, facade.AgentUpdateParams{Metadata: map[string]any{"team": "wd"}})
	}
	scenarios["agents_suspend_resume"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			if _, err := app.Agents().Suspend(ctx, envUUID("WD_AGENT_ID")); err != nil {
				return err
			}
			_, err := app.Agents().Resume(ctx, envUUID("WD_AGENT_ID"))
			return err
		})
	}
	scenarios["approval_status_wait"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			out, err := app.ProxyRequest(ctx, http.MethodGet, upstream(""), facade.ProxyParams{GrantID: envUUID("ALTER_APPROVAL_GRANT_ID")})
			if err != nil {
				return err
			}
			if out.Pending == nil {
				return errors.New("the call was not held for approval")
			}
			_, err = app.PollApprovalStatus(ctx, out.Pending.ID, time.Second)
			return err
		})
	}
	scenarios["await_approval"] = func(ctx context.Context) error {
		return withApp(ctx, func(ctx context.Context, app *facade.App) error {
			out, err := app.ProxyRequest(ctx, http.MethodGet, upstream(""), facade.ProxyParams{GrantID: envUUID("ALTER_APPROVAL_GRANT_ID"), Reason: "needs ok"})
			if err != nil {
				return err
			}
			if out.Pending == nil {
				return errors.New("the call was not held for approval")
			}
			if err := devPost(ctx, "/_dev/approvals/"+url.PathEscape(out.Pending.ID)+"/approve", `{"reason":"ok"}`); err != nil {
				return err
			}
			_, err = app.AwaitApproval(ctx, out.Pending.ID, facade.AwaitOptions{Timeout: time.Minute, PollInterval: 100 * time.Millisecond})
			return err
		})
	}
}

// updateAgent updates the WD_AGENT_ID agent with p at version WD_VERSION.
func updateAgent(ctx context.Context, p facade.AgentUpdateParams) error {
	return withApp(ctx, func(ctx context.Context, app *facade.App) error {
		v, err := strconv.Atoi(env("WD_VERSION"))
		if err != nil {
			return err
		}
		p.ExpectedVersion = v
		_, err = app.Agents().Update(ctx, envUUID("WD_AGENT_ID"), p)
		return err
	})
}

// devPost is a call of altervault-dev's dev control API that must answer 204.
func devPost(ctx context.Context, p, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env("ALTER_BASE_URL")+p, bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("POST %s answered %d", p, resp.StatusCode)
	}
	return nil
}

// completeSignIn finishes a sign-in session as the person would, through the dev API: the
// session token is the last segment of the sign-in page's path.
func completeSignIn(ctx context.Context, authURL string) error {
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	return devPost(ctx, "/_dev/auth/"+url.PathEscape(path.Base(u.Path))+"/complete", `{"sub":"wd-user"}`)
}
