// Package alteraws hands aws-sdk-go-v2 an aws.Config whose HTTP client sends every AWS call
// through an Alter grant holding AWS credentials, so s3.NewFromConfig(cfg) and every other
// service client work unchanged while the access key never reaches the program.
//
// The service client builds and serializes each request as usual but does not sign it (its
// credentials are aws.AnonymousCredentials; there is no vault-backed CredentialsProvider, which
// would put the secret key in the program). The request then goes through facade's Request
// (package grantclient): the vault hands out the credential for that request, the facade signs
// it with SigV4 and sends it, and the vault records the audit row. AWS's error answers come
// back to the service client as AWS sent them, so its typed errors work.
//
// It is a module of its own (github.com/altersdk/alter-go/alteraws) so that a program importing
// only facade compiles none of aws-sdk-go-v2.
package alteraws

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/grantclient"
)

// DefaultRegion is the client region when none is given, as alter-sdk's boto3 bridge has it.
// The signing region is the one the endpoint's host names (or the credential's for a custom
// endpoint), whatever the client region.
const DefaultRegion = "us-east-1"

// dropped are the headers the service client sets that the facade's signature replaces
// (alter_sdk/_boto3_bridge.py:51-61).
var dropped = []string{"amz-sdk-invocation-id", "amz-sdk-request", "authorization", "user-agent",
	"x-amz-date", "x-amz-content-sha256", "x-amz-security-token"}

// NewConfig returns the aws.Config of service clients that call AWS with the grant p selects
// (GrantID, or Provider with Account/Label/AppUserID), through c (an *facade.App or
// *facade.Agent). region is the client region ("" for DefaultRegion).
//
// The config retries nothing (each try would be a credential fetch and an audit row of its own:
// the vault's policy decides per call) and computes checksums only where the operation requires
// one, so request bodies are sent as built rather than in aws-chunked framing.
func NewConfig(c grantclient.Requester, p facade.RequestParams, region string) aws.Config {
	if region == "" {
		region = DefaultRegion
	}
	return aws.Config{
		Region:                     region,
		Credentials:                aws.AnonymousCredentials{},
		HTTPClient:                 HTTPClient(c, p),
		Retryer:                    func() aws.Retryer { return aws.NopRetryer{} },
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
}

// HTTPClient is the HTTP client of NewConfig, for a config built another way (for example
// config.LoadDefaultConfig(ctx, config.WithHTTPClient(alteraws.HTTPClient(app, p)),
// config.WithCredentialsProvider(aws.AnonymousCredentials{}))).
func HTTPClient(c grantclient.Requester, p facade.RequestParams) *http.Client {
	return &http.Client{Transport: &grantclient.Transport{Client: c, Params: p, Drop: dropped}, CheckRedirect: grantclient.NoRedirect}
}
