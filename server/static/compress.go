package static

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
)

// Compression settings of the files written by Compress: the smallest
// each format makes. Brotli at quality 11 takes most of a minute for
// app.wasm, which is why Compress keeps files that are still up to date.
const (
	brotliQuality = 11
	// brotliWindow is log2 of brotli's window: 16 MiB, the largest
	// standard one (the brotli tool's default). For app.wasm it gives 1 %
	// less than the library's default of 4 MiB (2 425 570 bytes against
	// 2 450 604); decoding it takes a browser a 16 MiB buffer, a small
	// thing beside compiling the program.
	brotliWindow = 24
	gzipLevel    = gzip.BestCompression
)

// encoders write each compressed coding.
var encoders = map[string]func(io.Writer) (io.WriteCloser, error){
	brCoding.name: func(w io.Writer) (io.WriteCloser, error) {
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotliQuality, LGWin: brotliWindow}), nil
	},
	gzipCoding.name: func(w io.Writer) (io.WriteCloser, error) {
		// No name and no time in the header, like gzip -n: the same
		// app.wasm always gives the same bytes.
		return gzip.NewWriterLevel(w, gzipLevel)
	},
}

// Compressed is what Compress did for one encoding.
type Compressed struct {
	Encoding string // the Content-Encoding, "br" or "gzip"
	Path     string // the file
	Size     int64  // its size
	// Reused is true when the file already held exactly the input and was
	// kept as it was.
	Reused bool
	Took   time.Duration // the time spent compressing (zero when reused)
}

// Compress writes path.br and path.gz beside the file at path (app.wasm),
// each compressed as small as its format allows, and returns what it did,
// brotli first.
//
// The files are cached by content: a file whose content is already exactly
// that of path — the SHA-256 of what it decompresses to is path's SHA-256,
// the very check Open makes before serving it — is kept as it is. So an
// unchanged app.wasm is never compressed again, however often it is
// rebuilt, and a file Compress keeps is one the server will serve. A file
// is replaced atomically (written beside, then renamed), so a server
// reading the directory never sees half of one. The encodings are
// compressed concurrently.
func Compress(path string) ([]Compressed, error) {
	raw, err := digestFile(path, identity)
	if err != nil {
		return nil, err
	}
	out := make([]Compressed, len(compressed))
	errs := make([]error, len(compressed))
	var wg sync.WaitGroup
	for i, c := range compressed {
		wg.Go(func() { out[i], errs[i] = compressOne(path, raw, c) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// compressOne brings path+c.ext up to date with the file at path, whose
// digest is raw.
func compressOne(path string, raw digest, c coding) (Compressed, error) {
	res := Compressed{Encoding: c.name, Path: path + c.ext}
	if got, err := digestFile(res.Path, c); err == nil && got.sum == raw.sum && got.size == raw.size {
		res.Size, res.Reused = got.info.Size(), true
		return res, nil
	}
	start := time.Now()
	in, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer in.Close()
	// A dotfile while it is written: the server never publishes one.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(res.Path)+".*")
	if err != nil {
		return res, err
	}
	defer os.Remove(tmp.Name()) // once renamed, there is nothing left to remove
	err = encode(tmp, in, c)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, fmt.Errorf("compress %s: %w", res.Path, err)
	}
	// What was written must hold what was read: app.wasm may have been
	// rebuilt meanwhile.
	got, err := digestFile(tmp.Name(), c)
	if err != nil {
		return res, fmt.Errorf("compress %s: %w", res.Path, err)
	}
	if got.sum != raw.sum || got.size != raw.size {
		return res, fmt.Errorf("compress %s: %s changed while it was compressed", res.Path, path)
	}
	if err := os.Rename(tmp.Name(), res.Path); err != nil {
		return res, err
	}
	res.Size, res.Took = got.info.Size(), time.Since(start)
	return res, nil
}

// encode writes what src holds to dst in the coding c.
func encode(dst io.Writer, src io.Reader, c coding) error {
	zw, err := encoders[c.name](dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(zw, src); err != nil {
		return err
	}
	return zw.Close()
}
