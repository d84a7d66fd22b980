package facade_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/altersdk/alter-go/facade"
)

// demoAgent is the demo agent's client, made as in ExampleNewAgent.
func demoAgent(d *demoEnv) *facade.Agent {
	agent, err := facade.NewAgent(d.Agent.APIKey, facade.WithBaseURL(d.BaseURL))
	if err != nil {
		log.Fatal(err)
	}
	return agent
}

func ExampleApp_ResolveIdentity() {
	d := startDemo()
	defer d.Close()
	// The user's JWT, e.g. from the request the backend is serving.
	id, err := d.App.ResolveIdentity(context.Background(), facade.ResolveIdentityParams{UserToken: d.User.Token, IncludeProfile: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id.AppUserID == d.User.AppUserID.String(), id.UserStatus, id.Email != "")
	// An App's identity has no agent, so it derives no private memory partition.
	_, err = id.MemoryScope()
	fmt.Println(errors.Is(err, facade.MemoryAgentRequired))
	// Output:
	// true active true
	// true
}

func ExampleAgent_AssertIdentity() {
	d := startDemo()
	defer d.Close()
	agent := demoAgent(d)
	defer agent.Close()
	// An assertion for the memory service, about alice (who delegated a grant to the agent): the
	// service verifies it with package identity, offline.
	a, err := agent.AssertIdentity(context.Background(), facade.AssertIdentityParams{
		Audience: "https://memory.internal", AppUserID: d.User.AppUserID.String(), TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Token, time.Until(a.ExpiresAt) <= time.Minute)
	fmt.Println(a.Identity.AgentID == d.Agent.ID.String(), a.Identity.Verified())
	// Output:
	// [REDACTED] true
	// true true
}

func ExampleIdentityContext_MemoryScope() {
	d := startDemo()
	defer d.Close()
	agent := demoAgent(d)
	defer agent.Close()
	id, err := agent.ResolveIdentity(context.Background(), facade.ResolveIdentityParams{UserToken: d.User.Token})
	if err != nil {
		log.Fatal(err)
	}
	scope, err := id.MemoryScope()
	if err != nil {
		log.Fatal(err)
	}
	ns, err := scope.NamespaceFor("preferences")
	if err != nil {
		log.Fatal(err)
	}
	// alter/v2/agent-user/<app>/<agent>/<user>, each id base64url-encoded, then the developer's
	// own segments, encoded the same way.
	fmt.Println(strings.Join(ns[:3], "/"), len(ns), ns[6])

	// A context built by hand (or decoded from JSON) was not verified by the SDK.
	forged := facade.IdentityContext{AppID: id.AppID, AgentID: id.AgentID, AppUserID: "someone-else", UserStatus: facade.UserActive}
	_, err = forged.MemoryScope()
	fmt.Println(errors.Is(err, facade.MemoryIdentityUnverified), errors.Is(err, facade.ErrMemoryIsolation))
	// Output:
	// alter/v2/agent-user 7 cHJlZmVyZW5jZXM
	// true true
}

func ExampleNewScopedStore() {
	d := startDemo()
	defer d.Close()
	agent := demoAgent(d)
	defer agent.Close()
	ctx := context.Background()
	alice := facade.ResolveIdentityParams{AppUserID: d.User.AppUserID.String()}
	// Refresh re-resolves the identity through Alter at the start of every operation.
	refresh := func(ctx context.Context) (facade.IdentityContext, error) { return agent.ResolveIdentity(ctx, alice) }
	id, err := refresh(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// newMapStore is a NamespaceStore in a map; an application wraps its Redis or Postgres.
	store, err := facade.NewScopedStore(newMapStore(), id, facade.ScopedStoreOptions{Refresh: refresh})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Put(ctx, []string{"notes"}, "n1", map[string]any{"text": "prefers email"}); err != nil {
		log.Fatal(err)
	}
	item, err := store.Get(ctx, []string{"notes"}, "n1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(item.Value["text"])
	// Without Refresh, a resolved snapshot is refused: it could be stale.
	_, err = facade.NewScopedStore(newMapStore(), id, facade.ScopedStoreOptions{})
	var mi *facade.MemoryIsolationError
	if errors.As(err, &mi) {
		fmt.Println(mi.Code)
	}
	// Output:
	// prefers email
	// memory_live_refresh_required
}
