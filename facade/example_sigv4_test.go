package facade_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// A grant on AWS credentials: the vault hands out the access key id with the secret key as an
// additional credential, and Request signs the call with SigV4 (the region and service come from
// an AWS endpoint's host, else from the credential, as here for the local stand-in, which checks
// the signature). For a whole AWS service client, see the alteraws module.
func ExampleApp_Request_awsSigV4() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	s3 := vaulttest.NewSigV4Upstream("AKIDEXAMPLE", "example-secret")
	defer s3.Close()
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "aws", Credential: "AKIDEXAMPLE",
		Injection: vaulttest.SigV4Injection("example-secret", "eu-west-1", "s3", "")})
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	resp, err := app.Request(context.Background(), http.MethodPut, s3.URL()+"/backups/{key}", facade.RequestParams{
		GrantID: grant, PathParams: map[string]string{"key": "db.dump"}, Body: []byte("…"), Reason: "backup"})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sent := readEcho(resp.Body).Headers["Authorization"]
	fmt.Println(resp.StatusCode, sent[:strings.Index(sent, "/")], "…", strings.Contains(sent, "/eu-west-1/s3/aws4_request"))
	// Output: 200 AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE … true
}
