package facade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/altersdk/alter-go/gen"
)

// AuthenticateParams are the inputs of Authenticate; the zero value is valid (see ConnectParams
// for the meaning and defaults of each field).
type AuthenticateParams struct {
	Timeout      time.Duration                               // default DefaultConnectTimeout
	PollInterval time.Duration                               // default DefaultPollInterval
	NoBrowser    bool                                        // print the URL instead of opening a browser
	OpenURL      func(ctx context.Context, url string) error // default: the system browser
	Out          io.Writer                                   // default os.Stderr
}

// AuthSession is a started end-user sign-in: send the person to URL, then
// PollAuthSession(Token).
type AuthSession struct {
	Token     string        // the session token; a persistable handle (a pending session can be resumed)
	URL       string        // the identity provider's sign-in page
	ExpiresIn time.Duration // the session's lifetime when it was made
	ExpiresAt time.Time
}

// AuthResult is a signed-in end user. UserToken is a Secret: printing an AuthResult (any verb,
// %+v and %#v included) or logging it never shows the token; use UserToken.Reveal().
type AuthResult struct {
	UserToken Secret   // the end user's JWT
	UserInfo  UserInfo // their profile
}

// String implements fmt.Stringer without the token.
func (r AuthResult) String() string {
	return fmt.Sprintf("{UserToken:%s UserInfo:%+v}", redacted, r.UserInfo)
}

// GoString implements fmt.GoStringer without the token.
func (r AuthResult) GoString() string {
	return fmt.Sprintf("facade.AuthResult{UserToken:%q, UserInfo:%#v}", redacted, r.UserInfo)
}

// TokenGetter returns a UserTokenGetter that always yields this user's token, for
// WithUserTokenGetter.
func (r AuthResult) TokenGetter() UserTokenGetter {
	tok := r.UserToken
	return func(context.Context) (string, error) { return tok.Reveal(), nil }
}

// UserInfo is the profile of a signed-in end user, as the identity provider gave it.
type UserInfo struct {
	Sub   string         // stable user id
	Email string         // email address, when known
	Name  string         // display name, when known
	Raw   map[string]any // every field the vault returned
}

// authPollPermanent are the poll statuses that end a sign-in wait; others are waited out.
func authPollPermanent(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// Long-poll of the auth session: the vault holds a poll up to this long.
const maxAuthWait = 25 * time.Second

// CreateAuthSession starts an end-user sign-in with the app's identity provider (App only) and
// returns its URL, for the person to open wherever they are (a chat, an MCP client, a printed
// link). Nothing is opened and the App is not changed.
func (a *App) CreateAuthSession(ctx context.Context) (AuthSession, error) {
	d := &call{op: "createAuthSession", surface: surfaceShared, actor: true}
	ans, err := a.post(ctx, d, emptyObject, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.CreateAuthSessionWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return AuthSession{}, err
	}
	var sess gen.AuthSession
	if ans.status != http.StatusCreated {
		return AuthSession{}, unexpectedStatus(d.op, ans.status, ans.header)
	}
	if json.Unmarshal(ans.body, &sess) != nil || sess.SessionToken == "" || sess.AuthURL == "" || sess.ExpiresAt == "" {
		return AuthSession{}, malformed(d.op, ans.status, ans.header)
	}
	return AuthSession{Token: sess.SessionToken, URL: sess.AuthURL, ExpiresIn: fromSeconds(sess.ExpiresIn),
		ExpiresAt: parseTime(&sess.ExpiresAt)}, nil
}

// PollAuthSession waits for a sign-in made with CreateAuthSession to finish and returns the
// user's token and profile (App only). It long-polls (each poll held up to 25 s at the vault,
// never past the Timeout) and waits out vault hiccups (5xx, 429, network) until the Timeout; a
// rejected sign-in or an expired session is a connect error (ErrConnectFlow). The Timeout, or
// ctx's deadline, matches ErrConnectTimeout, ErrTimeout and context.DeadlineExceeded. The App
// is not changed: see ForUser.
func (a *App) PollAuthSession(ctx context.Context, token string, p PollParams) (AuthResult, error) {
	if strings.TrimSpace(token) == "" {
		return AuthResult{}, inputErr("token", "required", nil)
	}
	if err := p.check(); err != nil {
		return AuthResult{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	deadline, _ := pctx.Deadline()
	end := func() error {
		if errors.Is(ctx.Err(), context.Canceled) {
			return ctx.Err()
		}
		return connectTimeout("authenticate", "poll_deadline_elapsed", p.Timeout, 0)
	}
	for {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return AuthResult{}, end()
		}
		res, done, err := a.authState(pctx, token, min(maxAuthWait, remaining))
		switch {
		case err != nil && pctx.Err() != nil:
			return AuthResult{}, end()
		case err != nil && vaultStatus(err) != 0 && authPollPermanent(vaultStatus(err)):
			return AuthResult{}, err
		case err != nil && vaultStatus(err) == 0 && !errors.Is(err, ErrNetwork) && !errors.Is(err, ErrTimeout):
			return AuthResult{}, err
		case err == nil && done:
			return res, nil
		}
		if sleep(pctx, min(p.PollInterval, time.Until(deadline))) != nil {
			return AuthResult{}, end()
		}
	}
}

// Authenticate signs an end user in with the app's identity provider in a browser and returns
// their token and profile (App only): CreateAuthSession, the page opened (or the URL
// printed), then PollAuthSession. The App is not changed (it is immutable): use the returned
// token with ForUser, WithUserTokenGetter(res.TokenGetter()), or per call.
func (a *App) Authenticate(ctx context.Context, p AuthenticateParams) (AuthResult, error) {
	pp := PollParams{Timeout: p.Timeout, PollInterval: p.PollInterval}
	if err := pp.check(); err != nil {
		return AuthResult{}, err
	}
	sess, err := a.CreateAuthSession(ctx)
	if err != nil {
		return AuthResult{}, err
	}
	a.show(ctx, opener{p.NoBrowser, p.OpenURL, p.Out}, "authenticate", sess.URL)
	return a.PollAuthSession(ctx, sess.Token, pp)
}

// ForUser returns an App that acts for the end user whose token this is (for example the
// UserToken of Authenticate): its calls send that token where they would call the
// WithUserTokenGetter getter. It shares this App's key, identity, constraints and connections;
// closing it does not close this App, closing this App closes it.
func (a *App) ForUser(token Secret) (*App, error) {
	if strings.TrimSpace(token.Reveal()) == "" {
		return nil, inputErr("token", "required", nil)
	}
	if err := a.checkOpen(); err != nil {
		return nil, err
	}
	c, err := a.derive(false, a.caller, a.callerType, AuthResult{UserToken: token}.TokenGetter())
	if err != nil {
		return nil, err
	}
	return &App{c}, nil
}

// authState is one POST /sdk/auth/poll, long-polling up to wait.
func (a *App) authState(ctx context.Context, token string, wait time.Duration) (AuthResult, bool, error) {
	req := gen.AuthPollRequest{SessionToken: token}
	d := &call{op: "pollAuthSession", surface: surfaceShared, actor: true, field: "token"}
	if ms := int(wait / time.Millisecond); ms > 0 {
		req.WaitMs = &ms
		d.timeout = wait + longPollSlack
	}
	ans, err := a.post(ctx, d, req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.PollAuthSessionWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return AuthResult{}, false, err
	}
	if ans.status != http.StatusOK {
		return AuthResult{}, false, unexpectedStatus(d.op, ans.status, ans.header)
	}
	var st gen.AuthPollResponse
	if json.Unmarshal(ans.body, &st) != nil || st.Status == "" {
		return AuthResult{}, false, malformed(d.op, ans.status, ans.header)
	}
	switch st.Status {
	case gen.AuthPollStatusPending:
		return AuthResult{}, false, nil
	case gen.AuthPollStatusCompleted:
		if derefStr(st.UserToken) == "" {
			return AuthResult{}, true, malformed(d.op, ans.status, ans.header)
		}
		ui := UserInfo{Raw: st.UserInfo}
		ui.Sub, _ = st.UserInfo["sub"].(string)
		ui.Email, _ = st.UserInfo["email"].(string)
		ui.Name, _ = st.UserInfo["name"].(string)
		return AuthResult{UserToken: Secret(*st.UserToken), UserInfo: ui}, true, nil
	case gen.AuthPollStatusError:
		msg := strings.TrimSpace(derefStr(st.ErrorMessage))
		if msg == "" {
			msg = "unknown error"
		}
		code := ""
		if st.ErrorCode != nil {
			code = string(*st.ErrorCode)
		}
		return AuthResult{}, true, authFailure(code, msg, derefInt(st.RetryAfterSeconds))
	case gen.AuthPollStatusExpired:
		return AuthResult{}, true, connectFlow("authenticate", "the sign-in session expired", "")
	}
	return AuthResult{}, true, connectFlow("authenticate", "unexpected auth poll status", string(st.Status))
}

// VerifyUserToken checks an end-user JWT with the vault (App only). It returns the verified
// subject and true for a valid token, and "", false for any other token: an invalid token is an
// answer, not an error. An error means the check could not be made (closed client, network).
func (a *App) VerifyUserToken(ctx context.Context, token string) (sub string, valid bool, err error) {
	if strings.TrimSpace(token) == "" {
		return "", false, nil
	}
	d := &call{op: "verifyUserToken", surface: surfaceShared, actor: true, field: "token"}
	ans, err := a.post(ctx, d, gen.VerifyTokenRequest{Token: token}, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.VerifyUserTokenWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		if vaultStatus(err) != 0 {
			if vaultStatus(err) != http.StatusUnauthorized {
				a.log.WarnContext(ctx, "alter: verify-token answered an error; treating the token as invalid", "status", vaultStatus(err))
			}
			return "", false, nil
		}
		return "", false, err
	}
	var out gen.VerifyTokenResponse
	if ans.status != http.StatusOK || json.Unmarshal(ans.body, &out) != nil || strings.TrimSpace(out.Sub) == "" {
		a.log.WarnContext(ctx, "alter: verify-token answer not understood; treating the token as invalid", "status", ans.status)
		return "", false, nil
	}
	return out.Sub, true, nil
}
