package static

import (
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	all := []variant{{coding: brCoding}, {coding: gzipCoding}, {coding: identity}}
	noBrotli := []variant{{coding: gzipCoding}, {coding: identity}}
	rawOnly := []variant{{coding: identity}}
	tests := []struct {
		name     string
		header   string
		variants []variant // nil: all three
		want     string    // the codings accepted, best first, comma-separated; "" for none
	}{
		{name: "no header gets identity only", header: "", want: "identity"},
		{name: "gzip alone gets gzip, then identity", header: "gzip", want: "gzip, identity"},
		{name: "br alone gets br, then identity", header: "br", want: "br, identity"},
		{name: "a browser's list prefers br", header: "gzip, deflate, br, zstd", want: "br, gzip, identity"},
		{name: "equal weights are broken by the server's order", header: "gzip, br", want: "br, gzip, identity"},
		{name: "equal explicit weights too", header: "br;q=0.5, gzip;q=0.5", want: "br, gzip, identity"},
		{name: "br;q=0 refuses br", header: "br;q=0, gzip", want: "gzip, identity"},
		{name: "a higher weight wins over the server's order", header: "gzip;q=1, br;q=0.5", want: "gzip, br, identity"},
		{name: "a named coding comes before the unnamed identity whatever its weight", header: "gzip;q=0.5", want: "gzip, identity"},
		{name: "identity named with a higher weight comes first", header: "identity, br;q=0.9", want: "identity, br"},
		{name: "identity alone gets identity", header: "identity", want: "identity"},
		{name: "identity;q=0 refuses identity", header: "gzip, identity;q=0", want: "gzip"},
		{name: "identity;q=0 alone refuses everything", header: "identity;q=0", want: ""},
		{name: "* accepts every coding", header: "*", want: "br, gzip, identity"},
		{name: "*;q=0 refuses everything not named", header: "*;q=0", want: ""},
		{name: "*;q=0 with identity named accepts identity", header: "*;q=0, identity", want: "identity"},
		{name: "*;q=0 with br named accepts br only", header: "br, *;q=0", want: "br"},
		{name: "a named weight beats the * weight", header: "gzip;q=0, *", want: "br, identity"},
		{name: "x-gzip is gzip", header: "x-gzip", want: "gzip, identity"},
		{name: "codings are matched case-insensitively", header: "GZIP, Br", want: "br, gzip, identity"},
		{name: "Q is matched case-insensitively", header: "br;Q=0, gzip", want: "gzip, identity"},
		{name: "spaces around the coding and before the parameter are allowed", header: " deflate , gzip ;q=1.0", want: "gzip, identity"},
		{name: "spaces around = are allowed", header: "gzip; q = 0.8", want: "gzip, identity"},
		{name: "a space before q=0 still refuses", header: "gzip; q=0", want: "identity"},
		{name: "q=0.000 refuses", header: "gzip;q=0.000", want: "identity"},
		{name: "q=0.001 accepts", header: "gzip;q=0.001", want: "gzip, identity"},
		{name: "a malformed q is ignored", header: "gzip;q=high", want: "identity"},
		{name: "a q above 1 is ignored", header: "gzip;q=1.5", want: "identity"},
		{name: "a q with four decimals is ignored", header: "gzip;q=0.0001", want: "identity"},
		{name: "a parameter other than q is ignored", header: "gzip;level=9", want: "identity"},
		{name: "a coding merely containing gzip is not gzip", header: "gzipped, xbr", want: "identity"},
		{name: "empty elements are skipped", header: ",, gzip ,", want: "gzip, identity"},
		{name: "the first entry for a coding counts", header: "br;q=0, br", want: "identity"},
		{name: "a coding without its file is not offered", header: "br", variants: noBrotli, want: "identity"},
		{name: "gzip is offered when br is missing", header: "br, gzip", variants: noBrotli, want: "gzip, identity"},
		{name: "nothing is acceptable when identity is refused and the rest missing", header: "br, gzip, identity;q=0", variants: rawOnly, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			variants := tt.variants
			if variants == nil {
				variants = all
			}
			var got []string
			for _, v := range negotiate(tt.header, variants) {
				got = append(got, v.coding.token())
			}
			if g := strings.Join(got, ", "); g != tt.want {
				t.Errorf("negotiate(%q) = %q, want %q", tt.header, g, tt.want)
			}
		})
	}
}

func TestValidQ(t *testing.T) {
	valid := []string{"0", "1", "0.", "1.", "0.5", "0.05", "0.005", "1.0", "1.000", "0.999"}
	invalid := []string{"", "2", ".5", "0.0005", "1.001", "1.5", "-0", "0,5", "0.5x", "00.5", "high"}
	for _, s := range valid {
		if !validQ(s) {
			t.Errorf("validQ(%q) = false, want true", s)
		}
	}
	for _, s := range invalid {
		if validQ(s) {
			t.Errorf("validQ(%q) = true, want false", s)
		}
	}
}
