package facade

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The SigV4 vectors of transport.md §7.4 (alter-sdk 0.29.0's signer at a fixed time).
var (
	sigV4Time   = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	sigV4Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

func sigV4Cred(extra map[string]string) *credential {
	return &credential{accessToken: "AKIDEXAMPLE", injectionHeader: "Authorization", injectionFormat: "AWS4-HMAC-SHA256 {token}", extra: extra}
}

func signVector(t *testing.T, method, rawURL string, h http.Header, body []byte, extra map[string]string) (*http.Request, placement) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	require.NoError(t, err)
	if h != nil {
		req.Header = h
	}
	pl, err := signV4(req, sigV4Cred(extra), rawURL, nil, body, sigV4Time)
	require.NoError(t, err)
	return req, pl
}

func TestSigV4VectorE1(t *testing.T) {
	req, pl := signVector(t, "GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}, nil,
		map[string]string{"secret_key": sigV4Secret})
	require.Equal(t, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "+
		"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=65f031d93b4631aedf16a8f7f830cdc8ce2bc5276c307b5a2cc2143d4b68e323",
		req.Header.Get("Authorization"))
	require.Equal(t, "20150830T123600Z", req.Header.Get("X-Amz-Date"))
	require.Equal(t, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", req.Header.Get("X-Amz-Content-Sha256"))
	require.Equal(t, "application/x-www-form-urlencoded; charset=utf-8", req.Header.Get("Content-Type"), "sent, not signed")
	require.Equal(t, "iam.amazonaws.com", req.Host)
	require.Contains(t, pl.secrets, sigV4Secret)
	require.Contains(t, pl.headers, "Authorization")
}

func TestSigV4VectorE2(t *testing.T) {
	req, pl := signVector(t, "POST", "https://bedrock-runtime.us-west-2.amazonaws.com/model/anthropic.claude-v2%3A1/invoke",
		nil, []byte(`{"a": 1}`), map[string]string{"secret_key": sigV4Secret, "session_token": "FQoGZXIvYXdzEXAMPLE",
			"region": "eu-west-1", "service": "ignored"})
	require.Equal(t, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-west-2/bedrock/aws4_request, "+
		"SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=533f7d5b7f6a45e028b32dcf3b189b104d91b829e10f0679008a8b4075154f8c",
		req.Header.Get("Authorization"))
	require.Equal(t, "f9d86028c6e0d64e225186f96acb69338b2c59764df79162107f5c4bb34d1310", req.Header.Get("X-Amz-Content-Sha256"))
	require.Equal(t, "FQoGZXIvYXdzEXAMPLE", req.Header.Get("X-Amz-Security-Token"))
	require.Equal(t, "/model/anthropic.claude-v2%3A1/invoke", req.URL.EscapedPath(), "sent as given; signed double-escaped")
	require.Contains(t, pl.secrets, "FQoGZXIvYXdzEXAMPLE")
}

// The canonical query of transport.md §7.4: b=2&a=x+y&c=%7E&d is a=x%2By&b=2&c=~&d= (a "+" is a
// plus, not a space), so both sign alike, and a space signs differently.
func TestSigV4CanonicalQuery(t *testing.T) {
	extra := map[string]string{"secret_key": sigV4Secret, "region": "us-east-1", "service": "execute-api"}
	sig := func(q string) string {
		req, _ := signVector(t, "GET", "https://api.example.com/p?"+q, nil, nil, extra)
		return req.Header.Get("Authorization")
	}
	require.Equal(t, sig("a=x%2By&b=2&c=~&d="), sig("b=2&a=x+y&c=%7E&d"))
	require.NotEqual(t, sig("a=x%20y&b=2&c=~&d="), sig("b=2&a=x+y&c=%7E&d"))
}

// The call's Query joins the URL's own query for SigV4 (it replaces it elsewhere); the port is
// kept in Host unless it is 80 or 443; an x-amz-* header of the call is signed too.
func TestSigV4QueryHostAndHeaders(t *testing.T) {
	extra := map[string]string{"secret_key": sigV4Secret, "region": "eu-west-1", "service": "s3"}
	req, err := http.NewRequest("PUT", "https://minio.local:9000/bucket/a%20b?keep=1&q=2", nil)
	require.NoError(t, err)
	req.Header.Set("X-Amz-Meta-Color", "blue")
	_, err = signV4(req, sigV4Cred(extra), "https://minio.local:9000/bucket/a%20b?keep=1", url.Values{"q": {"2"}}, nil, sigV4Time)
	require.NoError(t, err)
	require.Equal(t, "keep=1&q=2", req.URL.RawQuery)
	require.Equal(t, "minio.local:9000", req.Host)
	require.Contains(t, req.Header.Get("Authorization"), "/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-color,")

	req, _ = signVector(t, "GET", "https://s3.eu-west-1.amazonaws.com:443/b", nil, nil, extra)
	require.Equal(t, "s3.eu-west-1.amazonaws.com", req.Host)
}

func TestSigV4Refusals(t *testing.T) {
	for name, extra := range map[string]map[string]string{
		"no secret_key": {"session_token": "tok-secret"},
		"no region":     {"secret_key": "very-secret", "service": "execute-api"},
		"no service":    {"secret_key": "very-secret", "region": "eu-west-1"},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest("GET", "https://api.example.com/x", nil)
			require.NoError(t, err)
			_, err = signV4(req, sigV4Cred(extra), "https://api.example.com/x", nil, nil, sigV4Time)
			require.ErrorIs(t, err, ErrBackend)
			noSecrets(t, fmt.Sprintf("%v %+v %#v", err, err, err), "very-secret", "tok-secret", "AKIDEXAMPLE")
			require.Empty(t, req.Header.Get("Authorization"))
		})
	}
}

func TestDetectAWS(t *testing.T) {
	for host, want := range map[string][2]string{
		"s3.us-east-1.amazonaws.com":                                              {"s3", "us-east-1"},
		"lambda.eu-west-1.amazonaws.com":                                          {"lambda", "eu-west-1"},
		"kms-fips.us-west-2.amazonaws.com":                                        {"kms", "us-west-2"},
		"s3.dualstack.us-east-1.amazonaws.com":                                    {"s3", "us-east-1"},
		"s3-fips.dualstack.us-east-2.amazonaws.com":                               {"s3", "us-east-2"},
		"s3.cn-north-1.amazonaws.com.cn":                                          {"s3", "cn-north-1"},
		"iam.cn-north-1.amazonaws.com.cn":                                         {"iam", "cn-north-1"},
		"ec2.us-west-2.api.aws":                                                   {"ec2", "us-west-2"},
		"lambda-fips.us-east-1.api.aws":                                           {"lambda", "us-east-1"},
		"bucket.s3.us-east-1.amazonaws.com":                                       {"s3", "us-east-1"},
		"bucket.s3-fips.us-east-2.amazonaws.com":                                  {"s3", "us-east-2"},
		"bucket.s3.dualstack.us-west-2.amazonaws.com":                             {"s3", "us-west-2"},
		"bucket.s3.cn-north-1.amazonaws.com.cn":                                   {"s3", "cn-north-1"},
		"s3-us-west-2.amazonaws.com":                                              {"s3", "us-west-2"},
		"bucket.s3-eu-west-1.amazonaws.com":                                       {"s3", "eu-west-1"},
		"s3.amazonaws.com":                                                        {"s3", "us-east-1"},
		"s3-external-1.amazonaws.com":                                             {"s3", "us-east-1"},
		"bucket.s3.amazonaws.com":                                                 {"s3", "us-east-1"},
		"vpce-099deb00b40f00e22-lj2wisx3.monitoring.us-east-2.vpce.amazonaws.com": {"monitoring", "us-east-2"},
		"iam.amazonaws.com":                                                       {"iam", "us-east-1"},
		"STS.amazonaws.com":                                                       {"sts", "us-east-1"},
		"global.health.amazonaws.com":                                             {"health", "us-east-1"},
		"iam.us-gov.amazonaws.com":                                                {"iam", "us-gov-west-1"},
		"route53.amazonaws.com.cn":                                                {"route53", "cn-northwest-1"},
		"importexport.amazonaws.com":                                              {"IngestionService", "us-east-1"},
		"bedrock-runtime.us-east-1.amazonaws.com":                                 {"bedrock", "us-east-1"},
		"email.us-east-1.amazonaws.com":                                           {"ses", "us-east-1"},
		"streams.dynamodb.us-east-1.amazonaws.com":                                {"dynamodb", "us-east-1"},
		"api.sagemaker.eu-west-1.amazonaws.com":                                   {"sagemaker", "eu-west-1"},
		"data.iot.us-east-1.amazonaws.com":                                        {"iotdata", "us-east-1"},
		"unknown.dotted.us-east-1.amazonaws.com":                                  {"", ""},
		"example.amazonaws.com":                                                   {"", ""},
		"iam.amazonaws.com.cn":                                                    {"", ""}, // IAM is regional in China
		"sts.us-gov.amazonaws.com":                                                {"", ""},
		"s3.us-east-1.amazonaws.com.evil.example":                                 {"", ""},
		"127.0.0.1": {"", ""},
	} {
		svc, region := detectAWS(host)
		require.Equal(t, want, [2]string{svc, region}, host)
	}
}
