package reliability

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// TestSoakSharedClients: 1,000 goroutines share one App and one Agent (default transports and
// retry policy), released together, each making two mixed calls (retrieve-mode Request, Me,
// ProxyRequest). Under -race: no data race, every call succeeds, the vault and the upstream saw
// exactly the calls made (nothing lost, nothing doubled), every audit post arrives by Close, and
// no goroutine is left (goleak, in newEnv). Contract validation stays on.
func TestSoakSharedClients(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	const goroutines = 1000
	e := newEnv(t, nil)
	appGrant, _ := e.grant(t, vaulttest.OAuthGrant{})
	ag := e.s.AddAgent("soak")
	agentGrant, _ := e.grant(t, vaulttest.OAuthGrant{Provider: "slack", AgentOwner: ag.ID})
	agent, err := facade.NewAgent(ag.APIKey, facade.WithBaseURL(e.s.URL()))
	require.NoError(t, err)

	var requests, mes, proxies atomic.Int64
	calls := []func(i int) error{
		func(i int) error { // App, retrieve mode
			resp, err := e.app.Request(bg, http.MethodGet, e.up.URL()+"/app/{i}", facade.RequestParams{GrantID: appGrant,
				PathParams: map[string]string{"i": fmt.Sprint(i)}})
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, err = io.Copy(io.Discard, resp.Body)
			requests.Add(1)
			return err
		},
		func(int) error { // Agent, retrieve mode
			resp, err := agent.Request(bg, http.MethodGet, e.up.URL()+"/agent", facade.RequestParams{GrantID: agentGrant})
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, err = io.Copy(io.Discard, resp.Body)
			requests.Add(1)
			return err
		},
		func(int) error { // Agent, Me
			info, err := agent.Me(bg)
			if err == nil && info.ID != ag.ID {
				err = fmt.Errorf("me: %s", info.ID)
			}
			mes.Add(1)
			return err
		},
		func(i int) error { // App, proxy mode
			out, err := e.app.ProxyRequest(bg, http.MethodPost, e.up.URL()+"/proxy", facade.ProxyParams{GrantID: appGrant, JSON: map[string]int{"i": i}})
			if err == nil && (out.Result == nil || out.Result.StatusCode != 200) {
				err = fmt.Errorf("proxy: %+v", out)
			}
			proxies.Add(1)
			return err
		},
	}
	start := time.Now()
	release := make(chan struct{})
	errs := make(chan error, 2*goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			<-release
			for k := range 2 {
				if err := calls[(i+k)%len(calls)](i); err != nil {
					errs <- err
				}
			}
		})
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, agent.Close())
	require.NoError(t, e.app.Close()) // drains the audit posts
	elapsed := time.Since(start)
	t.Logf("%d goroutines × 2 calls: %v (%d Request, %d Me, %d ProxyRequest)", goroutines, elapsed, requests.Load(), mes.Load(), proxies.Load())
	require.Equal(t, int64(2*goroutines), requests.Load()+mes.Load()+proxies.Load())
	require.Equal(t, int(requests.Load()), e.s.CallCount("retrieveToken"))
	require.Equal(t, int(requests.Load()), e.s.CallCount("recordApiCall"), "every audit post arrived by Close")
	require.Equal(t, int(mes.Load()), e.s.CallCount("getAgentMe"))
	require.Equal(t, int(proxies.Load()), e.s.CallCount("proxyRequest"))
	require.Len(t, e.up.Requests(), int(requests.Load()+proxies.Load()))
	require.Less(t, elapsed, 60*time.Second)
}
