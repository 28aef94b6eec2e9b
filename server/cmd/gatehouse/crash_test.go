package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to look at the file directly

	"gatehouse/shared"
)

// childEnv, set to "serve", makes the test binary run `gatehouse serve`
// instead of the tests (see TestMain): TestCrashSafety starts the test
// binary itself as the server, so no separate build is needed.
const childEnv = "GATEHOUSE_TEST_CHILD"

// serveChild is `gatehouse serve` as main runs it, for a child started by
// startCrashChild. It returns the exit code.
func serveChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, []string{"serve"}, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		return 2
	}
	return 0
}

// What the crash test's servers are started with.
const (
	crashAdmin    = "admin"
	crashPassword = "crash-admin-password"
	crashSecret   = "crash-test-jwt-secret-0123456789abcdef-0123456789"

	crashWorkers = 8 // goroutines writing at once
	crashKills   = 3 // kill -9 and restart this many times
)

// TestCrashSafety runs the real `gatehouse serve` on SQLite, writes to it
// over HTTP from several goroutines, kills it with SIGKILL while writes are
// in flight, and restarts it on the same data directory, a few times over.
// After each kill the database file passes PRAGMA integrity_check, and both
// the file and the restarted server hold every write that was answered 2xx:
// every acknowledged user exists, with the values of its last acknowledged
// PATCH. A write whose answer never came may or may not be there, but
// nothing else is.
//
// SIGKILL ends the process, not the machine: what the process had handed
// to the kernel survives it. So this proves that nothing is acknowledged
// before it is committed and that a commit cut off halfway is rolled back,
// but not that commits reach the disk (synchronous=FULL): that takes a
// power cut, which a test cannot stage.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the server several times")
	}
	dataDir, emptyWeb := t.TempDir(), t.TempDir()
	dbPath := filepath.Join(dataDir, "gatehouse.db")

	users := map[string]*crashUser{} // by username, over every round
	srv := startCrashChild(t, "start", dataDir, emptyWeb)
	token := srv.signIn(t)
	for round := 1; round <= crashKills; round++ {
		written := srv.writeUntilKilled(t, round, token)
		for _, u := range written {
			users[u.username] = u
		}

		inFile := crashSnapshot(t, dbPath, t.TempDir())
		checkCrashUsers(t, fmt.Sprintf("round %d, the database file after the kill", round), users, inFile)

		srv = startCrashChild(t, fmt.Sprintf("restart %d", round), dataDir, emptyWeb)
		token = srv.signIn(t)
		served := srv.listUsers(t, token)
		checkCrashUsers(t, fmt.Sprintf("round %d, the restarted server", round), users, served)
		if t.Failed() {
			t.FailNow()
		}
		// What the restarted server holds is committed now, whether or not
		// its answer came: the next rounds must keep exactly that.
		for name, u := range users {
			got, ok := served[name]
			if !ok {
				delete(users, name) // its create never answered and did not happen
				continue
			}
			u.created, u.id, u.values, u.pending = true, got.id, got.crashValues, nil
		}
	}
}

// crashValues are the fields the test writes and checks.
type crashValues struct {
	fullName, email string
}

// crashUser is one user the test tried to create, with what it knows of its
// writes.
type crashUser struct {
	username string
	id       int64 // 0 while unknown
	created  bool  // the create was answered 2xx
	values   crashValues
	// pending is the PATCH sent last, after the one values holds, whose
	// answer never came: it may or may not have happened.
	pending *crashValues
}

// storedUser is a user as the database file or the server shows it.
type storedUser struct {
	id int64
	crashValues
}

// checkCrashUsers reports every acknowledged write missing from got, and
// every user in got that no write explains (the first few of each).
func checkCrashUsers(t *testing.T, where string, want map[string]*crashUser, got map[string]storedUser) {
	t.Helper()
	var problems []string
	acked := 0
	for name, u := range want {
		g, ok := got[name]
		switch {
		case !ok && u.created:
			problems = append(problems, fmt.Sprintf("user %s was created (answered 2xx) but is missing", name))
		case !ok:
		case g.crashValues == u.values:
		case u.pending != nil && g.crashValues == *u.pending:
		case u.created:
			problems = append(problems, fmt.Sprintf("user %s has %+v, want its last acknowledged %+v", name, g.crashValues, u.values))
		default:
			problems = append(problems, fmt.Sprintf("user %s (create unanswered) has %+v, want %+v", name, g.crashValues, u.values))
		}
		if u.created {
			acked++
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && name != crashAdmin {
			problems = append(problems, fmt.Sprintf("user %s was never written", name))
		}
	}
	slices.Sort(problems)
	const shown = 10
	for i, p := range problems {
		if i == shown {
			t.Errorf("%s: and %d more", where, len(problems)-shown)
			break
		}
		t.Errorf("%s: %s", where, p)
	}
	t.Logf("%s: %d users; %d acknowledged creates expected", where, len(got), acked)
}

// crashSnapshot copies the database (with its WAL) into dir, so that the
// restarted server still recovers the file exactly as the kill left it,
// checks the copy's integrity and returns its users.
func crashSnapshot(t *testing.T, dbPath, dir string) map[string]storedUser {
	t.Helper()
	cp := filepath.Join(dir, filepath.Base(dbPath))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(dbPath + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", cp)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var results []string
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		results = append(results, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0] != "ok" {
		t.Fatalf("PRAGMA integrity_check after the kill = %q, want [ok]", results)
	}
	var fkProblems int
	if err := db.QueryRow("SELECT count(*) FROM pragma_foreign_key_check").Scan(&fkProblems); err != nil {
		t.Fatal(err)
	}
	if fkProblems != 0 {
		t.Errorf("PRAGMA foreign_key_check after the kill: %d violations", fkProblems)
	}

	got := map[string]storedUser{}
	rows, err = db.Query("SELECT id, username, full_name, email FROM users")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var u storedUser
		var name string
		if err := rows.Scan(&u.id, &name, &u.fullName, &u.email); err != nil {
			t.Fatal(err)
		}
		got[name] = u
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// ---------------------------------------------------------------------------
// The server process

// crashChild is a `gatehouse serve` process: the test binary, or the built
// command (BenchmarkRSS).
type crashChild struct {
	name   string
	url    string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	client *http.Client
	done   chan struct{} // closed when the process has been waited for
	err    error         // how it exited, once done is closed
}

// startCrashChild starts the test binary as `gatehouse serve` on dataDir and
// waits until it says where it listens. When t ends the process is stopped
// if it still runs, and its output goes to the log if t failed.
func startCrashChild(t testing.TB, name, dataDir, webDir string) *crashChild {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Should TestMain not see childEnv, run no test rather than all of them.
	return startChild(t, name, exec.Command(exe, "-test.run=^$"), dataDir, webDir)
}

// startChild starts cmd, which is either the test binary (see
// startCrashChild) or a built gatehouse command given "serve", with the
// crash test's settings on dataDir and webDir, and waits until it says
// where it listens.
func startChild(t testing.TB, name string, cmd *exec.Cmd, dataDir, webDir string) *crashChild {
	t.Helper()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") { // none of the caller's settings
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		childEnv+"=serve",
		"GATEHOUSE_ADDR=127.0.0.1:0",
		"GATEHOUSE_DATA_DIR="+dataDir,
		"GATEHOUSE_WEB_DIR="+webDir, // the crash test's is empty: the frontend warns that app.wasm is missing
		"GATEHOUSE_JWT_SECRET="+crashSecret,
		"GATEHOUSE_BCRYPT_COST=4",
		"GATEHOUSE_ADMIN_USERNAME="+crashAdmin,
		"GATEHOUSE_ADMIN_PASSWORD="+crashPassword,
	)
	urlc := make(chan string, 1)
	stdout := &crashLines{onLine: func(line string) {
		if u, ok := strings.CutPrefix(line, "Gatehouse is running at "); ok {
			select {
			case urlc <- strings.TrimRight(strings.TrimSpace(u), "/"):
			default:
			}
		}
	}}
	stderr := &crashLines{onLine: func(string) {}}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	c := &crashChild{
		name:   name,
		cmd:    cmd,
		client: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * crashWorkers}},
		done:   make(chan struct{}),
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()

	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-c.done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-c.done
				t.Errorf("server %s did not stop within 20 s of SIGTERM", name)
			}
		}
		c.client.CloseIdleConnections()
		if strings.Contains(stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("server %s: the race detector found a data race", name)
		}
		if t.Failed() {
			t.Logf("server %s exited: %v\nstdout:\n%s\nstderr:\n%s", name, c.err, stdout, stderr)
		}
	})

	select {
	case c.url = <-urlc:
		return c
	case <-c.done:
		t.Fatalf("server %s exited before listening: %v", name, c.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("server %s did not say where it listens within 30 s", name)
	}
	return nil
}

// crashAnswer is the answer to one request. A status of 0 means that none
// came. A 2xx status counts as acknowledged even when the body was cut off.
type crashAnswer struct {
	status int
	body   []byte
	err    error // the transport's, or reading the body's
}

func (a crashAnswer) ok() bool { return a.status >= 200 && a.status < 300 }

func (c *crashChild) do(method, path, token, contentType string, body []byte) crashAnswer {
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		return crashAnswer{err: err}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.client.Do(req)
	if err != nil {
		return crashAnswer{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return crashAnswer{status: res.StatusCode, body: b, err: err}
}

func (c *crashChild) doJSON(method, path, token string, in any) crashAnswer {
	b, err := json.Marshal(in)
	if err != nil {
		return crashAnswer{err: err}
	}
	return c.do(method, path, token, "application/json", b)
}

// signIn signs in as the admin and returns the access token.
func (c *crashChild) signIn(t testing.TB) string {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {crashAdmin}, "password": {crashPassword}}
	a := c.do(http.MethodPost, "/api/token", "", "application/x-www-form-urlencoded", []byte(form.Encode()))
	var tok shared.TokenResponse
	if !a.ok() || a.err != nil || json.Unmarshal(a.body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("server %s: sign in: status %d, %v: %s", c.name, a.status, a.err, a.body)
	}
	return tok.AccessToken
}

// listUsers pages through GET /api/users.
func (c *crashChild) listUsers(t *testing.T, token string) map[string]storedUser {
	t.Helper()
	got := map[string]storedUser{}
	for page := 1; ; page++ {
		path := fmt.Sprintf("/api/users?q=&page=%d&per_page=%d", page, shared.MaxPerPage)
		a := c.do(http.MethodGet, path, token, "", nil)
		var p shared.Page[shared.User]
		if a.status != http.StatusOK || a.err != nil || json.Unmarshal(a.body, &p) != nil {
			t.Fatalf("server %s: GET %s: status %d, %v: %s", c.name, path, a.status, a.err, a.body)
		}
		for _, u := range p.Items {
			got[u.Username] = storedUser{u.ID, crashValues{u.FullName, u.Email}}
		}
		if len(p.Items) == 0 || len(got) >= p.Total {
			if len(got) != p.Total {
				t.Fatalf("server %s: the list says %d users but holds %d", c.name, p.Total, len(got))
			}
			return got
		}
	}
}

// writeUntilKilled has crashWorkers goroutines create users and patch their
// own, each one request at a time, kills the server with SIGKILL once some
// writes were acknowledged while the others are in flight, and returns
// every user the goroutines tried to create, with what they know of it.
func (c *crashChild) writeUntilKilled(t *testing.T, round int, token string) []*crashUser {
	t.Helper()
	var (
		acked  atomic.Int64
		killed atomic.Bool
		wg     sync.WaitGroup
		mine   [crashWorkers][]*crashUser
	)
	for w := range crashWorkers {
		wg.Go(func() {
			mine[w] = c.writeAway(t, round, w, token, &acked, &killed)
		})
	}

	// Kill after a number of acknowledged writes that changes from run to
	// run, or after a while on a slow machine, but never before the first.
	target := int64(60 + rand.IntN(120))
	start := time.Now()
	for {
		n := acked.Load()
		if n >= target || (n > 0 && time.Since(start) > 2*time.Second) {
			break
		}
		select {
		case <-c.done:
			wg.Wait()
			t.Fatalf("server %s exited during the writes: %v", c.name, c.err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(start) > time.Minute {
			killed.Store(true)
			_ = c.cmd.Process.Kill()
			wg.Wait()
			t.Fatalf("server %s: no write acknowledged within a minute", c.name)
		}
	}
	killed.Store(true)
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill server %s: %v", c.name, err)
	}
	<-c.done
	atKill := acked.Load()
	wg.Wait()
	c.client.CloseIdleConnections()

	var all []*crashUser
	unanswered := 0
	for _, us := range mine {
		all = append(all, us...)
		for _, u := range us {
			if !u.created || u.pending != nil {
				unanswered++
			}
		}
	}
	t.Logf("round %d: killed server %s (%v) after %v: %d writes acknowledged (%d when the kill was sent), %d unanswered",
		round, c.name, c.err, time.Since(start).Round(time.Millisecond), acked.Load(), atKill, unanswered)
	return all
}

// writeAway is one writing goroutine: it creates users and patches the ones
// it created, one request at a time, until a request gets no answer.
// Only this goroutine patches its users, so the last acknowledged PATCH
// of each is the value to expect, or the last one sent if its answer never
// came.
func (c *crashChild) writeAway(t *testing.T, round, w int, token string, acked *atomic.Int64, killed *atomic.Bool) []*crashUser {
	var (
		mine      []*crashUser
		patchable []*crashUser // created, with a known id
	)
	rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
	noAnswer := func(what string, a crashAnswer) {
		if !killed.Load() { // before the kill, every request must be answered
			t.Errorf("round %d, writer %d: %s: no answer before the kill: %v", round, w, what, a.err)
		}
	}
	for n := 1; ; n++ {
		if n%3 == 0 && len(patchable) > 0 {
			u := patchable[rng.IntN(len(patchable))]
			v := crashValues{
				fullName: fmt.Sprintf("Patched %d %d %d", round, w, n),
				email:    fmt.Sprintf("p%d.%s@example.com", n, u.username),
			}
			path := fmt.Sprintf("/api/users/%d", u.id)
			a := c.doJSON(http.MethodPatch, path, token, shared.UserUpdate{FullName: &v.fullName, Email: &v.email})
			switch {
			case a.ok():
				u.values, u.pending = v, nil
				acked.Add(1)
			case a.status == 0:
				u.pending = &v
				noAnswer("PATCH "+path, a)
				return mine
			default:
				t.Errorf("round %d, writer %d: PATCH %s: status %d: %s", round, w, path, a.status, a.body)
				return mine
			}
			continue
		}

		name := fmt.Sprintf("crash-%d-%d-%d", round, w, n)
		u := &crashUser{username: name, values: crashValues{
			fullName: fmt.Sprintf("Crash %d %d %d", round, w, n),
			email:    name + "@example.com",
		}}
		mine = append(mine, u)
		a := c.doJSON(http.MethodPost, "/api/users", token, shared.UserCreate{
			Username: name, Password: "password-" + name, FullName: u.values.fullName, Email: u.values.email, Role: shared.RoleViewer,
			MustChangePassword: ptr(false),
		})
		switch {
		case a.ok():
			u.created = true
			acked.Add(1)
			var got shared.User
			if a.err == nil && json.Unmarshal(a.body, &got) == nil && got.ID > 0 {
				u.id = got.ID
				patchable = append(patchable, u)
			}
		case a.status == 0:
			noAnswer("POST /api/users "+name, a)
			return mine
		default:
			t.Errorf("round %d, writer %d: POST /api/users %s: status %d: %s", round, w, name, a.status, a.body)
			return mine
		}
	}
}

// crashLines collects a child's output and calls onLine with each line.
type crashLines struct {
	mu     sync.Mutex
	all    bytes.Buffer
	part   []byte
	onLine func(string)
}

func (w *crashLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		w.onLine(string(w.part[:i]))
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *crashLines) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

func ptr[T any](v T) *T { return &v }
