package static

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// wasmBudget is the most a brotli browser may download for app.wasm:
// 2.5 MB (decimal), as issue 8 set it. The first build measured against it
// weighed 2 425 570 bytes; with the MFA screens (issue 10) it would have
// passed it, and calling the browser's fetch directly instead of
// net/http's Transport (app/client/fetch_js.go) brought it far below.
const wasmBudget = 2_500_000

// The built app.wasm, as the server serves it to a brotli browser, stays
// within wasmBudget: a feature that makes it bigger fails this test
// instead of slowing every first visit unnoticed. It reads the web
// directory at the root of the repository, which make build fills (make
// test builds first); without an app.wasm it skips, saying so — unless run
// by make (GATEHOUSE_E2E_WEB set), which built one. An app.wasm without an up-to-date brotli
// file fails: the budget cannot be checked, and the server would send the
// larger gzip.
func TestBuiltWasmBudget(t *testing.T) {
	dir := filepath.Join("..", "..", "web")
	if _, err := os.Stat(filepath.Join(dir, WasmName)); err != nil {
		if os.Getenv("GATEHOUSE_E2E_WEB") != "" { // make built it: it must be there
			t.Fatalf("the wasm budget cannot be checked: %s is missing although make built the web directory: %v", filepath.Join(dir, WasmName), err)
		}
		t.Skipf("the wasm budget is not checked: %s is not built (make build, or make test, builds it): %v", filepath.Join(dir, WasmName), err)
	}
	d, err := Open(dir, discard)
	if err != nil {
		t.Fatal(err)
	}
	w := d.Wasm()
	if !slices.Contains(w.Encodings, "br") {
		t.Fatalf("%s has no brotli copy that holds it (app.wasm.br is missing or stale): run make build", filepath.Join(dir, WasmName))
	}
	sizes := map[string]int64{}
	for _, v := range d.variants {
		sizes[v.coding.token()] = v.info.Size()
	}
	t.Logf("app.wasm %s: %d bytes raw, %d gzip, %d brotli (%.1f %% of the budget of %d)",
		w.Hash, sizes["identity"], sizes["gzip"], sizes["br"], 100*float64(sizes["br"])/wasmBudget, wasmBudget)
	if sizes["br"] > wasmBudget {
		t.Errorf("app.wasm is served to a brotli browser in %d bytes, over the budget of %d by %d: "+
			"make it smaller (see the README's Delivery for what weighs most) before raising the budget",
			sizes["br"], wasmBudget, sizes["br"]-wasmBudget)
	}
}
