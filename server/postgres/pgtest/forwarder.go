package pgtest

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// A Forwarder relays TCP connections from a local port to PostgreSQL, and
// can cut them all or stall them, to play a network outage.
type Forwarder struct {
	t      testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]bool
	gate  chan struct{} // closed while traffic flows
}

// NewForwarder starts a forwarder to the host and port of u and returns it
// with u pointing at it.
func NewForwarder(t testing.TB, u string) (*Forwarder, string) {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	f := &Forwarder{t: t, target: parsed.Host, conns: map[net.Conn]bool{}}
	flowing := make(chan struct{})
	close(flowing)
	f.gate = flowing
	f.listen("127.0.0.1:0")
	t.Cleanup(f.Cut)
	parsed.Host = f.addr
	return f, parsed.String()
}

func (f *Forwarder) listen(addr string) {
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

func (f *Forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	f.conns[c] = true
	return true
}

func (f *Forwarder) relay(c net.Conn) {
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
func (f *Forwarder) copy(dst, src net.Conn) {
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
func (f *Forwarder) wait() {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	<-gate
}

// Cut closes the listener and every connection: the server is gone.
func (f *Forwarder) Cut() {
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

// Stall holds every byte in either direction and every new connection:
// the network is silent.
func (f *Forwarder) Stall() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = make(chan struct{})
}

// Restore lets traffic flow again, listening again on the same port if
// the forwarder was cut.
func (f *Forwarder) Restore() {
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
