// Command proxy-approval is human-in-the-loop: the grant's policy requires a person to approve
// each use, so retrieve mode is refused and the agent uses proxy mode, where the vault itself
// makes the upstream call once the call is approved. ProxyRequest returns a PendingApproval
// (with the page where the approver decides), GetApprovalStatus reads its state and AwaitApproval
// waits for the decision and returns the upstream answer. A second call is denied.
//
// The demo has no approver, so it presses Approve (and then Deny) on the approval page itself
// over HTTP, and says so. In production a person does this in the portal or the approval link.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "proxy-approval:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAgentKey, demoenv.VarUpstreamURL, demoenv.VarApprovalGrantID)
	defer cleanup()
	if err != nil {
		return err
	}

	agent, err := facade.NewAgent(os.Getenv("AGENT_API_KEY"))
	if err != nil {
		return err
	}
	defer func() { _ = agent.Close() }()

	runID := demoenv.RunID("proxy-approval")
	traced := facade.WithTrace(ctx, facade.Trace{RunID: runID, ThreadID: "thread-incident"})
	issues := env.UpstreamURL + "/repos/octo-org/ops/issues"
	wait := facade.AwaitOptions{PollInterval: 100 * time.Millisecond, Timeout: time.Minute} // defaults: 2 s, 5 min

	// Retrieve mode would hand the credential to this process: refused for this grant.
	_, err = agent.Request(traced, http.MethodPost, issues, facade.RequestParams{GrantID: env.ApprovalGrantID})
	if !errors.Is(err, facade.ErrRestrictedGrantRequiresProxy) {
		return fmt.Errorf("expected ErrRestrictedGrantRequiresProxy, got %v", err)
	}
	fmt.Println("Request (retrieve mode) on the approval grant: facade.ErrRestrictedGrantRequiresProxy")

	// Proxy mode: the call is held until a person decides.
	outcome, err := agent.ProxyRequest(traced, http.MethodPost, issues, facade.ProxyParams{
		GrantID: env.ApprovalGrantID,
		JSON:    map[string]string{"title": "Disk full on db-1", "body": "Opened by the on-call agent"},
		Reason:  "open an incident issue", // shown to the approver
	})
	if err != nil {
		return err
	}
	if outcome.Pending == nil {
		return fmt.Errorf("expected a pending approval, the call ran at once (status %d)", outcome.Result.StatusCode)
	}
	p := outcome.Pending
	fmt.Printf("ProxyRequest: %s, approval %s, decide at %s\n", p.State, p.ID, p.URL)
	st, err := agent.GetApprovalStatus(traced, p.ID)
	if err != nil {
		return err
	}
	fmt.Printf("GetApprovalStatus: %s (terminal: %v)\n", st.State, st.State.Terminal())

	fmt.Println("approver: no human here: approving the approval page programmatically")
	if _, err := demoenv.SubmitPage(ctx, p.URL, nil); err != nil {
		return err
	}
	res, err := agent.AwaitApproval(traced, p.ID, wait)
	if err != nil {
		return err
	}
	echo, err := demoenv.DecodeEcho(res.Bytes())
	if err != nil {
		return err
	}
	fmt.Printf("AwaitApproval: executed by the vault, upstream status %d; the upstream got Authorization: %s\n",
		res.StatusCode, demoenv.Mask(echo.Headers["Authorization"]))
	fmt.Println("        (proxy mode: the credential never left the vault)")

	// A second call, denied this time.
	outcome, err = agent.ProxyRequest(traced, http.MethodDelete, env.UpstreamURL+"/repos/octo-org/ops", facade.ProxyParams{
		GrantID: env.ApprovalGrantID, Reason: "delete the ops repository",
	})
	if err != nil {
		return err
	}
	if outcome.Pending == nil {
		return errors.New("expected a pending approval")
	}
	fmt.Printf("ProxyRequest: DELETE /repos/octo-org/ops is %s\n", outcome.Pending.State)
	fmt.Println("approver: no human here: denying on the approval page programmatically")
	if _, err := demoenv.SubmitPage(ctx, outcome.Pending.URL, url.Values{"decision": {"deny"}}); err != nil {
		return err
	}
	_, err = agent.AwaitApproval(traced, outcome.Pending.ID, wait)
	var denied *facade.ApprovalError
	if !errors.Is(err, facade.ErrApprovalDenied) || !errors.As(err, &denied) {
		return fmt.Errorf("expected ErrApprovalDenied, got %v", err)
	}
	fmt.Printf("AwaitApproval: errors.Is(err, facade.ErrApprovalDenied), an *facade.ApprovalError for approval %s (also matches ErrApproval: %v)\n",
		denied.ApprovalID, errors.Is(err, facade.ErrApproval))

	if err := agent.Close(); err != nil {
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}
