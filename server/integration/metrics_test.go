package integration

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/shared"
)

// scrape returns the metrics as text.
func (e *env) scrape() string {
	e.t.Helper()
	if e.sys.Metrics == nil {
		e.t.Fatal("metrics are off")
	}
	w := httptest.NewRecorder()
	e.sys.Metrics.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

// metric returns the value of the sample whose name and labels start line,
// or -1.
func metric(text, sample string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` ([0-9.e+-]+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestMetricsMove(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_METRICS_ADDR=127.0.0.1:0", "GATEHOUSE_LOGIN_FREE=2")
	before := e.scrape()
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "gatehouse_active_sessions"} {
		if !strings.Contains(before, want) {
			t.Errorf("no %s in the metrics", want)
		}
	}

	login := granted(t)(e.rawLogin(adminName, adminPass))
	e.rawLogin(adminName, "wrong-password")
	e.clock.Advance(time.Minute)
	rotated := granted(t)(e.refreshWith(login.RefreshToken))
	e.clock.Advance(time.Minute)
	e.refreshWith(login.RefreshToken) // reuse: the session is revoked
	admin := e.admin()
	u, _ := e.newUser(shared.RoleViewer)
	for range 3 {
		if _, err := admin.User(bg, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	e.do("GET", "/api/users/999999999", admin.Tokens.Token(), nil, nil)
	e.do("GET", "/api/no-such-route/with/a/long/path", "", nil, nil)
	for range 3 { // the third finds the account locked
		e.rawLogin("nobody-here", "wrong-password")
	}
	_ = rotated

	after := e.scrape()
	for _, c := range []struct {
		sample  string
		atLeast float64
	}{
		{`gatehouse_sign_ins_total{outcome="ok"}`, 3},
		{`gatehouse_sign_ins_total{outcome="failed"}`, 3},
		{`gatehouse_sign_ins_total{outcome="throttled"}`, 1},
		{`gatehouse_refreshes_total{outcome="rotated"}`, 1},
		{`gatehouse_refreshes_total{outcome="reuse"}`, 1},
		{`gatehouse_refresh_reuse_detections_total`, 1},
		{`gatehouse_http_requests_total{method="GET",route="/api/users/{id:[0-9]+}",status="200"}`, 3},
		{`gatehouse_http_requests_total{method="GET",route="/api/users/{id:[0-9]+}",status="404"}`, 1},
		{`gatehouse_http_requests_total{method="POST",route="/api/token",status="401"}`, 1},
		{`gatehouse_http_requests_total{method="GET",route="unmatched",status="404"}`, 1},
		{`gatehouse_http_request_duration_seconds_count{method="POST",route="/api/token/refresh"}`, 2},
		{`gatehouse_cache_lookups_total{cache="verdict",result="hit"}`, 2},
		{`gatehouse_cache_lookups_total{cache="session",result="hit"}`, 2},
		{`gatehouse_active_sessions`, 2},
	} {
		if got := metric(after, c.sample); got < c.atLeast {
			t.Errorf("%s = %v, want at least %v", c.sample, got, c.atLeast)
		}
	}
	templates := map[string]bool{"unmatched": true, "frontend": true}
	for _, r := range e.sys.API.Routes() {
		templates[r.Path] = true
	}
	for _, m := range regexp.MustCompile(`route="([^"]*)"`).FindAllStringSubmatch(after, -1) {
		if !templates[m[1]] {
			t.Errorf("route label %q is not a route template", m[1])
		}
	}
}

// Off by default: no registry, nothing observed.
func TestMetricsAreOffByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if e.sys.Metrics != nil {
		t.Fatal("metrics are on without GATEHOUSE_METRICS_ADDR")
	}
	if resp, _ := e.do("GET", "/metrics", "", nil, nil); resp.StatusCode == http.StatusOK && strings.Contains(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatal("the public listener serves metrics")
	}
}
