package bench

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/altersdk/alter-go/vaulttest"
)

// TestFloorSpeaksTheRealWire: the floor is a baseline only if the vault accepts it. Against
// vaulttest (which checks the key, both signature forms, the nonce and the contract of every
// request) it fetches the credential, injects it, calls the upstream and gets its audit row
// recorded, twice (the second call names the cached actor, so it is signed with V2); and Me
// answers the agent; a large answer is audited by its size.
func TestFloorSpeaksTheRealWire(t *testing.T) {
	s := vaulttest.NewTestServer(t)
	echo := vaulttest.NewEchoUpstream()
	defer echo.Close()
	d := vaulttest.SeedDemoWithUpstream(s, echo.URL())
	f := NewFloor(s.URL(), d.AppKey)
	url := d.UpstreamURL + "/items"
	for i := range 2 {
		st, err := f.Request(context.Background(), d.GrantID, http.MethodGet, url)
		if err != nil || st != http.StatusOK {
			t.Fatalf("call %d: status %d, %v", i+1, st, err)
		}
	}
	f.Close()

	for _, r := range s.Requests() {
		if r.Status >= 300 {
			t.Errorf("vault answered %s %s with %d", r.Method, r.Path, r.Status)
		}
	}
	if n := s.CallCount("retrieveToken"); n != 2 {
		t.Errorf("retrieveToken calls: %d, want 2", n)
	}
	var rows int
	for _, row := range s.AuditRows() {
		if row.Operation != "recordApiCall" {
			continue
		}
		rows++
		if row.GrantID != d.GrantID || row.Method != http.MethodGet || row.URL != url || row.ResponseStatus != http.StatusOK {
			t.Errorf("audit row: grant %s %s %s → %d", row.GrantID, row.Method, row.URL, row.ResponseStatus)
		}
		for k := range row.RequestHeaders {
			if strings.EqualFold(k, "Authorization") {
				t.Errorf("audit row carries the credential header %s", k)
			}
		}
	}
	if rows != 2 {
		t.Errorf("audit rows: %d, want 2", rows)
	}
	var up int
	for _, r := range echo.Requests() {
		up++
		if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "Bearer ") || len(a) <= len("Bearer ") {
			t.Errorf("upstream saw no bearer credential")
		}
	}
	if up != 2 {
		t.Errorf("upstream calls: %d, want 2", up)
	}

	// A large answer is streamed through: its record notes the size, as the facade's does.
	big := NewFloor(s.URL(), d.AppKey)
	bigURL := echo.URL() + "/bytes/20000"
	if st, err := big.Request(context.Background(), d.GrantID, http.MethodGet, bigURL); err != nil || st != http.StatusOK {
		t.Fatalf("large answer: status %d, %v", st, err)
	}
	big.Close()
	var noted bool
	for _, row := range s.AuditRows() {
		if row.URL == bigURL {
			noted = row.ResponseBody == "<response too large: 20000 bytes>"
		}
	}
	if !noted {
		t.Errorf("no audit row noting the large answer's size")
	}

	agent := NewFloor(s.URL(), d.Agent.APIKey)
	defer agent.Close()
	id, err := agent.Me(context.Background())
	if err != nil || id != d.Agent.ID {
		t.Fatalf("Me: %s, %v; want %s", id, err, d.Agent.ID)
	}
}
