// Package proxy tells who sent a request and over which scheme when
// Gatehouse runs behind reverse proxies: X-Forwarded-For and
// X-Forwarded-Proto are believed only from peers in a configured list of
// networks, never from anyone else.
package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Trusted lists the networks whose peers are trusted reverse proxies. The
// zero value (and nil) trusts nobody: the client is the peer.
type Trusted struct {
	nets []netip.Prefix
}

// Parse reads a comma-separated list of CIDRs or single addresses, such
// as "10.0.0.0/8, 192.0.2.7, ::1".
func Parse(list string) (*Trusted, error) {
	t := &Trusted{}
	for f := range strings.SplitSeq(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			t.nets = append(t.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		t.nets = append(t.nets, p.Masked())
	}
	return t, nil
}

// trusts reports whether a is a trusted proxy.
func (t *Trusted) trusts(a netip.Addr) bool {
	if t == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range t.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peer returns the address of the connection's other end.
func peer(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// ClientIP returns the address of the client that sent r. When the peer is
// a trusted proxy, X-Forwarded-For is read from the right: each hop that is
// itself a trusted proxy is skipped, and the first one that is not is the
// client (hops further left were written by the client and prove
// nothing). Without trust, or without a usable header, it is the peer.
func (t *Trusted) ClientIP(r *http.Request) string {
	p := peer(r)
	if !t.trusts(p) {
		return addrString(p, r.RemoteAddr)
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	client := p
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // garbage from here leftwards: the last trusted hop's peer is all we know
		}
		client = a.Unmap()
		if !t.trusts(client) {
			break
		}
	}
	return client.String()
}

func addrString(a netip.Addr, raw string) string {
	if !a.IsValid() {
		return raw
	}
	return a.String()
}

// forwardedFor splits X-Forwarded-For header lines into hops, left to
// right, dropping brackets and ports some proxies add.
func forwardedFor(lines []string) []string {
	var hops []string
	for _, l := range lines {
		for h := range strings.SplitSeq(l, ",") {
			h = strings.TrimSpace(h)
			if host, _, err := net.SplitHostPort(h); err == nil {
				h = host
			}
			hops = append(hops, strings.Trim(h, "[]"))
		}
	}
	return hops
}

// Scheme returns "https" when r came over TLS, or when a trusted proxy
// says in X-Forwarded-Proto that the client used https; "http" otherwise.
func (t *Trusted) Scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if t.trusts(peer(r)) {
		// The proxy nearest to us appended last.
		v := r.Header.Values("X-Forwarded-Proto")
		if len(v) > 0 {
			parts := strings.Split(v[len(v)-1], ",")
			if strings.EqualFold(strings.TrimSpace(parts[len(parts)-1]), "https") {
				return "https"
			}
		}
	}
	return "http"
}

// Origin returns the origin the client addressed: the scheme as Scheme
// tells it and the Host header.
func (t *Trusted) Origin(r *http.Request) string {
	return t.Scheme(r) + "://" + strings.ToLower(r.Host)
}
