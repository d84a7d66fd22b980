package facade

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// workers reports the running and idle workers of p.
func (p *auditPoster) counts() (workers, idle, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers, p.idle, len(p.queue)
}

func job(n int) auditJob {
	return auditJob{parent: context.Background(), body: []byte{byte(n)}, deadline: time.Now().Add(auditTimeout)}
}

// At most maxAuditWorkers posts run at once, the rest wait, every record is posted once,
// and idle workers exit after auditLinger (synctest.Test fails if any bubble goroutine is left).
func TestAuditPosterBoundsWorkersAndLetsThemGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var posted []byte
		var inFlight, maxInFlight atomic.Int32
		p := newAuditPoster(func(ctx context.Context, j auditJob) {
			n := inFlight.Add(1)
			for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
			}
			<-release
			inFlight.Add(-1)
			mu.Lock()
			posted = append(posted, j.body[0])
			mu.Unlock()
		})
		const n = 100
		for i := range n {
			require.True(t, p.submit(job(i)))
		}
		synctest.Wait()
		w, idle, queued := p.counts()
		require.Equal(t, maxAuditWorkers, w)
		require.Zero(t, idle)
		require.Equal(t, n-maxAuditWorkers, queued)
		require.Equal(t, int32(maxAuditWorkers), inFlight.Load())

		close(release)
		synctest.Wait()
		slices.Sort(posted)
		for i, b := range posted {
			require.Equal(t, byte(i), b, "every record posted once")
		}
		require.Equal(t, int32(maxAuditWorkers), maxInFlight.Load())
		w, idle, _ = p.counts()
		require.Equal(t, maxAuditWorkers, w, "workers linger for the next record")
		require.Equal(t, maxAuditWorkers, idle)

		// A record while workers are idle wakes one; none is started.
		require.True(t, p.submit(job(0)))
		synctest.Wait()
		w, _, _ = p.counts()
		require.Equal(t, maxAuditWorkers, w)
		require.Len(t, posted, n+1)

		time.Sleep(auditLinger)
		synctest.Wait()
		w, idle, _ = p.counts()
		require.Zero(t, w)
		require.Zero(t, idle)

		// After they left, a record starts a worker again.
		require.True(t, p.submit(job(1)))
		synctest.Wait()
		require.Len(t, posted, n+2)
		require.True(t, p.close(time.Second))
	})
}

// close posts what is queued, refuses new records, and cancels posts still running after the
// drain time.
func TestAuditPosterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var posted atomic.Int32
		p := newAuditPoster(func(ctx context.Context, j auditJob) {
			time.Sleep(time.Second)
			posted.Add(1)
		})
		for i := range 3 * maxAuditWorkers {
			p.submit(job(i))
		}
		start := time.Now()
		require.True(t, p.close(5*time.Second), "three rounds of one-second posts drain in time")
		require.Equal(t, 3*time.Second, time.Since(start))
		require.Equal(t, int32(3*maxAuditWorkers), posted.Load())
		require.False(t, p.submit(job(0)), "refused after close")
		require.True(t, p.close(time.Second), "idempotent")
	})

	synctest.Test(t, func(t *testing.T) {
		var cancelled atomic.Int32
		p := newAuditPoster(func(ctx context.Context, j auditJob) {
			<-ctx.Done() // a vault that never answers
			if ctx.Err() == context.Canceled {
				cancelled.Add(1)
			}
		})
		p.submit(job(0))
		p.submit(job(1))
		start := time.Now()
		require.False(t, p.close(5*time.Second))
		require.Equal(t, 5*time.Second, time.Since(start))
		require.Equal(t, int32(2), cancelled.Load())
	})
}

// A record's time limit runs from the call, not from when a worker takes it.
func TestAuditPosterDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type seen struct {
			deadline time.Time
			err      error
		}
		got := make(chan seen, 1)
		p := newAuditPoster(func(ctx context.Context, j auditJob) {
			dl, _ := ctx.Deadline()
			got <- seen{dl, ctx.Err()}
		})
		j := job(0)
		j.deadline = time.Now().Add(-time.Second)
		p.submit(j)
		s := <-got
		require.Equal(t, j.deadline, s.deadline)
		require.ErrorIs(t, s.err, context.DeadlineExceeded)
		p.close(time.Second)
	})
}

// A record submitted at the instant an idle worker's linger ends is posted whichever wins: the
// worker that timed out takes the wake-up meant for it, or a new worker starts.
func TestAuditPosterRecordAtLingerEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var posted atomic.Int32
		p := newAuditPoster(func(context.Context, auditJob) { posted.Add(1) })
		for i := range 200 {
			p.submit(job(i))
			synctest.Wait() // the worker is idle now
			time.Sleep(auditLinger)
			p.submit(job(i))
			synctest.Wait()
			require.Equal(t, int32(2*(i+1)), posted.Load())
			w, idle, queued := p.counts()
			require.Zero(t, queued)
			require.Equal(t, w, idle)
			time.Sleep(auditLinger)
		}
		require.True(t, p.close(time.Second))
	})
}
