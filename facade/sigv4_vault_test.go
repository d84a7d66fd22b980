package facade

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

// Retrieve mode with an AWS grant against vaulttest's SigV4 upstream, which checks the signature
// from what it received: the call succeeds, the audit row holds no credential; a wrong secret
// is the upstream's 403 SignatureDoesNotMatch.
func TestVaultSigV4(t *testing.T) {
	const akid, secret, session = "AKIDVAULTTEST", "vault-secret-key/EXAMPLE+x", "session-tok-EXAMPLE"
	e := newEnv(t)
	aws := vaulttest.NewSigV4Upstream(akid, secret)
	t.Cleanup(aws.Close)
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "aws", Credential: akid,
		Injection: vaulttest.SigV4Injection(secret, "eu-west-1", "s3", session)})

	resp, err := e.app.Request(bg, "PUT", aws.URL()+"/bucket/a%20b+c?x-id=PutObject&k=a+b", RequestParams{GrantID: gid,
		Query: url.Values{"tagging": {""}}, Header: map[string][]string{"X-Amz-Meta-Color": {"blue"}}, Body: []byte("hello"), Reason: "s3 put"})
	require.NoError(t, err)
	var echo struct{ Headers map[string]string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&echo))
	require.NoError(t, resp.Body.Close())
	require.Contains(t, echo.Headers["Authorization"], "Credential="+akid+"/")
	require.Equal(t, session, echo.Headers["X-Amz-Security-Token"])

	wrong := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "aws", Credential: akid,
		Injection: vaulttest.SigV4Injection("not-the-secret", "eu-west-1", "execute-api", "")})
	_, err = e.app.Request(bg, "POST", aws.URL()+"/v1/x%3Ay", RequestParams{GrantID: wrong, JSON: map[string]int{"a": 1}})
	var pe *ProviderAPIError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, 403, pe.Status)
	require.Contains(t, pe.Body, "SignatureDoesNotMatch")
	noSecrets(t, fmt.Sprintf("%v %+v %#v", err, err, err), "not-the-secret", secret, session)

	require.NoError(t, e.app.Close())
	rows := e.s.AuditRows()
	require.Len(t, rows, 2)
	// The two posts run in the background, in either order.
	slices.SortFunc(rows, func(a, b vaulttest.AuditRow) int { return a.ResponseStatus - b.ResponseStatus })
	require.Equal(t, 200, rows[0].ResponseStatus)
	require.Equal(t, 403, rows[1].ResponseStatus)
	for _, r := range rows { // what the SDK sent about the request (the echo's answer repeats the headers)
		b, err := json.Marshal([]any{r.URL, r.RequestHeaders, r.RequestBody})
		require.NoError(t, err)
		noSecrets(t, string(b), secret, "not-the-secret", session, "Signature=", "X-Amz-Date")
	}
	require.Equal(t, "blue", rows[0].RequestHeaders["X-Amz-Meta-Color"])
}
