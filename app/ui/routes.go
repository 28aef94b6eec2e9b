package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Paths lists the path of every page, so that the service worker can cache
// each one and a deep link reloads offline.
var Paths = []string{"/", "/login", "/users", "/sessions", "/audit", "/profile"}

// Routes registers every page with go-app. The server calls it to
// prerender pages; the WebAssembly program calls it to run them.
func Routes(env *Env) {
	app.Route("/", func() app.Composer { return &Dashboard{Env: env} })
	app.Route("/login", func() app.Composer { return &Login{Env: env} })
	app.Route("/users", func() app.Composer { return &Users{Env: env} })
	app.Route("/sessions", func() app.Composer { return &Sessions{Env: env} })
	app.Route("/audit", func() app.Composer { return &Audit{Env: env} })
	app.Route("/profile", func() app.Composer { return &Profile{Env: env} })
}
