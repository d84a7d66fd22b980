// Command aws-s3 runs an unmodified aws-sdk-go-v2 S3 client on a vault grant holding AWS
// credentials: alteraws.NewConfig gives it an aws.Config whose HTTP client sends every call
// through the SDK, which fetches the credential for that call, signs it with SigV4 and has the
// vault write the audit row. The program never holds the AWS keys. The demo's SigV4 upstream
// stands in for S3 and checks every signature.
//
//	go run ./aws-s3        # in examples/bridges; nothing set: starts an in-memory vault
//	make demo              # against cmd/altervault-dev
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/altersdk/alter-go/alteraws"
	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "aws-s3:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarAWSGrantID, demoenv.VarAWSUpstreamURL)
	defer cleanup()
	if err != nil {
		return err
	}
	app, err := facade.NewApp(os.Getenv(demoenv.VarAppKey), facade.WithCaller("aws-s3"))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()
	runID := demoenv.RunID("aws-s3")
	ctx = facade.WithTrace(ctx, facade.Trace{RunID: runID})

	cfg := alteraws.NewConfig(app, facade.RequestParams{GrantID: env.AWSGrantID, Reason: "aws-s3 demo"}, "us-east-1")
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(env.AWSUpstreamURL) // only for the stand-in: real S3 needs no endpoint
		o.UsePathStyle = true
	})
	fmt.Printf("caller: App %q (run %s), an S3 client on AWS grant %s\n", "aws-s3", runID, demoenv.Short(env.AWSGrantID))
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		fmt.Println("        its aws.Config holds no AWS credential (aws.AnonymousCredentials): the SDK signs each call")
	}

	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("backups"), Key: aws.String("2026/db.dump"),
		Body: strings.NewReader("database dump"), Metadata: map[string]string{"owner": "ops"}}); err != nil {
		return err
	}
	fmt.Println("PutObject backups/2026/db.dump -> ok (the stand-in verified the SigV4 signature)")
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("backups"), Key: aws.String("2026/db.dump")})
	if err != nil {
		return err
	}
	b, err := io.ReadAll(out.Body)
	_ = out.Body.Close()
	if err != nil {
		return err
	}
	seen, err := demoenv.DecodeEcho(b) // the stand-in answers with what it received
	if err != nil {
		return err
	}
	auth := seen.Headers["Authorization"]
	scope := auth[strings.Index(auth, "/")+1 : strings.Index(auth, ",")]
	fmt.Printf("GetObject backups/2026/db.dump -> ok, %s %s signed for %s\n", seen.Method, seen.Path, scope)

	if err := app.Close(); err != nil { // drains the audit posts
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}
