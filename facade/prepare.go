package facade

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// fieldNames are the field names errors report for one params type, built once rather than on
// every call.
type fieldNames struct {
	GrantID, Provider, Account, Header, Reason, Context, JSON, UserToken string
}

func namesOf(params string) *fieldNames {
	return &fieldNames{GrantID: params + ".GrantID", Provider: params + ".Provider", Account: params + ".Account",
		Header: params + ".Header", Reason: params + ".Reason", Context: params + ".Context", JSON: params + ".JSON",
		UserToken: params + ".UserToken"}
}

var (
	requestFields = namesOf("RequestParams")
	proxyFields   = namesOf("ProxyParams")
)

// callInput is what Request and ProxyRequest have in common.
type callInput struct {
	fields     *fieldNames // requestFields or proxyFields
	method     string
	url        string
	grantID    uuid.UUID
	provider   string
	account    string
	userToken  string
	pathParams map[string]string
	query      url.Values
	header     http.Header
	json       any
	body       []byte
	reason     string
	context    map[string]string
}

// preparedCall is a validated callInput, ready for the wire.
type preparedCall struct {
	method    string
	url       *url.URL
	grantID   *uuid.UUID
	provider  *string
	account   *string
	userToken string
	header    http.Header
	body      []byte // exact bytes of the upstream body (JSON already marshalled)
	isJSON    bool
	reason    *string
	context   *gen.StringMap
}

// prepare applies every local rule, cheapest first, so that a refused call never reaches the
// network; the user-token getter is called last.
func (c *client) prepare(ctx context.Context, in callInput) (*preparedCall, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	f := in.fields
	m, err := normalizeMethod(in.method)
	if err != nil {
		return nil, err
	}
	u, err := expandURL(in.url, in.pathParams, in.query)
	if err != nil {
		return nil, err
	}
	pc := &preparedCall{method: m, url: u, header: in.header.Clone()}
	switch {
	case in.grantID != uuid.Nil && in.provider != "":
		return nil, inputErr(f.GrantID, "set GrantID or Provider, not both", ErrGrantAndProvider)
	case in.grantID == uuid.Nil && in.provider == "":
		return nil, inputErr(f.GrantID, "set GrantID, or Provider (with an end-user token)", ErrNoGrantSelector)
	case in.account != "" && in.provider == "":
		return nil, inputErr(f.Account, "Account picks one of the user's accounts and needs Provider", ErrAccountWithoutProvider)
	}
	if in.grantID != uuid.Nil {
		id := in.grantID
		pc.grantID = &id
	}
	if in.provider != "" {
		pc.provider = &in.provider
		if len(in.provider) > 128 {
			return nil, inputErr(f.Provider, "longer than 128 bytes", nil)
		}
	}
	if in.account != "" {
		pc.account = &in.account
	}
	if err := checkHeaders(f.Header, in.header); err != nil {
		return nil, err
	}
	if err := checkHeaderValue(f.Reason, in.reason, 1024); err != nil {
		return nil, err
	}
	if in.reason != "" {
		pc.reason = &in.reason
	}
	if err := checkContext(f.Context, in.context); err != nil {
		return nil, err
	}
	if len(in.context) > 0 {
		m := gen.StringMap(in.context)
		pc.context = &m
	}
	if err := TraceFrom(ctx).validate(); err != nil {
		return nil, err
	}
	switch {
	case in.json != nil && in.body != nil:
		return nil, inputErr(f.JSON, "set JSON or Body, not both", nil)
	case in.json != nil:
		b, err := json.Marshal(in.json)
		if err != nil {
			return nil, inputErr(f.JSON, "cannot be marshalled: "+err.Error(), nil)
		}
		pc.body, pc.isJSON = b, true
	case in.body != nil:
		pc.body = in.body
	}
	tok, err := c.userToken(ctx, in.userToken, f.UserToken, in.provider != "")
	if err != nil {
		return nil, err
	}
	pc.userToken = tok
	return pc, nil
}

func (pc *preparedCall) userTokenParam() *string {
	if pc.userToken == "" {
		return nil
	}
	return &pc.userToken
}
