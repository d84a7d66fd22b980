package facade

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// pipeRT is a provider whose answer body is written by the test while the caller reads it.
type pipeRT struct {
	w *io.PipeWriter
	r *io.PipeReader
}

func newPipeRT() *pipeRT {
	r, w := io.Pipe()
	return &pipeRT{r: r, w: w}
}

func (p *pipeRT) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: p.r, ContentLength: -1, Request: r}, nil
}

const auditRoute = "POST /sdk/oauth/audit/api-call"

// streamingCall makes a Request by grant whose provider answer body the test writes.
func streamingCall(t *testing.T, opts ...Option) (*fakeVault, *pipeRT, *App, *Response) {
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/token", ok(tokenAns))
	prov := newPipeRT()
	app := newTestApp(t, v, append(opts, WithProviderHTTPClient(&http.Client{Transport: prov}))...)
	resp, err := app.Request(bg, "GET", "https://api.example.com/x", RequestParams{GrantID: gid})
	require.NoError(t, err, "returns before the provider has written a byte of its body")
	return v, prov, app, resp
}

// Request returns as soon as the answer's headers arrive: the body is the provider's, streamed,
// and the audit record is posted when it ends, with the size of a body too large to keep.
func TestRequestStreamsTheBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, prov, app, resp := streamingCall(t)
		synctest.Wait()
		require.Zero(t, v.count(auditRoute), "no record before the body ends")

		const chunk, chunks = 64 << 10, 128 // 8 MiB, never held whole
		go func() {
			buf := bytes.Repeat([]byte("x"), chunk)
			for range chunks {
				_, _ = prov.w.Write(buf)
			}
			_ = prov.w.Close()
		}()
		n, err := io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		require.EqualValues(t, chunk*chunks, n)
		synctest.Wait()
		require.Equal(t, 1, v.count(auditRoute), "posted at EOF, before Close")
		require.NoError(t, resp.Body.Close())

		a := v.last(auditRoute).JSON(t)
		require.Equal(t, "<response too large: 8388608 bytes>", a["response_body"])
		require.Equal(t, float64(200), a["response_status"])
		require.NoError(t, app.Close())
		require.Equal(t, 1, v.count(auditRoute), "one record per call")
	})
}

// A body closed before its end is recorded as far as it was read.
func TestRequestBodyClosedEarlyIsAudited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, prov, app, resp := streamingCall(t)
		go func() { _, _ = prov.w.Write([]byte("hello")) }()
		buf := make([]byte, 5)
		_, err := io.ReadFull(resp.Body, buf)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.NoError(t, app.Close())
		require.Equal(t, 1, v.count(auditRoute))
		require.Equal(t, "hello", v.last(auditRoute).JSON(t)["response_body"])
	})
}

// A body nobody reads or closes is still audited when the call's timeout ends it, and reading
// it afterwards fails: WithTimeout bounds the whole call.
func TestRequestBodyLeftOpenIsAuditedAtTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		v, prov, app, resp := streamingCall(t, WithTimeout(5*time.Second))
		go func() { _, _ = prov.w.Write([]byte("part")) }()
		buf := make([]byte, 4)
		_, err := io.ReadFull(resp.Body, buf)
		require.NoError(t, err)

		time.Sleep(5 * time.Second)
		synctest.Wait()
		require.Equal(t, 1, v.count(auditRoute), "posted when the timeout ended the call")
		a := v.last(auditRoute).JSON(t)
		require.Equal(t, "<transport error: timeout after 5000ms>", a["response_body"])
		require.Equal(t, float64(200), a["response_status"])
		require.Equal(t, 5*time.Second, time.Since(start))
		_ = prov.r.CloseWithError(io.ErrClosedPipe)
		require.NoError(t, resp.Body.Close())
		require.NoError(t, app.Close())
		require.Equal(t, 1, v.count(auditRoute), "one record per call")
	})
}
