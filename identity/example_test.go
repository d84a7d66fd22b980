package identity_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/identity"
	"github.com/altersdk/alter-go/vaulttest"
)

// The memory service trusts the issuer's key set from its configuration (here the in-memory
// vault's); an agent sends it an assertion it minted with AssertIdentity.
func ExampleVerifier_Verify() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	d := vaulttest.SeedDemo(vault)
	trust := vault.IdentityTrust()
	verifier, err := identity.NewVerifier(identity.Config{Issuer: trust.Issuer, Audience: "https://memory.internal",
		JWKS: trust.JWKS, AppID: trust.AppID, AgentID: d.Agent.ID.String()})
	if err != nil {
		log.Fatal(err)
	}

	agent, err := facade.NewAgent(d.Agent.APIKey, facade.WithBaseURL(d.BaseURL))
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()
	a, err := agent.AssertIdentity(context.Background(), facade.AssertIdentityParams{
		Audience: "https://memory.internal", UserToken: d.User.Token})
	if err != nil {
		log.Fatal(err)
	}

	// In the memory service:
	id, err := verifier.Verify(a.Token.Reveal())
	if err != nil {
		log.Fatal(err)
	}
	scope, err := id.MemoryScope()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id.AppUserID == d.User.AppUserID.String(), scope.Namespace[2])

	// A token for another audience is refused with a coarse reason, never its contents.
	other, err := agent.AssertIdentity(context.Background(), facade.AssertIdentityParams{Audience: "urn:billing"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = verifier.Verify(other.Token.Reveal())
	var mi *facade.MemoryIsolationError
	if errors.As(err, &mi) {
		fmt.Println(mi.Code, mi.Reason)
	}
	// Output:
	// true agent-user
	// memory_assertion_invalid claims
}
