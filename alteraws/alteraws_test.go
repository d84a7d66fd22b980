package alteraws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/alteraws"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

const (
	akid    = "AKIDALTERAWSTEST"
	secret  = "alteraws-secret/KEY+EXAMPLE"
	session = "alteraws-session-token"
)

// setup is a vault with an App and an AWS grant whose secret key is grantSecret, and the SigV4
// stand-in for S3 that knows the real one.
func setup(t *testing.T, grantSecret, sessionToken string) (*vaulttest.Server, *vaulttest.EchoUpstream, *facade.App, uuid.UUID) {
	t.Helper()
	vault := vaulttest.NewTestServer(t)
	up := vaulttest.NewSigV4Upstream(akid, secret)
	t.Cleanup(up.Close)
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "aws", Credential: akid,
		Injection: vaulttest.SigV4Injection(grantSecret, "eu-west-1", "s3", sessionToken)})
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })
	return vault, up, app, grant
}

// s3Client is an unmodified S3 client on cfg, pointed at the stand-in.
func s3Client(cfg aws.Config, up *vaulttest.EchoUpstream) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(up.URL())
		o.UsePathStyle = true
	})
}

// An unmodified aws-sdk-go-v2 S3 client calls through a grant: the upstream verifies every
// SigV4 signature from what it received, the vault records an audit row per call, and the
// program never holds the AWS credential.
func TestS3ThroughGrant(t *testing.T) {
	ctx := context.Background()
	vault, up, app, grant := setup(t, secret, session)
	cfg := alteraws.NewConfig(app, facade.RequestParams{GrantID: grant, Reason: "backup"}, "eu-west-1")
	_, err := cfg.Credentials.Retrieve(ctx)
	require.Error(t, err, "anonymous: the config holds no AWS credential")
	client := s3Client(cfg, up)

	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("backups"), Key: aws.String("2026/a b+c.txt"),
		Body: strings.NewReader("hello s3"), ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "ops"}})
	require.NoError(t, err)
	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("backups"), Key: aws.String("2026/a b+c.txt")})
	require.NoError(t, err)
	b, err := io.ReadAll(got.Body)
	require.NoError(t, err)
	require.NoError(t, got.Body.Close())
	var echo struct {
		Method, Path string
		Headers      map[string]string
	}
	require.NoError(t, json.Unmarshal(b, &echo), string(b))
	require.Equal(t, "GET", echo.Method)
	require.Equal(t, "/backups/2026/a b+c.txt", echo.Path)
	require.Contains(t, echo.Headers["Authorization"], "Credential="+akid+"/")
	require.Contains(t, echo.Headers["Authorization"], "/eu-west-1/s3/aws4_request")

	reqs := up.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, "hello s3", string(reqs[0].Body))
	require.Equal(t, "ops", reqs[0].Header.Get("X-Amz-Meta-Owner"))
	require.Empty(t, reqs[0].Header.Get("Amz-Sdk-Invocation-Id"))

	require.NoError(t, app.Close())
	rows := vault.AuditRows()
	require.Len(t, rows, 2)
	for i, method := range []string{"PUT", "GET"} {
		require.Equal(t, method, rows[i].Method)
		require.Equal(t, 200, rows[i].ResponseStatus)
		require.Equal(t, "backup", rows[i].Reason)
		require.Equal(t, grant, rows[i].GrantID)
		sent := fmt.Sprint(rows[i].URL, rows[i].RequestHeaders, string(rows[i].RequestBody))
		require.NotContains(t, sent, secret)
		require.NotContains(t, sent, session)
	}
}

// AWS's error answer reaches the service client as AWS sent it: a grant with the wrong secret is
// the service's SignatureDoesNotMatch, as smithy.APIError.
func TestS3SignatureRejected(t *testing.T) {
	ctx := context.Background()
	_, up, app, grant := setup(t, "wrong-secret", "")
	client := s3Client(alteraws.NewConfig(app, facade.RequestParams{GrantID: grant}, ""), up)
	_, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("backups")})
	var api smithy.APIError
	require.True(t, errors.As(err, &api), "%v", err)
	require.Equal(t, "SignatureDoesNotMatch", api.ErrorCode())
	require.NotContains(t, err.Error(), "wrong-secret")

	// A vault failure is the facade's error, under the service client's wrapping.
	gone := alteraws.NewConfig(app, facade.RequestParams{Provider: "aws", Label: "nope"}, "")
	_, err = s3Client(gone, up).ListBuckets(ctx, &s3.ListBucketsInput{})
	require.ErrorIs(t, err, facade.ErrGrantNotFound)
}
