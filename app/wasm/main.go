// Command wasm is the Gatehouse frontend as it runs in the browser: built
// with GOOS=js GOARCH=wasm into web/app.wasm, which the server serves.
package main

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/ui"
)

func main() {
	ui.Routes(ui.NewEnv(app.Getenv("GATEHOUSE_API_URL")))
	app.RunWhenOnBrowser()
}
