package facade

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// auditedBody streams a provider answer to the caller and keeps only what the audit record
// needs: the first maxAuditCapture+1 bytes (one more tells a body that is too large) and the
// size. The record is posted once, when the body ends: at EOF, at a read error, at Close, or when
// the call's context ends first (its timeout, or the caller's cancellation), so a body that is
// never closed is still audited. Memory does not grow with the answer.
type auditedBody struct {
	body  io.ReadCloser
	start time.Time
	c     *client
	ctx   context.Context
	in    auditInput // the call's record, completed at the end

	mu      sync.Mutex
	capture []byte // guarded by mu
	size    int64  // guarded by mu
	ended   bool   // the record is taken: stop capturing; guarded by mu

	once   sync.Once
	stop   func() bool // stops the context watch; guarded by mu
	cancel context.CancelFunc
}

// streamBody wraps in.resp's body, whose record c posts at its end; cancel ends the call's
// context.
func (c *client) streamBody(ctx context.Context, in auditInput, start time.Time, cancel context.CancelFunc) *auditedBody {
	b := &auditedBody{body: in.resp.Body, start: start, c: c, ctx: ctx, in: in, cancel: cancel}
	b.mu.Lock() // an ended ctx runs the watch at once, and end reads stop
	b.stop = context.AfterFunc(ctx, func() { b.end(context.Cause(ctx)) })
	b.mu.Unlock()
	return b
}

// Read implements io.Reader.
func (b *auditedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.mu.Lock()
	if room := maxAuditCapture + 1 - len(b.capture); room > 0 && !b.ended {
		b.capture = append(b.capture, p[:min(n, room)]...)
	}
	b.size += int64(n)
	b.mu.Unlock()
	switch {
	case err == io.EOF:
		b.end(nil)
	case err != nil:
		b.end(err)
	}
	return n, err
}

// Close implements io.Closer. Closing before the end records the body as far as it was read.
func (b *auditedBody) Close() error {
	err := b.body.Close()
	b.end(nil)
	return err
}

// end posts the record and releases the call's context, once.
func (b *auditedBody) end(err error) {
	b.once.Do(func() {
		b.mu.Lock()
		capture, size, stop := b.capture, b.size, b.stop
		b.capture, b.ended = nil, true
		b.mu.Unlock()
		stop()
		if errors.Is(err, context.Canceled) {
			err = nil // the caller stopped reading: the record says how far it got, not a failure
		}
		b.in.respBody, b.in.respSize, b.in.latency, b.in.err = capture, size, time.Since(b.start), err
		b.c.audit(b.ctx, b.in)
		b.cancel()
	})
}
