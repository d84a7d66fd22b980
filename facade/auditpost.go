package facade

import (
	"context"
	"sync"
	"time"
)

// Audit records are posted by workers that take records from a queue until it is empty, rather
// than by a goroutine per record: a fresh goroutine starts on a small stack, and the signed post
// (HTTP client, JSON, SHA-256) made it grow, which means copying it, several times per record:
// about 8% of a Request's CPU in bench/ (runtime.copystack). Under load a worker posts record
// after record on a stack that has already grown. A worker exits as soon as the queue is empty,
// so no goroutine outlives the posts: tests with goleak or testing/synctest see none left over.

// maxAuditWorkers bounds the audit posts of one App (and its Agents) in flight. Without a bound,
// under load the posts pile up next to the foreground calls and each needs its own connection:
// with 64 goroutines the vault saw 120–300 TCP connections for 10,000 calls; with 48 in flight
// 89–126 (bench/, make bench). Records beyond it wait in the queue (not dropped); at 50 ms per
// post that is still ~1,000 audit records a second per App.
const maxAuditWorkers = 48

// auditJob is one record waiting to be posted through the client view that made the call (its
// identity headers), with the values (trace) of the caller's context.
type auditJob struct {
	parent   context.Context
	post     func(ctx context.Context) // sends the record (or report)
	deadline time.Time                 // the post's time limit, counted from the call's end
}

// auditPoster is the worker pool of one shared client.
type auditPoster struct {
	mu      sync.Mutex
	queue   []auditJob // FIFO from head; guarded by mu
	head    int        // next record to post; guarded by mu
	workers int        // running workers, ≤ maxAuditWorkers; guarded by mu
	closed  bool       // guarded by mu
	running sync.WaitGroup

	send   func(ctx context.Context, j auditJob) // posts one record
	ctx    context.Context                       // cancelled when close stops waiting: ends the posts in flight
	cancel context.CancelFunc
}

func newAuditPoster(send func(ctx context.Context, j auditJob)) *auditPoster {
	p := &auditPoster{send: send}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// submit queues j, starting a worker while fewer than maxAuditWorkers run (the running ones
// take it otherwise). It reports false (and drops j) after close.
func (p *auditPoster) submit(j auditJob) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	if len(p.queue) == cap(p.queue) && p.head > 0 {
		// Full, with posted records in front: move the waiting ones down rather than grow,
		// or a queue that never empties under steady load would keep every record.
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	p.queue = append(p.queue, j)
	if p.workers < maxAuditWorkers {
		p.workers++
		p.running.Add(1)
		go p.work()
	}
	return true
}

// work posts queued records until the queue is empty. A record submitted while the last worker
// leaves is not stranded: submit and the empty check hold the same lock, so either this worker
// sees the record or submit sees one worker fewer and starts another.
func (p *auditPoster) work() {
	defer p.running.Done()
	for {
		p.mu.Lock()
		if p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0 // reuse the array
			p.workers--
			p.mu.Unlock()
			return
		}
		j := p.queue[p.head]
		p.queue[p.head] = auditJob{} // let the body be collected
		p.head++
		p.mu.Unlock()
		p.post(j)
	}
}

// post sends one record. Its context keeps the caller's values but not its cancellation; it ends
// at the job's deadline, or when close gives up waiting.
func (p *auditPoster) post(j auditJob) {
	ctx, cancel := context.WithDeadline(context.WithoutCancel(j.parent), j.deadline)
	defer cancel()
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()
	p.send(ctx, j)
}

// close refuses new records, lets the workers post the queued ones for up to drain, then cancels
// what is left (each post logs its failure) and waits for the workers to exit. It reports whether the
// queue drained in time.
func (p *auditPoster) close(drain time.Duration) bool {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.running.Wait(); close(done) }()
	t := time.NewTimer(drain)
	defer t.Stop()
	inTime := true
	select {
	case <-done:
	case <-t.C:
		inTime = false
	}
	p.cancel()
	<-done
	return inTime
}
