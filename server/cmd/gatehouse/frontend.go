package main

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/ui"
	"gatehouse/server/config"
	"gatehouse/server/static"
)

// newFrontend returns the handler of the PWA: go-app's page, manifest and
// service worker handler, with /web/ served by server/static from
// cfg.WebDir (app.wasm precompressed).
//
// go-app's Handler is set up here rather than in server/static because it
// registers and prerenders the pages of app/ui: only the command imports
// app/ (see the README's Layout), and server/static stays a plain
// http.Handler over a directory, tested without go-app.
func newFrontend(cfg *config.Config, log *slog.Logger) (http.Handler, error) {
	dir, err := static.Open(cfg.WebDir, log)
	if err != nil {
		return nil, err
	}
	wasm := dir.Wasm()
	ui.Routes(ui.NewEnv(cfg.APIURL))
	h := &app.Handler{
		Name:        "Gatehouse",
		ShortName:   "Gatehouse",
		Title:       "Gatehouse",
		Description: "Administer users, sessions and the audit log.",
		Lang:        "en",
		Icon: app.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-512.png",
			SVG:      "/web/icon.svg",
		},
		BackgroundColor: "#f6f7f9",
		ThemeColor:      "#1f3a5f",
		LoadingLabel:    "Loading Gatehouse… {progress}%",
		Styles:          []string{"/web/app.css"},
		// Every page path, so that a deep link reloads offline, and the
		// SVG icon the pages link to (go-app caches only the PNG ones).
		CacheableResources: append(slices.Clone(ui.Paths), "/web/icon.svg"),
		// The sign-in form's helper before the wasm runs (web/early.js).
		Scripts:               []string{"/web/early.js defer"},
		ServiceWorkerTemplate: workerWithPageFallback(app.DefaultAppWorkerJS),
		// The version changes with the server build and with app.wasm, so
		// clients are told about an update exactly when there is one.
		Version: Version() + "-" + wasm.Hash,
		// The uncompressed size: the loader's progress counts decoded bytes.
		WasmContentLength: strconv.FormatInt(wasm.Size, 10),
		Env:               map[string]string{"GATEHOUSE_API_URL": cfg.APIURL},
		Resources:         webResources{http.StripPrefix("/web", dir)},
	}
	return withOGURL(h, cfg.PublicURL), nil
}

// webResources are go-app's static resources: /web/ on this origin.
type webResources struct{ http.Handler }

// Resolve leaves paths as they are: /web/ is served from this origin.
func (webResources) Resolve(location string) string { return location }
