package demoenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/altersdk/alter-go/vaulttest"
)

// AuditRows reads every audit row carrying runID, oldest first, from the vault's dev control API
// (GET /_dev/audit). The real wire has no audit read endpoint for an SDK key (the rows are read in
// the portal); vaulttest and cmd/altervault-dev serve this one to loopback clients. Call it after
// closing the example's clients: Close drains the background audit posts of upstream calls.
func AuditRows(ctx context.Context, runID string) ([]vaulttest.AuditRow, error) {
	return devList(ctx, "/_dev/audit", func(r vaulttest.AuditRow) bool { return r.RunID == runID })
}

// devList decodes the JSON list a GET to the dev control API answers and keeps the items keep
// accepts, in their order.
func devList[T any](ctx context.Context, path string, keep func(T) bool) ([]T, error) {
	var all []T
	if err := devGet(ctx, path, &all); err != nil {
		return nil, err
	}
	var out []T
	for _, x := range all {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out, nil
}

// IdentityTrust reads what a verifier of the dev vault's identity assertions trusts (GET
// /_dev/identity): its issuer, app id and key set. A production service has Alter's in its
// configuration.
func IdentityTrust(ctx context.Context) (vaulttest.IdentityTrust, error) {
	var t vaulttest.IdentityTrust
	err := devGet(ctx, "/_dev/identity", &t)
	return t, err
}

// devGet decodes the JSON answer of a GET to the dev control API of the vault at ALTER_BASE_URL.
func devGet(ctx context.Context, path string, v any) error {
	base := strings.TrimRight(os.Getenv(VarBaseURL), "/")
	if base == "" {
		return fmt.Errorf("%s is not set: %s is read from the dev vault", VarBaseURL, path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: the vault answered %d: %s", path, resp.StatusCode, firstLine(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// PrintAudit prints the audit rows of runID as a table: what the vault recorded about the run.
func PrintAudit(ctx context.Context, runID string) error {
	rows, err := AuditRows(ctx, runID)
	if err != nil {
		return err
	}
	PrintRows(runID, rows)
	return nil
}

// PrintRows prints rows, the audit rows of runID read by AuditRows, as PrintAudit does: for an
// example that also checks them.
func PrintRows(runID string, rows []vaulttest.AuditRow) {
	fmt.Printf("\naudit log of run %s (%d rows, read from the dev vault's GET /_dev/audit):\n", runID, len(rows))
	table := [][]string{{"OPERATION", "CALLER", "PRINCIPAL", "USER", "GRANT", "PROVIDER", "THREAD/TOOL CALL", "DETAIL"}}
	for _, r := range rows {
		caller := r.Caller
		if r.AgentID != (vaulttest.UUID{}) {
			switch agent := "agent " + Short(r.AgentID); caller {
			case "":
				caller = agent
			case r.AgentID.String():
				caller = "App as " + agent
			default:
				caller += " (" + agent + ")"
			}
		}
		grant := "-"
		if r.GrantID != (vaulttest.UUID{}) {
			grant = Short(r.GrantID)
		}
		trace := strings.Trim(r.ThreadID+"/"+r.ToolCallID, "/")
		table = append(table, []string{r.Operation, dash(caller), dash(r.PrincipalType), dash(r.UserSub), grant,
			dash(r.ProviderID), dash(trace), detail(r)})
	}
	printTable(table)
}

// printTable prints rows with aligned columns, two spaces apart, indented by two.
func printTable(rows [][]string) {
	var width []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Println("  " + b.String())
	}
}

// detail is the most telling part of a row: the upstream call and its status, and the reason.
func detail(r vaulttest.AuditRow) string {
	var parts []string
	if r.Method != "" && r.URL != "" {
		target := r.URL
		if u, err := url.Parse(target); err == nil && u.Host != "" {
			target = u.Path // the host is the demo upstream's loopback address
		}
		s := r.Method + " " + target
		if r.ResponseStatus != 0 {
			s += fmt.Sprintf(" -> %d", r.ResponseStatus)
		}
		parts = append(parts, s)
	}
	if r.Reason != "" {
		parts = append(parts, fmt.Sprintf("reason=%q", r.Reason))
	}
	return dash(strings.Join(parts, " "))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// SimulateRefreshRetries asks the dev vault (POST /_dev/grants/{id}/refresh-retries) to report,
// on the next credential fetch of grantID, a provider token refresh that needed attempts tries:
// what the real vault reports in retry_info when a refresh had to be retried.
func SimulateRefreshRetries(ctx context.Context, grantID vaulttest.UUID, attempts int) error {
	base := strings.TrimRight(os.Getenv(VarBaseURL), "/")
	body := strings.NewReader(fmt.Sprintf(`{"attempts": %d}`, attempts))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/_dev/grants/"+grantID.String()+"/refresh-retries", body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("POST /_dev/grants/…/refresh-retries: the vault answered %d: %s", resp.StatusCode, firstLine(b))
	}
	return nil
}
