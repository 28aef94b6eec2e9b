package static

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestCompress(t *testing.T) {
	dir := webDir(t, map[string][]byte{"app.wasm": fakeWasm})
	wasm := filepath.Join(dir, "app.wasm")
	stat := func(t *testing.T, name string) os.FileInfo {
		t.Helper()
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	compress := func(t *testing.T) []Compressed {
		t.Helper()
		res, err := Compress(wasm)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 2 || res[0].Encoding != "br" || res[1].Encoding != "gzip" {
			t.Fatalf("Compress = %+v, want br then gzip", res)
		}
		return res
	}

	first := compress(t)
	t.Run("the first run writes both files, each holding app.wasm", func(t *testing.T) {
		for _, r := range first {
			if r.Reused {
				t.Errorf("%s: reused, but there was nothing to reuse", r.Path)
			}
			b, err := os.ReadFile(r.Path)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != r.Size || len(b) >= len(fakeWasm) {
				t.Errorf("%s: %d bytes, reported %d, app.wasm %d", r.Path, len(b), r.Size, len(fakeWasm))
			}
			if !bytes.Equal(decoded(t, r.Encoding, b), fakeWasm) {
				t.Errorf("%s does not decode to app.wasm", r.Path)
			}
		}
	})
	t.Run("the server serves both", func(t *testing.T) {
		if got := open(t, dir).Wasm().Encodings; !slices.Equal(got, []string{"br", "gzip"}) {
			t.Errorf("Encodings = %q", got)
		}
	})
	t.Run("nothing else is left in the directory", func(t *testing.T) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if want := []string{"app.wasm", "app.wasm.br", "app.wasm.gz"}; !slices.Equal(names, want) {
			t.Errorf("the directory holds %q, want %q", names, want)
		}
	})

	t.Run("an unchanged app.wasm is not compressed again, even rewritten", func(t *testing.T) {
		brBefore, gzBefore := stat(t, "app.wasm.br"), stat(t, "app.wasm.gz")
		writeFile(t, wasm, fakeWasm) // what go build does
		later := time.Now().Add(time.Hour)
		if err := os.Chtimes(wasm, later, later); err != nil {
			t.Fatal(err)
		}
		for _, r := range compress(t) {
			if !r.Reused || r.Took != 0 {
				t.Errorf("%s: Reused %v, Took %v; want it kept", r.Path, r.Reused, r.Took)
			}
		}
		if !sameFile(brBefore, stat(t, "app.wasm.br")) || !sameFile(gzBefore, stat(t, "app.wasm.gz")) {
			t.Error("a kept file was rewritten")
		}
	})

	t.Run("a changed app.wasm is compressed again", func(t *testing.T) {
		newer := append(bytes.Clone(fakeWasm), " and a new page"...)
		writeFile(t, wasm, newer)
		for _, r := range compress(t) {
			if r.Reused {
				t.Errorf("%s was kept for a changed app.wasm", r.Path)
			}
			b, err := os.ReadFile(r.Path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(decoded(t, r.Encoding, b), newer) {
				t.Errorf("%s does not hold the new app.wasm", r.Path)
			}
		}
	})

	t.Run("a damaged file is replaced, a sound one kept", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dir, "app.wasm.gz"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "app.wasm.gz"), b[:len(b)-3])
		res := compress(t)
		if !res[0].Reused || res[1].Reused {
			t.Errorf("br reused %v (want true), gzip reused %v (want false)", res[0].Reused, res[1].Reused)
		}
		if got := open(t, dir).Wasm().Encodings; !slices.Equal(got, []string{"br", "gzip"}) {
			t.Errorf("Encodings = %q after the repair", got)
		}
	})

	t.Run("the same app.wasm gives the same bytes", func(t *testing.T) {
		other := webDir(t, map[string][]byte{"app.wasm": fakeWasm})
		if _, err := Compress(filepath.Join(other, "app.wasm")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, wasm, fakeWasm)
		compress(t)
		for _, ext := range []string{".br", ".gz"} {
			a, _ := os.ReadFile(wasm + ext)
			b, _ := os.ReadFile(filepath.Join(other, "app.wasm"+ext))
			if !bytes.Equal(a, b) {
				t.Errorf("two compressions of app.wasm%s differ", ext)
			}
		}
	})

	t.Run("a missing app.wasm is an error", func(t *testing.T) {
		if _, err := Compress(filepath.Join(t.TempDir(), "app.wasm")); err == nil {
			t.Error("no error")
		}
	})
}

func TestDigest(t *testing.T) {
	raw := []byte("the raw bytes of a program")
	want, err := digestReader(bytes.NewReader(raw), identity)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range compressed {
		enc := map[string]func(testing.TB, []byte) []byte{"br": br, "gzip": gz}[c.name]
		full := enc(t, raw)
		tests := []struct {
			name      string
			file      []byte
			wantMatch bool
			wantErr   bool
		}{
			{"the raw bytes compressed match", full, true, false},
			{"other bytes compressed do not match", enc(t, []byte("older bytes")), false, false},
			{"a prefix compressed does not match", enc(t, raw[:5]), false, false},
			{"bytes that are not compressed are an error", raw, false, true},
			{"a truncated file is an error", full[:len(full)-3], false, true},
			{"nothing is an error", nil, false, true},
		}
		for _, tt := range tests {
			t.Run(c.name+": "+tt.name, func(t *testing.T) {
				got, err := digestReader(bytes.NewReader(tt.file), c)
				if (err != nil) != tt.wantErr {
					t.Fatalf("err = %v, want error %v", err, tt.wantErr)
				}
				if match := err == nil && got.sum == want.sum && got.size == want.size; match != tt.wantMatch {
					t.Errorf("match = %v, want %v", match, tt.wantMatch)
				}
			})
		}
	}
}
