package facade_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/altersdk/alter-go/facade"
)

// A grant on AWS credentials: the vault hands out the access key id with the secret key as an
// additional credential, and Request signs the call with SigV4 (the region and service come from
// an AWS endpoint's host, else from the credential, as for the demo's local stand-in for S3,
// which checks the signature). For a whole AWS service client, see the alteraws module.
func ExampleApp_Request_awsSigV4() {
	demo := startDemo()
	defer demo.Close()

	resp, err := demo.App.Request(context.Background(), http.MethodPut, demo.AWSUpstreamURL+"/backups/{key}",
		facade.RequestParams{GrantID: demo.AWSGrantID, PathParams: map[string]string{"key": "db.dump"}, Body: []byte("…"), Reason: "backup"})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sent := readEcho(resp.Body).Headers["Authorization"]
	fmt.Println(resp.StatusCode, strings.HasPrefix(sent, "AWS4-HMAC-SHA256 Credential=AKIA"), strings.Contains(sent, "/us-east-1/s3/aws4_request"))
	// Output: 200 true true
}
