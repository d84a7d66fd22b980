package facade

// The engine: every vault call of the facade goes through send, in this order and only there:
//
//  1. the Close check (skipped only by the background audit and scope reports, which Close
//     drains);
//  2. the audit context (X-Alter-Context): the per-call context or the ctx's Trace, encoded and
//     checked against the vault's limits before any I/O;
//  3. the one deadline: WithTimeout (default 30 s, widened for long polls) over the whole call,
//     retries and waits included;
//  4. the call descriptor put on the ctx, where gen's request editor (headers.go) and gen's
//     doer (vaultDoer, below) find it: gen builds the request, the editor sets the headers;
//  5. in the doer, for each try: a fresh signature (timestamp, nonce, body hash), the exchange,
//     and the retry decision for the operations that are safe to repeat (retry.go);
//  6. the answer read whole; the actor id cached and a deprecated key noted;
//  7. a status of 400 or more decoded into the typed error of its error surface.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/internal/signing"
)

// call describes one logical vault call.
type call struct {
	op      string       // the spec's operationId: names the call in errors and logs, keys the retry set
	surface errorSurface // which error table decodes a refusal
	body    []byte       // exact bytes sent and signed; nil: no body

	actor      bool              // the cached X-Alter-Actor-ID rides (and the answer's is cached)
	ctxHeader  bool              // X-Alter-Context rides (perCall, else the ctx's Trace)
	perCall    map[string]string // the call's own context
	ctxField   string            // names perCall in a local error
	field      string            // names the request model in a local error
	user       *endUser          // the end-user token the request model carries
	caller     string            // per-call X-Alter-Caller override: no actor id, nothing cached
	timeout    time.Duration     // 0: the client's; long polls widen it
	background bool              // a report Close drains: no Close check
	repeatable bool              // this call of an op outside the retry set may be retried: see retryable

	contextHeader string // encoded by send
}

// answer is a vault answer below 400, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	d, _ := ctx.Value(callKey{}).(*call)
	return d
}

// maxVaultAnswer bounds what is read of one vault answer (a proxied body in base64 included).
const maxVaultAnswer = 32 << 20

// send is the one send of the engine; see the top of this file.
func (c *client) send(ctx context.Context, d *call, do func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error)) (*answer, error) {
	if !d.background {
		if err := c.checkOpen(); err != nil {
			return nil, err
		}
	}
	if d.ctxHeader {
		ac, err := contextFor(ctx, d.ctxField, d.perCall)
		if err != nil {
			return nil, err
		}
		d.contextHeader = ac.header
	}
	timeout := c.timeout
	if d.timeout > 0 {
		timeout = d.timeout
	}
	// A caller's deadline that comes first already bounds the call (Request sets one just before
	// it asks for the token): a second timer would never fire first.
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > timeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ctx = context.WithValue(ctx, callKey{}, d)

	resp, err := do(ctx, c.raw)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return nil, err
		}
		return nil, networkError(d.op, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxVaultAnswer))
	_ = resp.Body.Close()
	if err != nil {
		return nil, networkError(d.op, err)
	}
	c.observe(resp.Header, d.actor && d.caller == "")
	if resp.StatusCode >= 400 {
		return nil, decodeVaultError(d.op, d.surface, resp.StatusCode, resp.Header, body)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// rawCall is the descriptor of a call made through Raw: the gen client used directly.
func rawCall(req *http.Request) *call {
	return &call{op: req.Method + " " + req.URL.Path, actor: true, ctxHeader: true}
}

// vaultDoer is gen's HTTP doer: it signs and sends each try, and repeats the tries the retry set
// allows.
type vaultDoer struct{ c *client }

// Do implements gen.HttpRequestDoer.
func (v *vaultDoer) Do(req *http.Request) (*http.Response, error) {
	c := v.c
	ctx := req.Context()
	d := callFrom(ctx)
	body := []byte(nil)
	if d == nil { // a Raw call is its own logical call
		if err := c.checkOpen(); err != nil {
			return nil, err
		}
		d = rawCall(req)
		if req.Body != nil {
			b, err := io.ReadAll(req.Body)
			_ = req.Body.Close()
			if err != nil {
				return nil, err
			}
			body = b
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		resp, err := v.tries(ctx, req.WithContext(ctx), d, body)
		if err != nil {
			cancel()
			return nil, err
		}
		c.observe(resp.Header, true)
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	return v.tries(ctx, req, d, d.body)
}

// tries sends req until the answer is final, the tries run out, or ctx ends.
func (v *vaultDoer) tries(ctx context.Context, req *http.Request, d *call, body []byte) (*http.Response, error) {
	c := v.c
	for n := 1; ; n++ {
		r := req // the first try sends the body gen was given: the exact bytes of body
		if n > 1 {
			r = req.Clone(ctx) // the transport may still read the last try's headers
			r.Body, r.ContentLength = nil, 0
			if body != nil {
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			}
		}
		r.GetBody = nil // never replayed by net/http: a replay would reuse the nonce
		signing.Sign(r, c.sigKey, body, c.now(), c.basePath)
		resp, err := c.vault.Do(r)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		again, after := c.retry.again(d, resp, func() string { return peekBody(resp) })
		if !again || n >= c.retry.policy.MaxAttempts {
			return resp, err
		}
		wait := c.retry.wait(n, after)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return resp, err // no time left to wait: the last answer is the answer
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
			drainClose(resp.Body)
		}
		c.log.WarnContext(ctx, "alter: retrying", "op", d.op, "try", n+1, "status", status, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// peekBody reads a (bounded) error body and puts the bytes back for the caller.
func peekBody(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// cancelOnClose releases a call's deadline when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body, then releases the call's context.
func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// genCall is one gen client method with its path and query parameters bound; a ...WithBody
// method is given the call's JSON body (a method without a body ignores it).
type genCall func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error)

// endUser is the end-user token a call's request model carries: userToken's (perCall, else the
// getter's when getter), resolved into *into just before the model is encoded.
type endUser struct {
	into    **string
	perCall string
	getter  bool
}

// post is one vault call of the facade: the end user's token resolved into the request model
// (d.user), the model encoded as the wire JSON of the body (d.field names it in a local error;
// model nil: d.body as it stands, nil for no body), and the call sent through do.
func (c *client) post(ctx context.Context, d *call, model any, do genCall) (*answer, error) {
	if d.user != nil {
		tok, err := c.userToken(ctx, d.user.perCall, d.user.getter)
		if err != nil {
			return nil, err
		}
		*d.user.into = optStr(tok)
	}
	if model != nil {
		b, err := marshalWire(model)
		if err != nil {
			return nil, inputErr(d.field, "cannot be encoded as JSON: "+err.Error(), nil)
		}
		d.body = b
	}
	return c.send(ctx, d, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		var body io.Reader
		if d.body != nil {
			body = bytes.NewReader(d.body)
		}
		return do(ctx, raw, body)
	})
}

// sendJSON is post, then the answer decoded as Resp. An answer that is not the documented JSON
// is a backend error: the SDK cannot act on it.
func sendJSON[Resp any](ctx context.Context, c *client, d *call, model any, do genCall) (Resp, error) {
	return sendValid[Resp](ctx, c, d, model, do, nil)
}

// sendValid is sendJSON for an answer 0.29.0 checks beyond its JSON shape (a required string
// that must not be empty, a closed set of values): an answer that fails valid is a backend
// error, as one that is not JSON.
func sendValid[Resp any](ctx context.Context, c *client, d *call, model any, do genCall, valid func(*Resp) bool) (Resp, error) {
	var out Resp
	a, err := c.post(ctx, d, model, do)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(a.body, &out); err != nil || (valid != nil && !valid(&out)) {
		return out, malformed(d.op, a.status, a.header)
	}
	return out, nil
}

// sendConverted is sendValid, then the answer converted into the facade's own type.
func sendConverted[Resp, Out any](ctx context.Context, c *client, d *call, do genCall, valid func(*Resp) bool, conv func(Resp) Out) (Out, error) {
	out, err := sendValid(ctx, c, d, nil, do, valid)
	if err != nil {
		var zero Out
		return zero, err
	}
	return conv(out), nil
}

const contentJSON = "application/json"
