package postgres

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// logs is a slog.Handler that keeps the messages logged.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	return nil
}

// count returns how many messages were msg at level.
func (l *logs) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == level.String()+" "+msg {
			n++
		}
	}
	return n
}

func (l *logs) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// rawConn opens a connection of the test's own to the database at u.
func rawConn(t testing.TB, u string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// eventually polls cond every 10 ms until it holds or d has passed.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A forwarder relays TCP connections from a local port to PostgreSQL, and
// can cut them all or stall them, to play a network outage.
type forwarder struct {
	t      testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]bool
	gate  chan struct{} // closed while traffic flows
}

// newForwarder starts a forwarder to the host and port of u and returns it
// with u pointing at it.
func newForwarder(t testing.TB, u string) (*forwarder, string) {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{t: t, target: parsed.Host, conns: map[net.Conn]bool{}}
	flowing := make(chan struct{})
	close(flowing)
	f.gate = flowing
	f.listen("127.0.0.1:0")
	t.Cleanup(f.cut)
	parsed.Host = f.addr
	return f, parsed.String()
}

func (f *forwarder) listen(addr string) {
	f.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.ln, f.addr = ln, ln.Addr().String()
	f.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.relay(c)
		}
	}()
}

func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	f.conns[c] = true
	return true
}

func (f *forwarder) relay(c net.Conn) {
	if !f.track(c) {
		c.Close()
		return
	}
	f.wait()
	s, err := net.Dial("tcp", f.target)
	if err != nil || !f.track(s) {
		c.Close()
		return
	}
	go f.copy(s, c)
	f.copy(c, s)
}

// copy copies from src to dst, holding what it read while stalled.
func (f *forwarder) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.wait()
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait returns once traffic flows.
func (f *forwarder) wait() {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	<-gate
}

// cut closes the listener and every connection: the server is gone.
func (f *forwarder) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln != nil {
		f.ln.Close()
		f.ln = nil
	}
	for c := range f.conns {
		c.Close()
	}
	f.conns = map[net.Conn]bool{}
}

// stall holds every byte in either direction and every new connection:
// the network is silent.
func (f *forwarder) stall() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = make(chan struct{})
}

// restore lets traffic flow again, listening again on the same port if
// the forwarder was cut.
func (f *forwarder) restore() {
	f.mu.Lock()
	gate, ln := f.gate, f.ln
	f.mu.Unlock()
	select {
	case <-gate:
	default:
		close(gate)
	}
	if ln == nil {
		f.listen(f.addr)
	}
}
