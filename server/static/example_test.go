package static_test

import (
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"gatehouse/server/static"
)

// A web directory served under /web/: make build compresses app.wasm once
// (Compress), the server checks the copies at start (Open) and sends each
// client the smallest it accepts.
func Example() {
	dir, err := os.MkdirTemp("", "web")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	wasm := filepath.Join(dir, "app.wasm")
	if err := os.WriteFile(wasm, []byte("\x00asm\x01\x00\x00\x00 a program, a program, a program"), 0o644); err != nil {
		log.Fatal(err)
	}

	// At build time.
	if _, err := static.Compress(wasm); err != nil {
		log.Fatal(err)
	}

	// At start.
	web, err := static.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("served in", web.Wasm().Encodings, "and identity")
	handler := http.StripPrefix("/web", web)

	for _, accept := range []string{"gzip, deflate, br, zstd", "gzip, deflate", ""} {
		req := httptest.NewRequest(http.MethodGet, "/web/app.wasm", nil)
		req.Header.Set("Accept-Encoding", accept)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Printf("%q: %d, Content-Encoding %q, Vary %s\n", accept, rec.Code, rec.Header().Get("Content-Encoding"), rec.Header().Get("Vary"))
	}
	// Output:
	// served in [br gzip] and identity
	// "gzip, deflate, br, zstd": 200, Content-Encoding "br", Vary Accept-Encoding
	// "gzip, deflate": 200, Content-Encoding "gzip", Vary Accept-Encoding
	// "": 200, Content-Encoding "", Vary Accept-Encoding
}
