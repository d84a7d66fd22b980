package demoenv

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/vaulttest"
)

// The environment variables the examples read: the ones `go run ./cmd/altervault-dev` exports.
// ALTER_BASE_URL is read by the SDK itself; the others are read by the example code.
const (
	VarBaseURL             = "ALTER_BASE_URL"
	VarAppKey              = "ALTER_API_KEY"
	VarAgentKey            = "AGENT_API_KEY"
	VarAgentID             = "AGENT_ID"
	VarUserToken           = "ALTER_USER_TOKEN"
	VarUpstreamURL         = "ALTER_UPSTREAM_URL"
	VarGrantID             = "ALTER_GRANT_ID"
	VarSecondGitHubGrantID = "ALTER_SECOND_GITHUB_GRANT_ID"
	VarGoogleGrantID       = "ALTER_GOOGLE_GRANT_ID"
	VarAgentGrantID        = "ALTER_AGENT_GRANT_ID"
	VarApprovalGrantID     = "ALTER_APPROVAL_GRANT_ID"
	VarManagedSecretID     = "ALTER_MANAGED_SECRET_ID"
	VarMSGrantID           = "ALTER_MS_GRANT_ID"
	VarAWSGrantID          = "ALTER_AWS_GRANT_ID"
	VarAWSUpstreamURL      = "ALTER_AWS_UPSTREAM_URL"
)

// Env is the vault an example talks to and the demo data in it.
type Env struct {
	InProcess   bool   // the example started its own in-memory vault
	BaseURL     string // the vault's API base URL (what the SDK will use)
	UpstreamURL string // the echo API standing in for GitHub, Google, Slack, Stripe…
	UserToken   string // alice's JWT (an end user of the app)

	AgentID             uuid.UUID // demo-agent
	GrantID             uuid.UUID // alice's GitHub grant (work account), delegated to demo-agent
	SecondGitHubGrantID uuid.UUID // alice's second GitHub account, not delegated
	GoogleGrantID       uuid.UUID // alice's Google grant, delegated to demo-agent
	AgentGrantID        uuid.UUID // a Slack grant owned by demo-agent itself
	ApprovalGrantID     uuid.UUID // a GitHub grant whose policy requires a human approval
	ManagedSecretID     string    // the "stripe" managed secret (a UUID)
	MSGrantID           uuid.UUID // the managed secret granted to demo-agent
	AWSGrantID          uuid.UUID // an app grant on AWS credentials (S3, us-east-1)
	AWSUpstreamURL      string    // the stand-in for S3, which verifies SigV4 signatures
}

// Setup returns the vault to use and a cleanup func. With ALTER_API_KEY or AGENT_API_KEY set it
// uses the environment (every name in required must then be set); with neither, it starts an
// in-memory vault seeded with the demo data and exports the same variables for this process.
// It prints which way it went. Errors name the missing or malformed variable.
func Setup(required ...string) (*Env, func(), error) {
	cleanup := func() {}
	inProcess := os.Getenv(VarAppKey) == "" && os.Getenv(VarAgentKey) == ""
	if inProcess {
		vault, err := vaulttest.Start()
		if err != nil {
			return nil, cleanup, fmt.Errorf("start the in-memory vault: %w", err)
		}
		cleanup = vault.Close
		demo := vaulttest.SeedDemo(vault) // with an echo upstream that vault.Close stops
		if err := exportDemo(demo); err != nil {
			cleanup()
			return nil, func() {}, err
		}
		fmt.Printf("vault: %s is not set, so this example started an in-memory vault (vaulttest) seeded with the demo data\n", VarAppKey)
		fmt.Printf("       at %s (run `make demo` to use cmd/altervault-dev instead)\n", vault.URL())
	} else {
		base := os.Getenv(VarBaseURL)
		if base == "" {
			base = "the SDK default (ALTER_BASE_URL is not set)"
		}
		fmt.Printf("vault: %s (from the environment)\n", base)
	}
	e, err := load(required)
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	e.InProcess = inProcess
	return e, cleanup, nil
}

// exportDemo sets the variables cmd/altervault-dev would print, parsed from the same writer.
func exportDemo(d vaulttest.Demo) error {
	var buf bytes.Buffer
	if err := d.WriteEnv(&buf); err != nil {
		return err
	}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if !ok {
			continue
		}
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return sc.Err()
}

func load(required []string) (*Env, error) {
	for _, name := range required {
		if os.Getenv(name) == "" {
			return nil, fmt.Errorf("%s is not set: export the variables printed by `go run ./cmd/altervault-dev`, "+
				"or unset %s and %s and the example starts an in-memory vault", name, VarAppKey, VarAgentKey)
		}
	}
	e := &Env{
		BaseURL:         os.Getenv(VarBaseURL),
		UpstreamURL:     strings.TrimRight(os.Getenv(VarUpstreamURL), "/"),
		UserToken:       os.Getenv(VarUserToken),
		ManagedSecretID: os.Getenv(VarManagedSecretID),
		AWSUpstreamURL:  strings.TrimRight(os.Getenv(VarAWSUpstreamURL), "/"),
	}
	ids := []struct {
		name string
		dst  *uuid.UUID
	}{
		{VarAgentID, &e.AgentID}, {VarGrantID, &e.GrantID}, {VarSecondGitHubGrantID, &e.SecondGitHubGrantID},
		{VarGoogleGrantID, &e.GoogleGrantID}, {VarAgentGrantID, &e.AgentGrantID},
		{VarApprovalGrantID, &e.ApprovalGrantID}, {VarMSGrantID, &e.MSGrantID}, {VarAWSGrantID, &e.AWSGrantID},
	}
	for _, id := range ids {
		v := os.Getenv(id.name)
		if v == "" {
			continue
		}
		u, err := uuid.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("%s is not a UUID", id.name)
		}
		*id.dst = u
	}
	return e, nil
}

// RunID returns a run id for one execution of an example: name plus a short random suffix, so
// repeated runs against the same dev server can be told apart in the audit log.
func RunID(name string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:])
}

// Short abbreviates a UUID for the narrative (the full id is in the audit log).
func Short(id uuid.UUID) string {
	if id == uuid.Nil {
		return "-"
	}
	return id.String()[:8]
}
