// Command agents-admin is the operator side of managed agents (App.Agents, App key only): create
// an agent (idempotently), use its first key, rotate keys without downtime (mint a new key,
// deprecate the old one, then revoke it), revoke the last active key with Force, and delete the
// agent. Plaintext keys come back as facade.Secret, which never prints or logs its value.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "agents-admin:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	_, cleanup, err := demoenv.Setup(demoenv.VarAppKey)
	defer cleanup()
	if err != nil {
		return err
	}

	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithCaller("platform-admin"))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()
	agents := app.Agents()

	runID := demoenv.RunID("agents-admin")
	ctx = facade.WithTrace(ctx, facade.Trace{RunID: runID})
	name := strings.ReplaceAll(runID, "agents-admin", "report-bot") // unique per run, e.g. report-bot-1a2b3c

	// Create with an idempotency key: repeating the same request (after a crash, a timeout…)
	// returns the same agent and key instead of a second agent.
	params := facade.AgentCreateParams{
		Name:           name,
		DisplayName:    "Weekly report bot",
		Scopes:         map[string][]string{"github": {"repo"}},
		Metadata:       map[string]any{"team": "growth"},
		IdempotencyKey: "create-" + name,
	}
	created, err := agents.Create(ctx, params)
	if err != nil {
		return err
	}
	fmt.Printf("Create: agent %q (%s), status %s, first key %s (%s…)\n",
		created.Name, demoenv.Short(created.ID), created.Status, demoenv.Short(created.KeyID), keyPrefix(created.APIKey))
	fmt.Printf("        the plaintext key is a facade.Secret: %%v prints %v; Reveal() gives it once, to store\n", created.APIKey)
	again, err := agents.Create(ctx, params)
	if err != nil {
		return err
	}
	fmt.Printf("Create again, same IdempotencyKey: same agent: %v, same first key: %v, Replayed: %v (no plaintext: %v)\n",
		again.ID == created.ID, again.KeyID == created.KeyID, again.Replayed, again.APIKey.Reveal() == "")
	_, err = agents.Create(ctx, facade.AgentCreateParams{Name: name})
	fmt.Printf("Create again, new request, same name: errors.Is(err, facade.ErrAgentNameExists) = %v\n",
		errors.Is(err, facade.ErrAgentNameExists))

	// The agent's workload runs with its own key.
	oldKey, err := facade.NewAgent(created.APIKey.Reveal())
	if err != nil {
		return err
	}
	defer func() { _ = oldKey.Close() }()
	if err := whoAmI(ctx, "first key", oldKey); err != nil {
		return err
	}

	// Rotation: mint a new key, move the workload to it, deprecate then revoke the old one.
	minted, err := agents.MintKey(ctx, created.ID)
	if err != nil {
		return err
	}
	fmt.Printf("MintKey: new key %s (%s…, %q), status %s\n", demoenv.Short(minted.ID), keyPrefix(minted.APIKey), minted.Name, minted.Status)
	newKey, err := facade.NewAgent(minted.APIKey.Reveal())
	if err != nil {
		return err
	}
	defer func() { _ = newKey.Close() }()
	if err := whoAmI(ctx, "new key", newKey); err != nil {
		return err
	}
	dep, err := agents.DeprecateKey(ctx, created.ID, created.KeyID)
	if err != nil {
		return err
	}
	fmt.Printf("DeprecateKey: first key is now %s\n", dep.Status)
	if err := whoAmI(ctx, "first key", oldKey); err != nil {
		return err
	}
	fmt.Printf("        the deprecated key still works; KeyDeprecated() = %v tells the workload to switch\n", oldKey.KeyDeprecated())
	rev, err := agents.RevokeKey(ctx, created.ID, created.KeyID, facade.RevokeKeyParams{})
	if err != nil {
		return err
	}
	fmt.Printf("RevokeKey: first key is now %s\n", rev.Status)
	_, err = oldKey.Me(ctx)
	fmt.Printf("        Me with the first key: errors.Is(err, facade.ErrKeyRevoked) = %v\n", errors.Is(err, facade.ErrKeyRevoked))

	// The last active key is protected: revoking it needs Force.
	_, err = agents.RevokeKey(ctx, created.ID, minted.ID, facade.RevokeKeyParams{})
	if !errors.Is(err, facade.ErrLastActiveKey) {
		return fmt.Errorf("expected ErrLastActiveKey, got %v", err)
	}
	fmt.Println("RevokeKey on the last active key: facade.ErrLastActiveKey")
	rev, err = agents.RevokeKey(ctx, created.ID, minted.ID, facade.RevokeKeyParams{Force: true})
	if err != nil {
		return err
	}
	fmt.Printf("RevokeKey with Force: true: new key is now %s\n", rev.Status)

	keys, err := agents.ListKeys(ctx, created.ID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		fmt.Printf("ListKeys: %s… %-10q %s\n", k.Prefix, k.Name, k.Status)
	}

	deleted, err := agents.Delete(ctx, created.ID)
	if err != nil {
		return err
	}
	_, found, err := agents.GetByName(ctx, name)
	if err != nil {
		return err
	}
	fmt.Printf("Delete: agent %q is now %s; GetByName finds it: %v\n", deleted.Name, deleted.Status, found)

	return app.Close()
}

// whoAmI calls Me with an agent client and prints the answer.
func whoAmI(ctx context.Context, label string, a *facade.Agent) error {
	me, err := a.Me(ctx)
	if err != nil {
		return fmt.Errorf("calling Me with the %s: %w", label, err)
	}
	fmt.Printf("        Me with the %s: agent %q, status %s\n", label, me.Name, me.Status)
	return nil
}

// keyPrefix is the recognizable start of a plaintext key (its type, e.g. alter_ak_), never the
// secret part.
func keyPrefix(k facade.Secret) string {
	v := k.Reveal()
	if len(v) < len("alter_ak_") {
		return ""
	}
	return v[:len("alter_ak_")]
}
