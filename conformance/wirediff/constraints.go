package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/altersdk/alter-go/facade"
)

// The with_constraints scenarios: the same attenuation headers as 0.29.0, on every call.

var wdRuleParams = []facade.ContentParamCondition{
	{Name: "to", Op: facade.OpNotSubsetOf, Value: []string{"*@acme.com", "Ünïcode\u2028 <&>"}},
	{Name: "amount", Op: facade.OpGT, Value: 2.5},
	{Name: "count", Op: facade.OpLTE, Value: 10},
	{Name: "big", Op: facade.OpGTE, Value: 1e16},
	{Name: "kind", Op: facade.OpEquals, Value: 3.0},
	{Name: "when", Op: facade.OpOutsideWindows, Value: facade.TimeWindows{Timezone: "Europe/Paris", Windows: []facade.TimeWindow{
		{Days: []time.Weekday{time.Monday, time.Friday}, Start: "09:00", End: "24:00"},
		{Days: []time.Weekday{time.Saturday}, Start: "22:00", End: "06:00"}}}},
}

// constrainedApp runs f on a fresh App narrowed by cons (built by mk, which may fail).
func constrainedApp(ctx context.Context, mk func() (facade.Constraints, error), f func(ctx context.Context, app *facade.App) error, opts ...facade.Option) error {
	cons, err := mk()
	if err != nil {
		return err
	}
	return withApp(ctx, func(ctx context.Context, app *facade.App) error {
		narrow, err := app.WithConstraints(cons)
		if err != nil {
			return err
		}
		return f(ctx, narrow)
	}, opts...)
}

func ruleConstraints(scopes []string, m facade.ContentMatch) func() (facade.Constraints, error) {
	return func() (facade.Constraints, error) {
		rule, err := facade.ContentMatchRule(m)
		return facade.Constraints{Scopes: scopes, Rule: &rule}, err
	}
}

func scopeConstraints(scopes ...string) func() (facade.Constraints, error) {
	return func() (facade.Constraints, error) { return facade.Constraints{Scopes: scopes}, nil }
}

// expect returns nil when err matches target: the scenario's refusal is its expected outcome.
func expect(err, target error) error {
	if errors.Is(err, target) {
		return nil
	}
	return errors.Join(errors.New("expected "+target.Error()), err)
}

func init() {
	scenarios["constraints_request"] = func(ctx context.Context) error {
		return constrainedApp(ctx, ruleConstraints([]string{"tokens:read", "audit:emit"},
			facade.ContentMatch{Families: []facade.ContentMatchFamily{facade.FamilyDelete}, Params: wdRuleParams}),
			func(ctx context.Context, app *facade.App) error {
				return drain(app.Request(ctx, http.MethodGet, upstream("?wd=1"), facade.RequestParams{GrantID: envUUID("ALTER_GRANT_ID"), Reason: "constrained"}))
			}, facade.WithUserTokenGetter(aliceGetter))
	}
	scenarios["constraints_list_grants"] = func(ctx context.Context) error {
		return constrainedApp(ctx, scopeConstraints("grants:read"), func(ctx context.Context, app *facade.App) error {
			_, err := app.ListGrants(ctx, facade.ListGrantsParams{Limit: 5})
			return err
		})
	}
	scenarios["constraints_agent_proxy_redact"] = func(ctx context.Context) error {
		rule, err := facade.ContentMatchRule(facade.ContentMatch{Operations: []string{"post:/status/200"},
			Effect: facade.EffectRedact, RedactFields: []string{"secret"}})
		if err != nil {
			return err
		}
		return withAgent(ctx, env("AGENT_API_KEY"), func(ctx context.Context, ag *facade.Agent) error {
			narrow, err := ag.WithConstraints(facade.Constraints{Rule: &rule})
			if err != nil {
				return err
			}
			_, err = narrow.ProxyRequest(ctx, http.MethodPost, upstream(""), facade.ProxyParams{Provider: "github",
				UserToken: env("ALTER_USER_TOKEN"), JSON: map[string]any{"title": "t", "secret": "s"}})
			return err
		})
	}
	scenarios["constraints_denied"] = func(ctx context.Context) error {
		return constrainedApp(ctx, ruleConstraints(nil, facade.ContentMatch{Families: []facade.ContentMatchFamily{facade.FamilyRead}}),
			func(ctx context.Context, app *facade.App) error {
				return expect(drain(app.Request(ctx, http.MethodGet, upstream(""), facade.RequestParams{GrantID: envUUID("ALTER_GRANT_ID")})), facade.ErrPolicyViolation)
			})
	}
	scenarios["constraints_step_up_refused"] = func(ctx context.Context) error {
		return constrainedApp(ctx, ruleConstraints(nil, facade.ContentMatch{Operations: []string{"get:/status/200"},
			Effect: facade.EffectStepUp, MaxSessionAge: 10 * time.Minute}),
			func(ctx context.Context, app *facade.App) error {
				_, err := app.ProxyRequest(ctx, http.MethodGet, upstream(""), facade.ProxyParams{GrantID: envUUID("ALTER_GRANT_ID")})
				return expect(err, facade.ErrStepUpRequired)
			})
	}
	scenarios["constraints_json_match"] = func(ctx context.Context) error {
		rule := facade.RequestRule{Type: "json_match", Body: json.RawMessage(`{"when": {"method": "DELETE"}, "effect": "deny", "note": "café ☕ <b>&"}`)}
		return constrainedApp(ctx, func() (facade.Constraints, error) { return facade.Constraints{Rule: &rule}, nil },
			func(ctx context.Context, app *facade.App) error {
				return drain(app.Request(ctx, http.MethodGet, upstream(""), facade.RequestParams{GrantID: envUUID("ALTER_GRANT_ID")}))
			}, facade.WithUserTokenGetter(aliceGetter))
	}
	scenarios["constraints_not_narrowing"] = func(ctx context.Context) error {
		return constrainedApp(ctx, scopeConstraints("grants:read", "no:such-scope"), func(ctx context.Context, app *facade.App) error {
			_, err := app.ListGrants(ctx, facade.ListGrantsParams{})
			return expect(err, facade.ErrBackend)
		})
	}
}
