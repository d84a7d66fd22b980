package facade_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/altersdk/alter-go/facade"
)

func ExampleApp_WithConstraints() {
	demo := startDemo()
	defer demo.Close()
	app := demo.App

	// A view of app that may only read grants: both attenuation headers ride, signed, on every
	// call it makes; app itself keeps every scope.
	readOnly, err := app.WithConstraints(facade.Constraints{Scopes: []string{"grants:read"}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, err = readOnly.ListGrants(ctx, facade.ListGrantsParams{})
	fmt.Println("list grants:", err)
	_, err = readOnly.Agents().List(ctx, facade.AgentListParams{})
	fmt.Println("list agents refused:", errors.Is(err, facade.ErrInsufficientScope))
	_, err = readOnly.WithConstraints(facade.Constraints{Scopes: []string{"grants:read"}})
	fmt.Println("constrain again refused:", errors.Is(err, facade.ErrInvalidInput))
	// Output:
	// list grants: <nil>
	// list agents refused: true
	// constrain again refused: true
}

func ExampleContentMatchRule() {
	// Deny any send whose recipients are not all @acme.com.
	rule, err := facade.ContentMatchRule(facade.ContentMatch{
		Operations: []string{"gmail.users.messages.send"},
		Params: []facade.ContentParamCondition{
			{Name: "recipients", Op: facade.OpNotSubsetOf, Value: []string{"*@acme.com"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rule.Type, string(rule.Body))
	// Output:
	// content_match {"match":{"operations":["gmail.users.messages.send"]},"params":[{"name":"recipients","op":"not_subset_of","value":["*@acme.com"]}],"effect":"deny"}
}

func ExampleContentMatchRule_timeWindows() {
	// Calendar events only in business hours, New York time.
	rule, err := facade.ContentMatchRule(facade.ContentMatch{
		Families: []facade.ContentMatchFamily{facade.FamilyWrite},
		Params: []facade.ContentParamCondition{{Name: "event_time", Op: facade.OpOutsideWindows, Value: facade.TimeWindows{
			Timezone: "America/New_York",
			Windows: []facade.TimeWindow{{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
				Start: "09:00", End: "17:00"}},
		}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(rule.Body))
	_, err = facade.ContentMatchRule(facade.ContentMatch{Families: []facade.ContentMatchFamily{facade.FamilyWrite},
		Effect: facade.EffectStepUp, MaxSessionAge: 48 * time.Hour})
	fmt.Println(err)
	// Output:
	// {"match":{"families":["write"]},"params":[{"name":"event_time","op":"outside_windows","value":{"windows":[{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"17:00"}],"timezone":"America/New_York"}}],"effect":"deny"}
	// alter: invalid input: ContentMatch: content_match_rule: effect='step_up' requires 'max_session_age_seconds' (an integer in [1, 86400]): MaxSessionAge in whole seconds from 1s to 24h
}

func ExampleAgent_WithConstraints() {
	demo := startDemo()
	defer demo.Close()
	agent, err := facade.NewAgent(demo.Agent.APIKey, facade.WithBaseURL(demo.BaseURL))
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()

	// This tool of the agent may read, but every write needs a sign-in of the last five minutes.
	rule, err := facade.ContentMatchRule(facade.ContentMatch{Families: []facade.ContentMatchFamily{facade.FamilyWrite},
		Effect: facade.EffectStepUp, MaxSessionAge: 5 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	tool, err := agent.WithConstraints(facade.Constraints{Rule: &rule})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	resp, err := tool.Request(ctx, "GET", demo.UpstreamURL+"/issues", facade.RequestParams{GrantID: demo.AgentGrantID})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("read:", resp.StatusCode)
	_, err = tool.Request(ctx, "POST", demo.UpstreamURL+"/issues", facade.RequestParams{GrantID: demo.AgentGrantID})
	var stepUp *facade.StepUpRequiredError
	if errors.As(err, &stepUp) {
		fmt.Println("write needs a session younger than", *stepUp.MaxSessionAgeSeconds, "s")
	}
	// Output:
	// read: 200
	// write needs a session younger than 300 s
}
