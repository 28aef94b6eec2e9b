package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"gatehouse/shared"
)

// BenchmarkThroughput compares, on one loopback server with the same
// load-generator settings (vegeta, a fixed number of connections, as fast
// as they go), the requests per second and latencies of the hot routes, in
// interleaved rounds so that a noisy neighbour hurts every row alike. Tokens
// are younger than SLIDE_AFTER except in the slid row, whose token is
// older, so that every answer to it carries a fresh one.
func BenchmarkThroughput(b *testing.B) {
	for b.Loop() {
		throughput(b)
	}
}

func throughput(b *testing.B) {
	e := newEnv(b)
	slid := e.admin().Tokens.Token()
	e.clock.Advance(2 * time.Minute) // past SLIDE_AFTER (60 s) for the first token
	fresh := e.admin().Tokens.Token()
	admin := e.admin()
	for i := range 60 {
		if _, err := admin.CreateUser(bg, shared.UserCreate{Username: fmt.Sprintf("bench%02d", i), Password: userPassword, Role: shared.RoleViewer, MustChangePassword: ptr(false)}); err != nil {
			b.Fatal(err)
		}
	}
	rows := []struct {
		name, path, token string
	}{
		{"GET /healthz", shared.PathHealth, ""},
		{"GET /api/auth/check", shared.PathAuthCheck, fresh},
		{"GET /api/users/me", shared.PathMe, fresh},
		{"GET /api/users?per_page=50", shared.PathUsers + "?per_page=50", fresh},
		{"GET /api/auth/check, slid token", shared.PathAuthCheck, slid},
	}
	const (
		rounds = 2
		conns  = 32
		each   = 2 * time.Second
	)
	metrics := make([]vegeta.Metrics, len(rows))
	for range rounds {
		for i, r := range rows {
			h := http.Header{}
			if r.token != "" {
				h.Set("Authorization", "Bearer "+r.token)
			}
			target := vegeta.Target{Method: "GET", URL: e.srv.URL + r.path, Header: h}
			a := vegeta.NewAttacker(vegeta.Workers(conns), vegeta.MaxWorkers(conns), vegeta.Connections(conns), vegeta.KeepAlive(true))
			for res := range a.Attack(vegeta.NewStaticTargeter(target), vegeta.Rate{Freq: 0}, each, r.name) {
				metrics[i].Add(res)
			}
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-34s %10s %9s %9s %8s %10s\n", "route", "req/s", "p50", "p99", "errors", "vs check")
	for i := range metrics {
		metrics[i].Close()
	}
	check := metrics[1].Throughput
	for i, r := range rows {
		m := &metrics[i]
		fmt.Fprintf(&table, "%-34s %10.0f %9v %9v %8d %9.2f×\n", r.name, m.Throughput,
			m.Latencies.P50.Round(time.Microsecond), m.Latencies.P99.Round(time.Microsecond),
			m.Requests-uint64(m.StatusCodes["200"]+m.StatusCodes["204"]), m.Throughput/check)
	}
	b.Logf("throughput: %d connections, %d interleaved rounds of %v per row\n%s", conns, rounds, each, table.String())
	b.ReportMetric(metrics[2].Throughput/check, "me/check")
	b.ReportMetric(metrics[4].Throughput/check, "slid/check")
}
