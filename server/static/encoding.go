package static

import (
	"compress/gzip"
	"io"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// coding is a content coding app.wasm can be served in.
type coding struct {
	name string // the Content-Encoding token; "" for identity
	ext  string // the suffix of its file beside app.wasm
	tag  string // the suffix of its ETag
	// decode reads what a file in this coding holds.
	decode func(io.Reader) (io.ReadCloser, error)
}

// token is the coding's name in Accept-Encoding.
func (c coding) token() string {
	if c.name == "" {
		return "identity"
	}
	return c.name
}

var (
	identity = coding{
		decode: func(r io.Reader) (io.ReadCloser, error) { return io.NopCloser(r), nil },
	}
	brCoding = coding{
		name: "br", ext: ".br", tag: "br",
		decode: func(r io.Reader) (io.ReadCloser, error) { return readCloser{brotli.NewReader(r)}, nil },
	}
	gzipCoding = coding{
		name: "gzip", ext: ".gz", tag: "gz",
		// A reader of every member, so that anything after the first
		// must be gzip too and counts towards the content compared.
		decode: func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) },
	}
)

// compressed are the codings of the files compressed ahead of time, in
// the order the server prefers them when the client weighs them equally:
// brotli is about a quarter smaller than gzip for app.wasm.
var compressed = []coding{brCoding, gzipCoding}

// readCloser gives a reader a Close that does nothing.
type readCloser struct{ io.Reader }

func (readCloser) Close() error { return nil }

// negotiate returns the variants the Accept-Encoding header value accepts,
// the client's favourite first (RFC 9110 §12.5.3): a coding is weighed by
// its own entry, else by "*"; q=0 refuses it; a malformed entry is
// ignored. Among equal weights the order of variants decides (brotli, then
// gzip, then identity). Identity is also acceptable when the header does
// not mention it (nor "*"), but only after every coding the client named:
// a client that lists "gzip;q=0.5" wants gzip rather than the raw file. An
// absent or empty header accepts identity alone. "x-gzip" is gzip.
func negotiate(header string, variants []variant) []variant {
	weights := map[string]float64{}
	for part := range strings.SplitSeq(header, ",") {
		name, q, ok := parseEntry(part)
		if !ok {
			continue
		}
		if name == "x-gzip" {
			name = "gzip"
		}
		if _, seen := weights[name]; !seen { // the first entry for a coding counts
			weights[name] = q
		}
	}
	weight := func(c coding) (q float64, named bool) {
		if q, ok := weights[c.token()]; ok {
			return q, true
		}
		if q, ok := weights["*"]; ok {
			return q, true
		}
		if c.name == "" {
			return 1, false // identity: acceptable unless refused
		}
		return 0, false
	}
	type candidate struct {
		v     variant
		q     float64
		named bool
	}
	var cands []candidate
	for _, v := range variants {
		if q, named := weight(v.coding); q > 0 {
			cands = append(cands, candidate{v, q, named})
		}
	}
	// A stable insertion sort: named before unnamed, then by weight; the
	// variants' order breaks ties. There are three at most.
	better := func(a, b candidate) bool {
		if a.named != b.named {
			return a.named
		}
		return a.q > b.q
	}
	for i := 1; i < len(cands); i++ {
		for j := i; j > 0 && better(cands[j], cands[j-1]); j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
	out := make([]variant, len(cands))
	for i, c := range cands {
		out[i] = c.v
	}
	return out
}

// parseEntry parses one element of Accept-Encoding: a coding, optionally
// followed by ";q=" and a weight between 0 and 1 (at most three decimals,
// per RFC 9110 §12.4.2). The coding is returned in lower case.
func parseEntry(part string) (name string, q float64, ok bool) {
	name, params, hasParams := strings.Cut(part, ";")
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || strings.ContainsAny(name, " \t") {
		return "", 0, false
	}
	if !hasParams {
		return name, 1, true
	}
	key, value, found := strings.Cut(strings.TrimSpace(params), "=")
	if !found || !strings.EqualFold(strings.TrimSpace(key), "q") {
		return "", 0, false
	}
	value = strings.TrimSpace(value)
	if !validQ(value) {
		return "", 0, false
	}
	q, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return "", 0, false
	}
	return name, q, true
}

// validQ reports whether s is a qvalue: "0" or "1", optionally followed by
// a dot and up to three digits, and never more than 1.
func validQ(s string) bool {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return false
	}
	rest := s[1:]
	if rest == "" {
		return true
	}
	if rest[0] != '.' || len(rest) > 4 {
		return false
	}
	for _, r := range rest[1:] {
		if r < '0' || r > '9' || (s[0] == '1' && r != '0') {
			return false
		}
	}
	return true
}
