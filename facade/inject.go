package facade

import (
	"net/http"
	"net/url"
	"strings"
)

// sigV4Prefix starts the injection format of AWS credentials, which must be signed with SigV4
// rather than placed in a header.
const sigV4Prefix = "AWS4-HMAC-SHA256"

// placement records where a credential went, so the audit record and errors can leave it out.
type placement struct {
	headers []string // header names (as set) carrying a credential
	secrets []string // every value placed (kept out of error text)
}

// inject applies the vault's injection rules (an AWS credential is signed by signV4 instead) to the provider request: the formatted credential
// in the injection header, then each additional rule in order. Header rules overwrite; query
// rules join the call's query parameters, and then (as any query parameters do) replace the
// URL's own query string.
func inject(req *http.Request, cred *credential, query url.Values) (placement, error) {
	var pl placement
	value := strings.Replace(cred.injectionFormat, "{token}", cred.accessToken, 1)
	req.Header.Set(cred.injectionHeader, value)
	first := []string{cred.injectionHeader, cred.accessToken, value} // one array, each part clipped
	pl.headers, pl.secrets = first[0:1:1], first[1:3:3]
	var q url.Values
	for _, r := range cred.rules {
		v := cred.accessToken // the raw token, not the formatted header value
		if name, ok := strings.CutPrefix(r.valueSource, "additional_credentials."); ok {
			v = cred.extra[name]
		}
		if v == "" {
			continue // a missing value skips the rule
		}
		pl.secrets = append(pl.secrets, v)
		switch r.target {
		case "header":
			req.Header.Set(r.key, v)
			pl.headers = append(pl.headers, r.key)
		case "query_param":
			if q == nil {
				q = url.Values{}
				for k, vs := range query {
					q[k] = append([]string(nil), vs...)
				}
			}
			q.Set(r.key, v)
		}
	}
	if q != nil {
		req.URL.RawQuery = q.Encode()
	}
	return pl, nil
}
