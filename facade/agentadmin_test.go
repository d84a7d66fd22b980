package facade

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Optimistic concurrency, staged and immediate scope narrowing, suspend and resume, against the
// emulator.
func TestAgentScopeUpdates(t *testing.T) {
	e := newEnv(t)
	ns := e.app.Agents()
	broad := map[string][]string{"github": {"repo", "read:user"}, "slack": {"chat:write"}}
	a, err := ns.Create(bg, AgentCreateParams{Name: "scoped-bot", Scopes: broad})
	require.NoError(t, err)
	assert.Equal(t, uuid.Nil, a.ParentAgentID)
	assert.Equal(t, []string{}, a.LegacyManagedSecretNames)
	v := a.Version

	same, err := ns.Update(bg, a.ID, AgentUpdateParams{})
	require.NoError(t, err)
	assert.Equal(t, v, same.Version, "a no-op update keeps the version")

	narrow := map[string][]string{"github": {"repo"}}
	staged, err := ns.Update(bg, a.ID, AgentUpdateParams{Scopes: narrow, ExpectedVersion: v, GracePeriod: time.Hour})
	require.NoError(t, err)
	assert.Equal(t, broad, staged.Scopes, "a narrowing is staged")
	assert.Equal(t, narrow, staged.ScopesPending)
	assert.WithinDuration(t, time.Now().Add(time.Hour), staged.ScopesAppliesAt, time.Minute)
	assert.Equal(t, v+1, staged.Version)

	_, err = ns.Update(bg, a.ID, AgentUpdateParams{Scopes: narrow, ExpectedVersion: v, NarrowNow: true})
	require.ErrorIs(t, err, ErrAgentConcurrentUpdate)
	require.ErrorIs(t, err, ErrAgent)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 409, ae.Status)
	assert.Equal(t, ErrorCodeAgentConcurrentUpdate, ae.Code)
	assert.NotEmpty(t, ae.Hint)
	_, err = ns.Update(bg, a.ID, AgentUpdateParams{DisplayName: "x", ExpectedVersion: v})
	require.ErrorIs(t, err, ErrAgentConcurrentUpdate, "any change against a stale version is refused")

	now, err := ns.Update(bg, a.ID, AgentUpdateParams{Scopes: narrow, ExpectedVersion: staged.Version, NarrowNow: true})
	require.NoError(t, err)
	assert.Equal(t, narrow, now.Scopes, "NarrowNow applies at once")
	assert.Nil(t, now.ScopesPending)
	assert.True(t, now.ScopesAppliesAt.IsZero())
	got := e.s.Requests()
	assert.Equal(t, "grace_seconds=0&expected_version="+strconv.Itoa(staged.Version), got[len(got)-1].Query)

	wider, err := ns.Update(bg, a.ID, AgentUpdateParams{Scopes: broad, ExpectedVersion: now.Version, GracePeriod: time.Hour})
	require.NoError(t, err)
	assert.Equal(t, broad, wider.Scopes, "a broadening applies at once")

	sus, err := ns.Suspend(bg, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "inactive", sus.Status)
	res, err := ns.Resume(bg, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "active", res.Status)
	assert.Equal(t, sus.Version+1, res.Version)
}

func TestAgentUpdateRefusedLocally(t *testing.T) {
	e := newEnv(t)
	ns := e.app.Agents()
	id := uuid.New()
	scopes := map[string][]string{"github": {"repo"}}
	for name, p := range map[string]AgentUpdateParams{
		"scopes without version":    {Scopes: scopes},
		"negative version":          {ExpectedVersion: -1},
		"grace without scopes":      {GracePeriod: time.Hour},
		"narrow now without scopes": {NarrowNow: true},
		"narrow now with grace":     {Scopes: scopes, ExpectedVersion: 1, NarrowNow: true, GracePeriod: time.Hour},
		"grace over 7 days":         {Scopes: scopes, ExpectedVersion: 1, GracePeriod: 7*24*time.Hour + time.Second},
		"fractional grace":          {Scopes: scopes, ExpectedVersion: 1, GracePeriod: 1500 * time.Millisecond},
		"negative grace":            {Scopes: scopes, ExpectedVersion: 1, GracePeriod: -time.Second},
	} {
		_, err := ns.Update(bg, id, p)
		require.ErrorIs(t, err, ErrInvalidInput, name)
	}
	assert.Empty(t, e.s.Requests(), "refused before any I/O")
}
