package facade

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/smithy-go/aws-http-auth/credentials"
	"github.com/aws/smithy-go/aws-http-auth/sigv4"
	v4 "github.com/aws/smithy-go/aws-http-auth/v4"
)

// isSigV4 reports a credential to sign with AWS SigV4 rather than place in a header: an
// AWS4-HMAC-SHA256 format with additional credentials (without them the format is sent as is).
func (c *credential) isSigV4() bool {
	return strings.HasPrefix(c.injectionFormat, sigV4Prefix) && c.extra != nil
}

// awsSigner is smithy-go's SigV4 signer; its default rules sign host and every x-amz-* header.
// It keeps the canonical path double-escaped for every service but S3 (signS3 below).
var (
	awsSigner = sigv4.New(func(o *v4.SignerOptions) { o.AddPayloadHashHeader = true })
	s3Signer  = sigv4.New(func(o *v4.SignerOptions) { o.AddPayloadHashHeader = true; o.DisableDoublePathEscape = true })
)

// signV4 signs the provider request with the AWS credential (transport.md §7.4): the access key
// id is the access token; secret_key, session_token, region and service come from the
// additional credentials, the region and service the host names winning over theirs. The call's
// query joins the URL's own query rather than replacing it, and the signed headers are host,
// x-amz-date, x-amz-content-sha256, x-amz-security-token and any x-amz-* header of the call.
func signV4(req *http.Request, cred *credential, resolved string, query url.Values, body []byte, now time.Time) (placement, error) {
	var pl placement
	secret := cred.extra["secret_key"]
	if secret == "" {
		return pl, badToken("the AWS SigV4 credential has no secret_key in additional_credentials")
	}
	service, region := detectAWS(req.URL.Hostname())
	if service == "" {
		service = cred.extra["service"]
	}
	if region == "" {
		region = cred.extra["region"]
	}
	if service == "" || region == "" {
		return pl, badToken("cannot tell the AWS region and service: the host is not an AWS endpoint and the credential names none")
	}
	if u, err := url.Parse(resolved); err == nil && len(query) > 0 {
		req.URL.RawQuery = u.RawQuery
		if req.URL.RawQuery != "" {
			req.URL.RawQuery += "&"
		}
		req.URL.RawQuery += query.Encode()
	}
	req.Host = signedHost(req)
	req.Header.Del("Host")

	// Sign a copy that holds only what is signed; its query keeps a literal "+" a plus (the
	// signer's parser would read a space), as AWS and alter-sdk read it.
	su := *req.URL
	su.RawQuery = strings.ReplaceAll(su.RawQuery, "+", "%2B")
	signed := &http.Request{Method: req.Method, URL: &su, Host: req.Host, Header: http.Header{}}
	for k, vs := range req.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			signed.Header[k] = vs
		}
	}
	sum := sha256.Sum256(body)
	signer := awsSigner
	if service == "s3" {
		signer = s3Signer // S3 signs the path as sent
	}
	creds := credentials.Credentials{AccessKeyID: cred.accessToken, SecretAccessKey: secret, SessionToken: cred.extra["session_token"]}
	if err := signer.SignRequest(&sigv4.SignRequestInput{Request: signed, PayloadHash: sum[:], Credentials: creds,
		Service: service, Region: region, Time: now}); err != nil {
		return pl, badToken("the AWS SigV4 credential cannot sign the request")
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token"} {
		if v := signed.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	pl.headers = []string{"Authorization", "X-Amz-Security-Token"}
	pl.secrets = []string{secret, cred.accessToken, req.Header.Get("Authorization")}
	if creds.SessionToken != "" {
		pl.secrets = append(pl.secrets, creds.SessionToken)
	}
	return pl, nil
}

// signedHost is the Host signed and sent: the call's Host header, else the URL's host with its
// port unless that is 80 or 443.
func signedHost(req *http.Request) string {
	if h := req.Header.Get("Host"); h != "" {
		return h
	}
	if p := req.URL.Port(); p != "" && p != "80" && p != "443" {
		return req.URL.Host
	}
	if h := req.URL.Hostname(); strings.Contains(h, ":") {
		return "[" + h + "]" // an IPv6 literal keeps its brackets
	}
	return req.URL.Hostname()
}
