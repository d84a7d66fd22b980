package vaulttest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go/aws-http-auth/credentials"
	"github.com/aws/smithy-go/aws-http-auth/sigv4"
	v4 "github.com/aws/smithy-go/aws-http-auth/v4"
)

// NewSigV4Upstream is an echo upstream (see NewEchoUpstream) standing in for an AWS service: it
// answers only requests signed with AWS SigV4 by accessKeyID with secretKey, and any other 403
// with AWS's XML error (SignatureDoesNotMatch, AccessDenied…). It checks the signature as AWS
// does, from what it received: the credential scope, x-amz-date within 15 minutes, the body's
// SHA-256 against x-amz-content-sha256, host and every x-amz-* header signed (S3's rule), then
// the signature itself, by signing the received request again (smithy-go's signer, over exactly
// the headers the request says it signed; S3 without the second path escaping).
func NewSigV4Upstream(accessKeyID, secretKey string, opts ...EchoOption) *EchoUpstream {
	return startEcho(&EchoUpstream{verify: func(r *http.Request, body []byte) error {
		return verifySigV4(r, body, accessKeyID, secretKey, time.Now())
	}}, opts...)
}

// awsErr is an AWS error code and message.
type awsErr struct{ code, msg string }

func (e *awsErr) Error() string { return e.code + ": " + e.msg }

func denied(code, msg string) error { return &awsErr{code, msg} }

// sigV4Auth is a parsed Authorization header.
type sigV4Auth struct {
	keyID, date, region, service string
	signed                       []string
	signature                    string
}

func parseSigV4(h string) (sigV4Auth, bool) {
	var a sigV4Auth
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return a, false
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return a, false
			}
			a.keyID, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.signed = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	return a, a.keyID != "" && len(a.signed) > 0 && a.signature != ""
}

func verifySigV4(r *http.Request, body []byte, keyID, secret string, now time.Time) error {
	a, ok := parseSigV4(r.Header.Get("Authorization"))
	if !ok {
		return denied("AccessDenied", "the request is not signed with AWS SigV4")
	}
	if a.keyID != keyID {
		return denied("InvalidAccessKeyId", "the access key id is not known")
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != a.date {
		return denied("AccessDenied", "x-amz-date is missing or does not match the credential scope")
	}
	if d := now.Sub(at); d > 15*time.Minute || d < -15*time.Minute {
		return denied("RequestTimeTooSkewed", "x-amz-date is more than 15 minutes away")
	}
	sum := sha256.Sum256(body)
	if r.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]) {
		return denied("XAmzContentSHA256Mismatch", "x-amz-content-sha256 is not the SHA-256 of the body")
	}
	for _, must := range []string{"host", "x-amz-date", "x-amz-content-sha256"} {
		if !slices.Contains(a.signed, must) {
			return denied("AccessDenied", must+" is not signed")
		}
	}
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") && !slices.Contains(a.signed, lk) {
			return denied("AccessDenied", "There were headers present in the request which were not signed: "+lk)
		}
	}
	again := &http.Request{Method: r.Method, Host: r.Host, Header: http.Header{},
		URL: &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: strings.ReplaceAll(r.URL.RawQuery, "+", "%2B")}}
	for _, h := range a.signed {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	signer := sigv4.New(func(o *v4.SignerOptions) {
		o.HeaderRules = signedOnly(a.signed)
		o.DisableDoublePathEscape = a.service == "s3"
	})
	err = signer.SignRequest(&sigv4.SignRequestInput{Request: again, PayloadHash: sum[:], Service: a.service, Region: a.region,
		Time: at, Credentials: credentials.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}})
	if err != nil || !hmac.Equal([]byte(again.Header.Get("Authorization")), []byte(r.Header.Get("Authorization"))) {
		return denied("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	}
	return nil
}

// signedOnly signs exactly the headers a request declared.
type signedOnly []string

func (s signedOnly) IsSigned(h string) bool { return slices.Contains(s, h) }

// awsError answers as AWS does: 403 and an XML <Error>.
func awsError(w http.ResponseWriter, err error) {
	var e *awsErr
	if !errors.As(err, &e) {
		e = &awsErr{"AccessDenied", err.Error()}
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>" + e.code + "</Code><Message>" +
		html.EscapeString(e.msg) + "</Message></Error>"))
}

// SigV4Injection is an AWS credential's injection: the grant's Credential is the access key id,
// and the vault hands the secret key (and region, service, session token when not "") along as
// additional credentials, for the SDK to sign the request with SigV4.
func SigV4Injection(secretKey, region, service, sessionToken string) Injection {
	extra := map[string]string{"secret_key": secretKey}
	for k, v := range map[string]string{"region": region, "service": service, "session_token": sessionToken} {
		if v != "" {
			extra[k] = v
		}
	}
	return Injection{Header: "Authorization", Format: "AWS4-HMAC-SHA256 Credential={token}", AdditionalCredentials: extra}
}
