package vaulttest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	app := newClient(t, s, d.AppKey)
	r := app.post("/sdk/token", map[string]any{"grant_id": d.GrantID.String(), "reason": nil,
		"request": map[string]any{"method": "GET", "url": d.UpstreamURL + "/x"}})
	require.Equal(t, 200, r.status, "%s", r.body)
	t.Logf("%s %v", r.body, r.header)
}
