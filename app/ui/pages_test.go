package ui

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Every page is prerendered on the server, where nobody is signed in and
// OnMount never runs: it must render and mount from its zero state.
func TestPagesPrerenderSignedOut(t *testing.T) {
	env := NewEnv("http://127.0.0.1:1")
	pages := map[string]app.Composer{
		"/": &Dashboard{Env: env}, "/users": &Users{Env: env}, "/sessions": &Sessions{Env: env},
		"/audit": &Audit{Env: env}, "/profile": &Profile{Env: env},
	}
	for path, p := range pages {
		t.Run(path, func(t *testing.T) {
			eng := app.NewTestEngine()
			if err := eng.Load(p); err != nil {
				t.Fatalf("mount: %v", err)
			}
			eng.ConsumeAll()
			html := app.HTMLString(p)
			if !strings.Contains(html, `class="frame"`) {
				t.Errorf("%s is not drawn inside the Frame:\n%s", path, html)
			}
			if strings.Contains(html, `disabled="false"`) || strings.Contains(html, `checked="false"`) {
				t.Errorf("%s prerenders a false boolean attribute, which browsers read as true", path)
			}
		})
	}
}
