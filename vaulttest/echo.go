package vaulttest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EchoUpstream is a small upstream API for tests, on its own loopback listener. Any request
// answers 200 JSON {"method","path","query","headers","body"} except:
//
//	/status/{code}            → that status, JSON {"status":code}
//	/redirect?to=<url>        → 302 to that URL
//	/scope-mismatch?scope=a+b → 403 with WWW-Authenticate: Bearer error="insufficient_scope", scope="a b"
//	/slow?ms=N                → waits N ms (ctx-aware), then echoes
//	/bytes/{n}                → 200 JSON of exactly n bytes (11 ≤ n ≤ 64 MiB), written in
//	                            chunks from one fixed block: a sized answer for benchmarks that
//	                            costs the upstream no allocation per byte
//
// It remembers the newest 10 000 requests, 64 MiB of them at most (WithEchoMaxRequests,
// WithEchoLogBytes), so that a load test against it runs in bounded memory.
type EchoUpstream struct {
	srv         *httptest.Server
	mu          sync.Mutex
	reqs        *ring[Request]
	maxRequests int
	logBytes    int64
	verify      func(r *http.Request, body []byte) error // NewSigV4Upstream's check; nil: none
}

// EchoOption configures an EchoUpstream.
type EchoOption func(*EchoUpstream)

// WithEchoMaxRequests keeps only the newest n requests the upstream received (default 10 000).
func WithEchoMaxRequests(n int) EchoOption {
	return func(u *EchoUpstream) {
		if n > 0 {
			u.maxRequests = n
		}
	}
}

// WithEchoLogBytes keeps only the newest requests whose bodies, paths and headers add up to about
// n bytes (default 64 MiB); the newest is always kept.
func WithEchoLogBytes(n int64) EchoOption {
	return func(u *EchoUpstream) {
		if n > 0 {
			u.logBytes = n
		}
	}
}

// NewEchoUpstream starts an echo upstream on 127.0.0.1.
func NewEchoUpstream(opts ...EchoOption) *EchoUpstream { return startEcho(&EchoUpstream{}, opts...) }

func startEcho(u *EchoUpstream, opts ...EchoOption) *EchoUpstream {
	u.maxRequests, u.logBytes = DefaultMaxRequests, DefaultLogBytes
	for _, o := range opts {
		o(u)
	}
	u.reqs = newBudgetRing(u.maxRequests, u.logBytes, Request.size)
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		_ = u.srv.Listener.Close()
		u.srv.Listener = ln
	}
	u.srv.Start()
	return u
}

// URL is the upstream's base URL.
func (u *EchoUpstream) URL() string { return u.srv.URL }

// Close stops the upstream.
func (u *EchoUpstream) Close() { u.srv.Close() }

// Requests lists the newest requests the upstream received, oldest first (headers as sent:
// tests check injection).
func (u *EchoUpstream) Requests() []Request {
	u.mu.Lock()
	out := u.reqs.all()
	u.mu.Unlock()
	for i := range out {
		out[i].Header = out[i].Header.Clone()
	}
	return out
}

func (u *EchoUpstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	u.mu.Lock()
	u.reqs.push(Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Time: time.Now()})
	u.mu.Unlock()
	if u.verify != nil {
		if err := u.verify(r, body); err != nil {
			awsError(w, err)
			return
		}
	}
	q := r.URL.Query()
	switch {
	case strings.HasPrefix(r.URL.Path, "/status/"):
		code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		if err != nil || code < 100 || code > 599 {
			code = http.StatusBadRequest
		}
		writeJSON(w, code, map[string]int{"status": code})
		return
	case r.URL.Path == "/redirect":
		http.Redirect(w, r, q.Get("to"), http.StatusFound)
		return
	case r.URL.Path == "/scope-mismatch":
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+q.Get("scope")+`"`)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope"})
		return
	case strings.HasPrefix(r.URL.Path, "/bytes/"):
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/bytes/"))
		if err != nil || n < len(sizedHead)+len(sizedTail) || n > maxSized {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want /bytes/{n}, 11 ≤ n ≤ 67108864"})
			return
		}
		writeSized(w, n)
		return
	case r.URL.Path == "/slow":
		ms, _ := strconv.Atoi(q.Get("ms"))
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	hdr := map[string]string{}
	for k, v := range r.Header {
		hdr[k] = strings.Join(v, ", ")
	}
	qm := map[string]string{}
	for k, v := range q {
		qm[k] = strings.Join(v, ",")
	}
	b, _ := json.Marshal(map[string]any{"method": r.Method, "path": r.URL.Path, "query": qm, "headers": hdr, "body": string(body)})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// The /bytes/{n} answer: {"data":"xxx…"}, n bytes in all.
const (
	sizedHead = `{"data":"`
	sizedTail = `"}`
	maxSized  = 64 << 20
)

// sizedFill is the block the padding is written from.
var sizedFill = []byte(strings.Repeat("x", 32<<10))

func writeSized(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	_, _ = io.WriteString(w, sizedHead)
	for left := n - len(sizedHead) - len(sizedTail); left > 0; {
		k := min(left, len(sizedFill))
		if _, err := w.Write(sizedFill[:k]); err != nil {
			return
		}
		left -= k
	}
	_, _ = io.WriteString(w, sizedTail)
}
