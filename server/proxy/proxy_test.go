package proxy

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestClientIPAndScheme(t *testing.T) {
	trusted, err := Parse("10.0.0.0/8, 192.0.2.7, ::1, ::ffff:172.16.0.0/108")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted *Trusted
		peer    string
		xff     []string
		proto   []string
		tls     bool
		ip      string
		scheme  string
	}{
		{"no proxies configured: the peer, whatever the headers say", nil, "203.0.113.9:5000", []string{"198.51.100.1"}, []string{"https"}, false, "203.0.113.9", "http"},
		{"an untrusted peer's headers are ignored", trusted, "203.0.113.9:5000", []string{"198.51.100.1"}, []string{"https"}, false, "203.0.113.9", "http"},
		{"a trusted peer names the client", trusted, "10.1.2.3:5000", []string{"198.51.100.1"}, []string{"https"}, false, "198.51.100.1", "https"},
		{"the rightmost untrusted hop wins over what the client wrote", trusted, "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1"}, nil, false, "198.51.100.1", "http"},
		{"trusted hops are skipped from the right", trusted, "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1, 10.9.9.9", "192.0.2.7"}, nil, false, "198.51.100.1", "http"},
		{"a chain of only trusted hops ends at the leftmost", trusted, "10.1.2.3:5000", []string{"10.5.5.5, 10.6.6.6"}, nil, false, "10.5.5.5", "http"},
		{"garbage stops the walk at the last good hop", trusted, "10.1.2.3:5000", []string{"not-an-ip, 10.6.6.6"}, nil, false, "10.6.6.6", "http"},
		{"an empty header leaves the peer", trusted, "10.1.2.3:5000", nil, nil, false, "10.1.2.3", "http"},
		{"IPv6 loopback proxy with a bracketed port hop", trusted, "[::1]:5000", []string{"[2001:db8::5]:4711"}, nil, false, "2001:db8::5", "http"},
		{"an IPv4-mapped CIDR trusts the plain IPv4 peer", trusted, "172.16.0.9:1", []string{"198.51.100.2"}, nil, false, "198.51.100.2", "http"},
		{"the proxy nearest to us sets the scheme", trusted, "10.1.2.3:5000", nil, []string{"http", "https"}, false, "10.1.2.3", "https"},
		{"a client-written https before the proxy's http is not believed", trusted, "10.1.2.3:5000", nil, []string{"https, http"}, false, "10.1.2.3", "http"},
		{"TLS to us is https without any header", nil, "203.0.113.9:5000", nil, nil, true, "203.0.113.9", "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://gatehouse.example/api/x", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := tt.trusted.ClientIP(r); got != tt.ip {
				t.Errorf("ClientIP = %q, want %q", got, tt.ip)
			}
			if got := tt.trusted.Scheme(r); got != tt.scheme {
				t.Errorf("Scheme = %q, want %q", got, tt.scheme)
			}
			if got, want := tt.trusted.Origin(r), tt.scheme+"://gatehouse.example"; got != want {
				t.Errorf("Origin = %q, want %q", got, want)
			}
		})
	}
}

func TestParseRefusesGarbage(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0", "::1/129"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
	if tr, err := Parse(" , "); err != nil || len(tr.nets) != 0 {
		t.Errorf("an empty list: %v, %v", tr, err)
	}
}
