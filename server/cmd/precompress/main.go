// Command precompress writes the brotli and gzip copies of the PWA's
// WebAssembly program that the server sends to browsers:
//
//	go run ./server/cmd/precompress web/app.wasm
//
// writes web/app.wasm.br and web/app.wasm.gz, each as small as its format
// makes it (brotli quality 11 takes most of a minute). A copy that already
// holds exactly the given file is kept, so rebuilding an unchanged
// app.wasm costs a hash and two decompressions (see static.Compress).
// make build runs it after building the wasm; it needs nothing but Go.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gatehouse/server/static"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "precompress:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: precompress FILE... (e.g. web/app.wasm)")
	}
	for _, path := range args {
		raw, err := os.Stat(path)
		if err != nil {
			return err
		}
		results, err := static.Compress(path)
		for _, r := range results {
			if r.Size == 0 {
				continue // failed: the error says why
			}
			how := fmt.Sprintf("compressed in %v", r.Took.Round(100*time.Millisecond))
			if r.Reused {
				how = "up to date, kept"
			}
			fmt.Fprintf(stdout, "%s: %d bytes, %.1f %% of %d (%s)\n", r.Path, r.Size, 100*float64(r.Size)/float64(raw.Size()), raw.Size(), how)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
