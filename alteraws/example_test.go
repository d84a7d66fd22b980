package alteraws_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/altersdk/alter-go/alteraws"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// An S3 client on an AWS grant. Against real AWS, leave BaseEndpoint unset: the facade signs
// for the region and service the endpoint's host names. Here vaulttest stands in for the vault
// and for S3 (its upstream verifies each SigV4 signature).
func ExampleNewConfig() {
	ctx := context.Background()
	vault := vaulttest.NewServer()
	defer vault.Close()
	s3up := vaulttest.NewSigV4Upstream("AKIDEXAMPLE", "example-secret")
	defer s3up.Close()
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "aws", Credential: "AKIDEXAMPLE",
		Injection: vaulttest.SigV4Injection("example-secret", "us-east-1", "s3", "")})

	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	cfg := alteraws.NewConfig(app, facade.RequestParams{GrantID: grant, Reason: "nightly backup"}, "us-east-1")
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s3up.URL()) // only for the stand-in
		o.UsePathStyle = true
	})

	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("backups"), Key: aws.String("db.dump"),
		Body: strings.NewReader("…")})
	fmt.Println("PutObject:", err)
	_ = app.Close() // waits for the audit record
	row := vault.AuditRows()[0]
	fmt.Println("audit:", row.Method, row.ResponseStatus, row.Reason)
	// Output:
	// PutObject: <nil>
	// audit: PUT 200 nightly backup
}
