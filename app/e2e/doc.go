// Package e2e holds Gatehouse's end-to-end tests: they start the real
// gatehouse binary (bin/gatehouse serve) as a subprocess, open the
// WebAssembly frontend in a real headless Chromium driven through the
// DevTools protocol (github.com/chromedp/chromedp), and check what a person
// would see and what the API then holds.
//
// The package has no code of its own besides this comment; everything is in
// its _test.go files. It uses the API client of gatehouse/app/client to set
// up users and sessions, and never imports anything under gatehouse/server:
// the server is exercised only as a running program.
//
// Run the tests through make, which builds what they drive:
//
//	make e2e    # builds bin/gatehouse and web/app.wasm, then go test -v ./app/e2e/
//	make test   # everything, these tests included
//
// make sets GATEHOUSE_E2E_BIN (the gatehouse binary) and GATEHOUSE_E2E_WEB
// (the web directory with app.wasm). Without them, or without a chromium
// on PATH (make deps installs it), every test is skipped and says why —
// unless GATEHOUSE_E2E_REQUIRE=1, as in CI, which turns the skip into a
// failure. Each test leaves a full-page screenshot of the page it ended on
// in .screenshots/<TestName>.png at the repository root, pass or fail;
// TestAPIDocs also writes the README's picture of /api/docs,
// web/screenshots/api-docs.png.
//
// Browsers open at 1280×800; emulate_test.go makes a phone of them, a dark
// scheme, a link too slow for app.wasm (request interception) or a lost
// network. e2e_test.go and csp_test.go cover tokens, roles, offline use
// and the Content-Security-Policy; signin_test.go, pages_test.go and
// layout_test.go walk through the PWA as people use it (issue 9), the last
// saving every main page at 390 and 1280 px, light and dark, in
// .screenshots/screens/ (and, with GATEHOUSE_E2E_README_SHOTS=1, the
// README's pictures in web/screenshots/: make screenshots). mfa_test.go
// covers two-step verification (issue 10): setting it up from the
// profile, signing in with a code or a recovery code, and the accounts
// that must change a password or enrol first; its screens go to
// .screenshots/mfa/. stepup_test.go covers changes that need a recent
// sign-in: the password (and code) asked over the page, the change then
// saved, someone without their phone confirming with a recovery code and
// setting up a new one, and an admin resetting another user's second
// factor.
//
// The test files build only for the host (not js/wasm): they drive a
// browser, they do not run in one.
package e2e
