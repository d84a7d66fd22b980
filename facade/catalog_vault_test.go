package facade

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The namespaces against the emulator, with contract validation in both directions.
func TestVaultCatalogs(t *testing.T) {
	e := newEnv(t)
	cat, err := e.app.ListProviders(bg)
	require.NoError(t, err)
	require.Contains(t, cat.IDs(), ProviderGitHub)
	require.Equal(t, []string{"User.Read"}, cat.RequiredScopes(ProviderMicrosoft))
	require.Equal(t, []string{"repo", "read:user"}, cat.DefaultScopes(ProviderGitHub))
	wf, ok := cat.Providers[ProviderGitHub].Scope("workflow")
	require.True(t, ok)
	require.Equal(t, []string{"repo"}, wf.Requires)

	sc, err := e.app.ListScopes(bg)
	require.NoError(t, err)
	require.Contains(t, sc.Scopes(), "spans:emit")
	require.Contains(t, sc.Scopes(), "providers:read")
}

func TestVaultProviderSpecs(t *testing.T) {
	e := newEnv(t)
	specs := e.app.ProviderSpecs()
	all, err := specs.List(bg, "")
	require.NoError(t, err)
	require.Len(t, all, 5)
	managed, err := specs.List(bg, ProviderSpecKindManaged)
	require.NoError(t, err)
	for _, sp := range managed {
		require.Equal(t, ProviderSpecKindManaged, sp.Kind)
	}
	gh, err := specs.Get(bg, ProviderSpecKindOAuth, ProviderGitHub)
	require.NoError(t, err)
	require.NotEmpty(t, gh.ContentHash)

	var ids []string
	for op, err := range specs.AllOperations(bg, ProviderSpecKindOAuth, ProviderGitHub, SpecOperationsParams{Limit: 4}) {
		require.NoError(t, err)
		ids = append(ids, op.ID)
	}
	require.Len(t, ids, gh.OperationCount, "every page walked")
	pg, err := specs.ListOperations(bg, ProviderSpecKindOAuth, ProviderGitHub, SpecOperationsParams{Search: "Pull", Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 3, pg.Total)
	require.True(t, pg.HasMore)
	require.Equal(t, gh, pg.Spec)

	op, err := specs.GetOperation(bg, ProviderSpecKindManaged, "resend", "post:/emails")
	require.NoError(t, err)
	require.Equal(t, "/emails", op.PathTemplate)
	var schema struct{ Required []string }
	require.NoError(t, json.Unmarshal(op.RequestSchema, &schema))
	require.Equal(t, []string{"from", "to", "subject"}, schema.Required)
	require.Nil(t, op.ParamsSchema)
	op, err = specs.GetOperation(bg, ProviderSpecKindOAuth, ProviderGitHub, "issues/get")
	require.NoError(t, err)
	require.Len(t, op.ParamsSchema, 3, "owner, repo, issue_number")

	for code, err := range map[ErrorCode]error{
		ErrorCodeProviderSpecNotFound: func() error { _, err := specs.Get(bg, ProviderSpecKindOAuth, ProviderNotion); return err }(),
		ErrorCodeOperationNotFound: func() error {
			_, err := specs.GetOperation(bg, ProviderSpecKindOAuth, ProviderGitHub, "repos/none")
			return err
		}(),
	} {
		var nf *GrantNotFoundError
		require.True(t, errors.As(err, &nf), "%v", err)
		require.Equal(t, code, nf.Code)
		require.Equal(t, 404, nf.Status)
		want := ProviderNotion
		if code == ErrorCodeOperationNotFound {
			want = ProviderGitHub
		}
		require.Equal(t, want, nf.ProviderID)
	}
}

func TestVaultEmitSpans(t *testing.T) {
	e := newEnv(t)
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	batch := []UserSpan{
		{TraceID: "run-1", SpanID: "plan", Name: "plan", Start: start, End: start.Add(time.Second), Attributes: map[string]string{"step": "1"}},
		{TraceID: "run-1", SpanID: "act", ParentSpanID: "plan", Name: "act", Start: start.Add(time.Second)},
	}
	res, err := e.app.EmitSpans(bg, batch)
	require.NoError(t, err)
	require.Equal(t, 2, res.Accepted)
	res, err = e.app.EmitSpans(bg, batch)
	require.NoError(t, err)
	require.Zero(t, res.Accepted, "a retried batch with its own span ids is absorbed")
	got := e.s.Spans()
	require.Len(t, got, 2)
	require.Equal(t, "plan", got[1].ParentSpanID)
	require.Equal(t, map[string]string{"step": "1"}, got[0].Attributes)
	require.True(t, got[0].End.Equal(start.Add(time.Second)))
	require.Nil(t, got[1].End)
}
