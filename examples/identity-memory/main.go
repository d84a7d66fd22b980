// Command identity-memory shows the identity plane: an agent working for alice asks Alter for a
// signed identity assertion addressed to a memory service; the memory service verifies it
// offline (package identity) against the issuer's key set it trusts, and keeps alice's notes for
// that agent in a private partition derived from the verified identity (facade.ScopedStore).
// A token for another service, and an identity built by hand, are refused.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/identity"
)

const memoryAudience = "https://memory.internal"

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "identity-memory:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAgentKey, demoenv.VarAgentID, demoenv.VarUserToken)
	defer cleanup()
	if err != nil {
		return err
	}

	// The agent, working for alice, asks Alter for an assertion addressed to the memory service.
	agent, err := facade.NewAgent(os.Getenv("AGENT_API_KEY"))
	if err != nil {
		return err
	}
	defer func() { _ = agent.Close() }()
	a, err := agent.AssertIdentity(ctx, facade.AssertIdentityParams{Audience: memoryAudience, UserToken: env.UserToken})
	if err != nil {
		return err
	}
	fmt.Printf("agent %s: assertion for %s, token %v, expires within 2 minutes: %v\n",
		demoenv.Short(env.AgentID), memoryAudience, a.Token, time.Until(a.ExpiresAt) <= 2*time.Minute)

	// The memory service trusts an issuer, an app and a key set from its configuration: Alter's
	// in production; here the dev vault's own (GET /_dev/identity).
	trust, err := demoenv.IdentityTrust(ctx)
	if err != nil {
		return err
	}
	verifier, err := identity.NewVerifier(identity.Config{Issuer: trust.Issuer, Audience: memoryAudience, JWKS: trust.JWKS,
		AppID: trust.AppID, AgentID: env.AgentID.String()})
	if err != nil {
		return err
	}
	id, err := verifier.Verify(a.Token.Reveal())
	if err != nil {
		return err
	}
	fmt.Printf("memory service: verified app user %s acting through agent %s\n", id.AppUserID[:8], id.AgentID[:8])

	store, err := facade.NewScopedStore(newNotes(), id, facade.ScopedStoreOptions{})
	if err != nil {
		return err
	}
	fmt.Printf("partition: %s…\n", strings.Join(store.Scope().Namespace[:3], "/"))
	if err := store.Put(ctx, []string{"preferences"}, "contact", map[string]any{"channel": "email"}); err != nil {
		return err
	}
	item, err := store.Get(ctx, []string{"preferences"}, "contact")
	if err != nil {
		return err
	}
	fmt.Printf("stored and read back in the partition: contact -> %v\n", item.Value["channel"])

	// An assertion addressed to another service is refused, with a coarse reason only.
	other, err := agent.AssertIdentity(ctx, facade.AssertIdentityParams{Audience: "urn:service:billing", UserToken: env.UserToken})
	if err != nil {
		return err
	}
	_, err = verifier.Verify(other.Token.Reveal())
	var mi *facade.MemoryIsolationError
	if !errors.As(err, &mi) {
		return fmt.Errorf("expected a refusal, got %v", err)
	}
	fmt.Printf("token for urn:service:billing -> %s (%s)\n", mi.Code, mi.Reason)

	// An identity built by hand never opens a partition.
	forged := facade.IdentityContext{AppID: id.AppID, AgentID: id.AgentID, AppUserID: "bob", UserStatus: facade.UserActive}
	_, err = facade.NewScopedStore(newNotes(), forged, facade.ScopedStoreOptions{})
	fmt.Printf("hand-built identity -> errors.Is(err, facade.MemoryIdentityUnverified): %v\n", errors.Is(err, facade.MemoryIdentityUnverified))
	return nil
}

// notes is the memory service's own store (Redis or Postgres in production), reached only
// through the ScopedStore.
type notes struct{ m sync.Map } // slot → map[string]any

func newNotes() *notes { return &notes{} }

func slot(ns []string, key string) string {
	return strings.Join(slices.Concat(ns, []string{key}), "\x00")
}

func (n *notes) Get(_ context.Context, ns []string, key string) (*facade.MemoryItem, error) {
	if v, ok := n.m.Load(slot(ns, key)); ok {
		return &facade.MemoryItem{Namespace: ns, Key: key, Value: v.(map[string]any)}, nil
	}
	return nil, nil
}

func (n *notes) Put(_ context.Context, ns []string, key string, v map[string]any) error {
	n.m.Store(slot(ns, key), v)
	return nil
}

func (n *notes) Delete(_ context.Context, ns []string, key string) error {
	n.m.Delete(slot(ns, key))
	return nil
}

// Search and ListNamespaces are not used by this service.
func (n *notes) Search(context.Context, []string, facade.MemorySearch) ([]facade.MemoryItem, error) {
	return nil, nil
}

func (n *notes) ListNamespaces(context.Context, []string, int, int) ([][]string, error) {
	return nil, nil
}
