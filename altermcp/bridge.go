package altermcp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/altersdk/alter-go/facade"
)

// bridgePollWait is how long one bridge poll holds at the vault (a long poll: the page learns
// of the sign-in at once) before answering pending.
const bridgePollWait = 2 * time.Second

// bridgeScript is the bridge page's script, static: the values it needs are in the JSON block
// it reads, so the Content-Security-Policy can allow exactly this script by its hash.
const bridgeScript = `(function () {
  var cfg = JSON.parse(document.getElementById('bridge-data').textContent);
  var el = function (id) { return document.getElementById(id); };
  var popup = null;
  try { popup = window.open(cfg.auth_url, 'alter_auth', 'width=500,height=700'); } catch (e) {}
  if (!popup || popup.closed) {
    el('fallback').style.display = 'block';
    el('manual-link').href = cfg.auth_url;
  }
  el('status').textContent = 'Waiting for the sign-in to complete...';
  var fail = function (msg) {
    if (popup && !popup.closed) popup.close();
    el('status').textContent = msg;
    el('status').className = 'error';
  };
  var poll = function () {
    fetch(cfg.poll_url + '?pending=' + encodeURIComponent(cfg.pending), {cache: 'no-store'})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.status === 'completed') {
          if (popup && !popup.closed) popup.close();
          el('status').textContent = 'Signed in. Redirecting...';
          window.location.href = d.redirect_to;
        } else if (d.status === 'error') {
          fail('Sign-in failed: ' + (d.error_message || 'unknown error'));
        } else if (d.status === 'expired') {
          fail('The sign-in expired. Please try again.');
        } else {
          setTimeout(poll, 2000);
        }
      })
      .catch(function () { setTimeout(poll, 2000); });
  };
  poll();
})();`

const bridgeStyle = `body{font-family:system-ui,sans-serif;display:flex;align-items:center;justify-content:center;min-height:100vh;margin:0}.error{color:#b00020}`

// bridgeCSP allows the page's own script and style only (by hash), fetches to its origin, and
// no framing.
var bridgeCSP = "default-src 'none'; script-src '" + cspHash(bridgeScript) + "'; style-src '" + cspHash(bridgeStyle) +
	"'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// bridgePage is the page's HTML: %DATA% is replaced by scriptJSON of its values.
const bridgePage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signing in</title><style>` + bridgeStyle + `</style></head>
<body><div>
<p id="status">Opening the sign-in window...</p>
<p id="fallback" style="display:none">Popup blocked? <a id="manual-link" href="#" target="_blank" rel="noopener">Sign in here</a></p>
</div>
<script id="bridge-data" type="application/json">%DATA%</script>
<script>` + bridgeScript + `</script>
</body></html>`

// scriptJSON encodes v for a <script> element (alter-sdk's _json_for_html_script):
// encoding/json escapes <, > and & as \u003c, \u003e, \u0026, and U+2028, U+2029 as
// \u2028, \u2029, so no value (a client's state or redirect URI) can end the element.
func scriptJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null" // only strings are passed
	}
	return string(b)
}

// pendingFor returns the live pending authorization of the request's ?pending=, dropping it
// if it expired, and sets the bridge's response headers.
func (as *AuthServer) pendingFor(w http.ResponseWriter, r *http.Request) (*pendingAuth, bool) {
	w.Header().Set("Cache-Control", "no-store")
	// The page's URL holds the pending id: not to the identity provider's page in a Referer.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	id := r.URL.Query().Get("pending")
	now := time.Now()
	as.mu.Lock()
	defer as.mu.Unlock()
	p, ok := as.pending[id]
	if !ok || id == "" {
		return nil, false
	}
	if p.expired(now) {
		as.dropPendingLocked(p)
		return nil, false
	}
	return p, true
}

// serveBridge is the bridge page (alter-sdk's _bridge_page_handler): it opens the vault's
// sign-in page in a popup (a link if blocked) and polls the bridge-poll endpoint until the
// sign-in ends, then goes where the poll says: the client's redirect URI with code and state.
func (as *AuthServer) serveBridge(w http.ResponseWriter, r *http.Request) {
	p, ok := as.pendingFor(w, r)
	if !ok {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body><h1>Invalid or expired sign-in</h1></body></html>"))
		return
	}
	data := scriptJSON(map[string]string{"auth_url": p.authURL, "pending": p.id, "poll_url": as.basePath + "/auth-bridge/poll"})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", bridgeCSP)
	w.Header().Set("X-Frame-Options", "DENY")
	_, _ = w.Write([]byte(strings.Replace(bridgePage, "%DATA%", data, 1)))
}

// bridgeStatus is the bridge poll's answer.
type bridgeStatus struct {
	Status       string `json:"status"` // pending, completed, error, expired
	RedirectTo   string `json:"redirect_to,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
}

// serveBridgePoll is the bridge page's poll (alter-sdk's _bridge_poll_handler): it long-polls
// the vault's sign-in (App.PollAuthSession, up to bridgePollWait) and, once the person signed
// in, keeps their vault token and issues the authorization code, answering where the page goes
// next. A failed or expired sign-in ends the authorization.
func (as *AuthServer) serveBridgePoll(w http.ResponseWriter, r *http.Request) {
	p, ok := as.pendingFor(w, r)
	if !ok {
		writeJSON(w, http.StatusBadRequest, bridgeStatus{Status: "error", ErrorMessage: "invalid or expired sign-in"})
		return
	}
	if to, done := as.completed(p); done {
		writeJSON(w, http.StatusOK, bridgeStatus{Status: "completed", RedirectTo: to})
		return
	}
	res, err := as.app.PollAuthSession(r.Context(), p.sessionToken, facade.PollParams{Timeout: bridgePollWait, PollInterval: bridgePollWait})
	var ce *facade.ConnectError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, bridgeStatus{Status: "completed", RedirectTo: as.complete(p, res)})
	case r.Context().Err() != nil:
		return // the page went away
	case errors.Is(err, facade.ErrConnectTimeout):
		// Not yet signed in (or the vault briefly unreachable, which PollAuthSession rode out).
		writeJSON(w, http.StatusOK, bridgeStatus{Status: "pending"})
	case errors.As(err, &ce):
		as.drop(p)
		writeJSON(w, http.StatusOK, bridgeStatus{Status: "error", ErrorMessage: ce.Message})
	default:
		as.log.WarnContext(r.Context(), "altermcp: the vault did not answer a sign-in poll", "err", err)
		as.drop(p)
		writeJSON(w, http.StatusOK, bridgeStatus{Status: "error", ErrorMessage: "the sign-in could not be checked"})
	}
}

func (as *AuthServer) drop(p *pendingAuth) {
	as.mu.Lock()
	as.dropPendingLocked(p)
	as.mu.Unlock()
}

// completed is the redirect of a sign-in that already completed.
func (as *AuthServer) completed(p *pendingAuth) (string, bool) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if p.code == "" {
		return "", false
	}
	return withQuery(p.redirectURI, "code", p.code, "state", p.state), true
}

// complete records the sign-in and issues the code (once, however many polls see it).
func (as *AuthServer) complete(p *pendingAuth, res facade.AuthResult) string {
	as.mu.Lock()
	defer as.mu.Unlock()
	if p.code == "" && as.pending[p.id] == p { // not dropped meanwhile
		p.userToken, p.sub = res.UserToken, res.UserInfo.Sub
		p.code, p.codeExp = randomToken(), time.Now().Add(AuthCodeLifetime)
		as.codes[p.code] = p
	}
	return withQuery(p.redirectURI, "code", p.code, "state", p.state)
}
