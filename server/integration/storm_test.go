package integration

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"gatehouse/shared"
)

// BenchmarkSignInStorm fires 100 sign-ins at once (bcrypt cost 12, the
// default hash concurrency and wait) while vegeta reads /api/users/me with
// a valid token on a fixed number of connections, and reports the
// authenticated p99 idle and during the storm, their ratio (target ≤ 3),
// the errors on the authenticated side (target 0) and how the sign-ins
// ended. A report, not a pass/fail test: the machine is shared.
func BenchmarkSignInStorm(b *testing.B) {
	for b.Loop() {
		stormOnce(b)
	}
}

const stormConns = 16

func stormOnce(b *testing.B) {
	e := newEnv(b, "GATEHOUSE_BCRYPT_COST=12", "GATEHOUSE_LOGIN_FREE=1000")
	tok := e.admin().Tokens.Token()
	target := vegeta.Target{Method: "GET", URL: e.srv.URL + shared.PathMe, Header: http.Header{"Authorization": {"Bearer " + tok}}}
	attack := func(d time.Duration) []*vegeta.Result {
		a := vegeta.NewAttacker(vegeta.Workers(stormConns), vegeta.MaxWorkers(stormConns), vegeta.Connections(stormConns), vegeta.KeepAlive(true))
		var out []*vegeta.Result
		for r := range a.Attack(vegeta.NewStaticTargeter(target), vegeta.Rate{Freq: 0}, d, "me") {
			out = append(out, r)
		}
		return out
	}
	metrics := func(rs []*vegeta.Result, from, to time.Time) *vegeta.Metrics {
		var m vegeta.Metrics
		for _, r := range rs {
			if !r.Timestamp.Before(from) && r.Timestamp.Before(to) {
				m.Add(r)
			}
		}
		m.Close()
		return &m
	}

	idleStart := time.Now()
	idle := metrics(attack(3*time.Second), idleStart, time.Now())

	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		outcomes   = map[int]int{}
		stormStart time.Time
		stormEnd   time.Time
	)
	results := make(chan []*vegeta.Result, 1)
	go func() { results <- attack(6 * time.Second) }()
	time.Sleep(time.Second)
	stormStart = time.Now()
	form := url.Values{"username": {adminName}, "password": {adminPass}}.Encode()
	for range 100 {
		wg.Go(func() {
			r := send(e.hc, "POST", e.srv.URL+shared.PathToken, "", formHeader, []byte(form))
			mu.Lock()
			outcomes[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	stormEnd = time.Now()
	storm := metrics(<-results, stormStart, stormEnd)

	ratio := float64(storm.Latencies.P99) / float64(idle.Latencies.P99)
	authErrors := storm.Requests - uint64(storm.StatusCodes["200"])
	b.ReportMetric(float64(idle.Latencies.P99.Microseconds())/1000, "idle-p99-ms")
	b.ReportMetric(float64(storm.Latencies.P99.Microseconds())/1000, "storm-p99-ms")
	b.ReportMetric(ratio, "p99-ratio")
	b.ReportMetric(float64(authErrors), "auth-errors")
	b.Logf("storm: /api/users/me on %d connections: idle p99 %v (%d requests), during 100 sign-ins p99 %v (%d requests, %d not 200) = %.2f× idle (target ≤ 3×); the storm took %v; sign-ins by status %v",
		stormConns, idle.Latencies.P99.Round(10*time.Microsecond), idle.Requests,
		storm.Latencies.P99.Round(10*time.Microsecond), storm.Requests, authErrors, ratio,
		stormEnd.Sub(stormStart).Round(time.Millisecond), outcomes)
	if !strings.Contains(e.srv.URL, "127.0.0.1") {
		b.Logf("storm: server at %s", e.srv.URL)
	}
}
