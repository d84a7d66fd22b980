package demoenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/gen"
)

// raw is what PrintAudit needs from a client: facade.App and facade.Agent both have it.
type raw interface {
	Raw() *gen.ClientWithResponses
	Close() error
}

// AuditRows reads every audit row carrying runID through the API, oldest first, following the
// cursor. It uses a client of its own (the App key when set, else the agent key, which sees only
// the agent's rows), so call it after closing the example's clients: Close drains the background
// audit posts of upstream calls.
func AuditRows(ctx context.Context, runID string) ([]gen.AuditEvent, error) {
	var c raw
	var err error
	if key := os.Getenv(VarAppKey); key != "" {
		c, err = facade.NewApp(key, facade.WithCaller("audit-reader"))
	} else {
		c, err = facade.NewAgent(os.Getenv(VarAgentKey))
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	var rows []gen.AuditEvent
	params := &gen.ListAuditEventsParams{RunID: &runID}
	for {
		resp, err := c.Raw().ListAuditEventsWithResponse(ctx, params)
		if err != nil {
			return nil, err
		}
		if resp.JSON200 == nil {
			return nil, fmt.Errorf("listAuditEvents: vault answered %d: %s", resp.StatusCode(), firstLine(resp.Body))
		}
		rows = append(rows, resp.JSON200.Events...)
		if !resp.JSON200.HasMore || resp.JSON200.NextCursor == nil {
			return rows, nil
		}
		params.Cursor = resp.JSON200.NextCursor
	}
}

// PrintAudit prints the audit rows of runID as a table: what the vault recorded about the run.
func PrintAudit(ctx context.Context, runID string) error {
	rows, err := AuditRows(ctx, runID)
	if err != nil {
		return err
	}
	fmt.Printf("\naudit log of run %s (%d rows, read with Raw().ListAuditEventsWithResponse):\n", runID, len(rows))
	table := [][]string{{"OPERATION", "OUTCOME", "CALLER", "PRINCIPAL", "GRANT", "PROVIDER", "THREAD/TOOL CALL", "DETAIL"}}
	posts := 0
	for _, r := range rows {
		if r.Operation == "recordAPICall" { // the SDK's post that produced the upstreamCall row
			posts++
			continue
		}
		outcome := string(r.Outcome)
		if r.ErrorCode != nil {
			outcome += " (" + *r.ErrorCode + ")"
		}
		caller := deref(r.Caller)
		if r.AgentID != nil {
			switch agent := "agent " + Short(*r.AgentID); caller {
			case "":
				caller = agent
			case r.AgentID.String():
				caller = "App as " + agent
			default:
				caller += " (" + agent + ")"
			}
		}
		principal := "-"
		if r.PrincipalType != nil {
			principal = string(*r.PrincipalType) + ":" + shortID(deref(r.PrincipalID))
		}
		grant := "-"
		if r.GrantID != nil {
			grant = Short(*r.GrantID)
		}
		trace := strings.Trim(deref(r.ThreadID)+"/"+deref(r.ToolCallID), "/")
		table = append(table, []string{r.Operation, outcome, dash(caller), principal, grant, dash(deref(r.ProviderID)),
			dash(trace), detail(r)})
	}
	printTable(table)
	if posts > 0 {
		fmt.Printf("  (+ %d recordAPICall rows: the SDK's background posts that wrote the upstreamCall rows)\n", posts)
	}
	return nil
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

// detail is the most telling part of a row: the upstream call and its status, or the reason.
func detail(r gen.AuditEvent) string {
	var parts []string
	if r.Method != nil && r.URL != nil {
		target := *r.URL
		if u, err := url.Parse(target); err == nil && u.Host != "" {
			target = u.Path // the host is the demo upstream's loopback address
		}
		s := *r.Method + " " + target
		if r.ResponseStatus != nil {
			s += fmt.Sprintf(" -> %d", *r.ResponseStatus)
		}
		parts = append(parts, s)
	}
	if r.Reason != nil {
		parts = append(parts, fmt.Sprintf("reason=%q", *r.Reason))
	}
	return dash(strings.Join(parts, " "))
}

// shortID abbreviates a principal id that is a UUID (an agent, the app) and keeps others (a user).
func shortID(id string) string {
	if u, err := uuid.Parse(id); err == nil {
		return Short(u)
	}
	return id
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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
