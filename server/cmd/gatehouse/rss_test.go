package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"gatehouse/app/ui"
	"gatehouse/shared"
)

// What BenchmarkRSS loads the server with.
const (
	rssConns = 256             // connections reading at once
	rssLoad  = 5 * time.Second // for this long
)

// BenchmarkRSS measures the resident memory of the real server: `gatehouse
// serve` on a new SQLite database and the built web directory, as make
// bench runs it (GATEHOUSE_BENCH_BIN names bin/gatehouse,
// GATEHOUSE_BENCH_WEB the web directory; without the first, this test
// binary serves, which links more code; without the second, ../../../web).
// It reports, from /proc/PID/status:
//
//   - idle-rss-MB: VmRSS once the server has started and answered a first
//     request for each page and what a browser loads with them (app.js,
//     the service worker, the manifest, the CSS, app.wasm in brotli);
//   - peak-rss-MB: the peak while vegeta reads /api/users/me with a valid
//     token on 256 connections at once for 5 s (VmHWM, reset before the
//     load through /proc/PID/clear_refs, and VmRSS sampled every 10 ms);
//   - the requests per second and the answers that were not 200.
//
// Targets: idle at most 32 MB, peak at most 100 MB (MB = 10^6 bytes, the
// unit of /proc's kB being KiB). A report, not a pass/fail test: the
// machine is shared.
func BenchmarkRSS(b *testing.B) {
	for b.Loop() {
		rssOnce(b)
	}
}

func rssOnce(b *testing.B) {
	web := os.Getenv("GATEHOUSE_BENCH_WEB")
	if web == "" {
		web = filepath.Join("..", "..", "..", "web")
	}
	if _, err := os.Stat(filepath.Join(web, "app.wasm")); err != nil {
		b.Logf("rss: %s has no app.wasm (run make build): measuring without the frontend's files", web)
	}
	var cmd *exec.Cmd
	what := "bin/gatehouse"
	if bin := os.Getenv("GATEHOUSE_BENCH_BIN"); bin != "" {
		cmd = exec.Command(bin, "serve")
	} else {
		exe, err := os.Executable()
		if err != nil {
			b.Fatal(err)
		}
		cmd = exec.Command(exe, "-test.run=^$")
		what = "the test binary (GATEHOUSE_BENCH_BIN unset)"
	}
	srv := startChild(b, "rss", cmd, b.TempDir(), web)
	pid := cmd.Process.Pid
	token := srv.signIn(b)

	// A first visit: every page, and what the browser loads with them.
	paths := append([]string{}, ui.Paths...)
	paths = append(paths, "/app.js", "/wasm_exec.js", "/app-worker.js", "/manifest.webmanifest", "/web/app.css", "/web/app.wasm")
	for _, p := range paths {
		if status := srv.get(b, p, "gzip, deflate, br"); status != http.StatusOK {
			b.Fatalf("GET %s: status %d", p, status)
		}
	}
	time.Sleep(time.Second)
	idle := procStatus(b, pid)

	hwmReset := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	var (
		sampled atomic.Int64 // the highest VmRSS seen, in KiB
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if s, err := readProcStatus(pid); err == nil && s["VmRSS"] > sampled.Load() {
					sampled.Store(s["VmRSS"])
				}
			}
		}
	})
	target := vegeta.Target{Method: "GET", URL: srv.url + shared.PathMe, Header: http.Header{"Authorization": {"Bearer " + token}}}
	a := vegeta.NewAttacker(vegeta.Workers(rssConns), vegeta.MaxWorkers(rssConns), vegeta.Connections(rssConns), vegeta.MaxConnections(rssConns), vegeta.KeepAlive(true))
	var m vegeta.Metrics
	for r := range a.Attack(vegeta.NewStaticTargeter(target), vegeta.Rate{Freq: 0}, rssLoad, "me") {
		m.Add(r)
	}
	m.Close()
	close(stop)
	wg.Wait()
	after := procStatus(b, pid)

	peak := sampled.Load()
	if hwmReset {
		peak = max(peak, after["VmHWM"])
	}
	notOK := m.Requests - uint64(m.StatusCodes["200"])
	mb := func(kib int64) float64 { return float64(kib) * 1024 / 1e6 }
	b.ReportMetric(mb(idle["VmRSS"]), "idle-rss-MB")
	b.ReportMetric(mb(peak), "peak-rss-MB")
	b.ReportMetric(m.Rate, "req/s")
	b.ReportMetric(float64(notOK), "not-200")
	b.Logf("rss of %s serving %s on SQLite: idle %.1f MB (anonymous %.1f, file-backed %.1f; the start's peak %.1f); "+
		"/api/users/me on %d connections for %v: peak %.1f MB (VmHWM reset: %v), %.0f requests/s, p99 %v, %d not 200",
		what, web, mb(idle["VmRSS"]), mb(idle["RssAnon"]), mb(idle["RssFile"]), mb(idle["VmHWM"]),
		rssConns, rssLoad, mb(peak), hwmReset, m.Rate, m.Latencies.P99.Round(100*time.Microsecond), notOK)
	if notOK > 0 {
		b.Logf("rss: answers by status %v, errors %q", m.StatusCodes, m.Errors)
	}
}

// get requests path with the given Accept-Encoding, reads the answer and
// returns its status.
func (c *crashChild) get(t testing.TB, path, acceptEncoding string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", acceptEncoding) // also keeps the transport from decoding
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return res.StatusCode
}

// procStatus returns the memory fields of /proc/PID/status in KiB.
func procStatus(t testing.TB, pid int) map[string]int64 {
	t.Helper()
	s, err := readProcStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readProcStatus(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasSuffix(value, " kB") {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(value, " kB")), 10, 64); err == nil {
			out[key] = n
		}
	}
	if out["VmRSS"] == 0 {
		return nil, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return out, sc.Err()
}
