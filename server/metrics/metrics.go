// Package metrics exposes Gatehouse's operational figures to Prometheus:
// requests by route template and status with their latency, sign-ins and
// refreshes by outcome, refresh-token reuse, active sessions, the hit
// ratios of the caches on the hot path, and the Go runtime's own.
//
// Routes are labelled by their template (/api/users/{id:[0-9]+}), never
// by the path asked for, so a scanner cannot blow up the label space.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gatehouse/server/auth"
	"gatehouse/server/cache"
)

// Sources are what the figures are read from when scraped.
type Sources struct {
	Auth  *auth.Service
	Cache *cache.Store
	// ActiveSessions counts the sessions active now; it is asked at each
	// scrape, bounded by the scrape's deadline.
	ActiveSessions func(ctx context.Context) (int, error)
}

// Metrics is a registry of Gatehouse's metrics.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New registers the metrics over src.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_http_requests_total", Help: "HTTP requests by route template, method and status.",
	}, []string{"route", "method", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route template and method.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method"})
	m.reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&counts{src: src}, &active{count: src.ActiveSessions})
	return m
}

// Observe records one answered request.
func (m *Metrics) Observe(route, method string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(elapsed.Seconds())
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

var (
	signInsDesc   = prometheus.NewDesc("gatehouse_sign_ins_total", "Sign-ins by outcome: ok, failed (wrong credentials or disabled), throttled, busy (no hashing slot), refused (malformed input).", []string{"outcome"}, nil)
	refreshesDesc = prometheus.NewDesc("gatehouse_refreshes_total", "Refresh grants by outcome: rotated, grace (inside the grace window), reuse (session revoked), refused.", []string{"outcome"}, nil)
	reuseDesc     = prometheus.NewDesc("gatehouse_refresh_reuse_detections_total", "Refresh tokens presented again after being superseded; each revoked its session.", nil, nil)
	cacheDesc     = prometheus.NewDesc("gatehouse_cache_lookups_total", "Hot-path cache lookups by cache (verdict, session, user) and result (hit, miss).", []string{"cache", "result"}, nil)
	activeDesc    = prometheus.NewDesc("gatehouse_active_sessions", "Sessions neither revoked nor expired.", nil, nil)
)

// counts reads the services' counters at each scrape.
type counts struct{ src Sources }

func (c *counts) Describe(ch chan<- *prometheus.Desc) {
	ch <- signInsDesc
	ch <- refreshesDesc
	ch <- reuseDesc
	ch <- cacheDesc
}

func (c *counts) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	n := c.src.Auth.Counts()
	counter(signInsDesc, n.SignInOK, "ok")
	counter(signInsDesc, n.SignInFailed, "failed")
	counter(signInsDesc, n.SignInThrottled, "throttled")
	counter(signInsDesc, n.SignInBusy, "busy")
	counter(signInsDesc, n.SignInRefused, "refused")
	counter(refreshesDesc, n.RefreshRotated, "rotated")
	counter(refreshesDesc, n.RefreshGrace, "grace")
	counter(refreshesDesc, n.RefreshReuse, "reuse")
	counter(refreshesDesc, n.RefreshRefused, "refused")
	counter(reuseDesc, n.RefreshReuse)
	if v := c.src.Auth.Tokens().Verdicts(); v != nil {
		hits, misses := v.Stats()
		counter(cacheDesc, hits, "verdict", "hit")
		counter(cacheDesc, misses, "verdict", "miss")
	}
	s := c.src.Cache.Stats()
	counter(cacheDesc, s.SessionHits, "session", "hit")
	counter(cacheDesc, s.SessionMisses, "session", "miss")
	counter(cacheDesc, s.UserHits, "user", "hit")
	counter(cacheDesc, s.UserMisses, "user", "miss")
}

// active counts the active sessions at each scrape; a store that does not
// answer within two seconds leaves the gauge out of that scrape.
type active struct {
	count func(ctx context.Context) (int, error)
}

func (a *active) Describe(ch chan<- *prometheus.Desc) { ch <- activeDesc }

func (a *active) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := a.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(activeDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, float64(n))
}
