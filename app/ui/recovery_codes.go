package ui

import (
	"encoding/base64"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// recoveryCodes shows recovery codes the one time the server gives them
// (#recovery-codes), with Copy (the clipboard), Download (a text file, as
// a data: link with the download attribute: no script, nothing stored)
// and "I have saved them", which is the only way on. The codes live in
// memory only. A plain widget (widget.go) of twoStep and AccountSetup.
type recoveryCodes struct {
	codes    []string // nil: nothing to show
	username string   // whose codes, named in the file
	status   string   // what Copy did
}

// show puts codes on the page, the focus on their heading so that a
// screen reader starts there.
func (r *recoveryCodes) show(ctx app.Context, codes []string, username string) {
	*r = recoveryCodes{codes: codes, username: username}
	focusAfterRender(ctx, "recovery-codes-title")
}

// codesText is the codes as a text file.
func codesText(username string, codes []string) string {
	var b strings.Builder
	b.WriteString("Gatehouse recovery codes")
	if username != "" {
		b.WriteString(" for " + username)
	}
	b.WriteString("\n\nEach code signs you in once, instead of a code from your authenticator app.\n\n")
	for _, c := range codes {
		b.WriteString(c + "\n")
	}
	return b.String()
}

// codesHref is the data: URL of the codes' text file.
func codesHref(username string, codes []string) string {
	return "data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(codesText(username, codes)))
}

func (r *recoveryCodes) copy(ctx app.Context) {
	copyText(ctx, strings.Join(r.codes, "\n")+"\n", func(ctx app.Context, ok bool) {
		if ok {
			r.status = "The codes are copied. Paste them somewhere safe, such as a password manager."
		} else {
			r.status = "The browser did not allow copying. Select the codes and copy them, or download them."
		}
	})
}

// ui draws the codes and what to do with them; onSaved is called, on o's
// context, when the person says they are kept.
func (r *recoveryCodes) ui(o owner, onSaved func(app.Context)) app.UI {
	return app.Section().Class("recovery").ID("recovery-codes-panel").Aria("labelledby", "recovery-codes-title").Body(
		app.H3().ID("recovery-codes-title").TabIndex(-1).Text("Your recovery codes"),
		app.P().Text("If you lose your phone, each of these codes signs you in once instead of a code from the app. "+
			"Keep them somewhere safe, such as a password manager: they are shown only now."),
		app.Div().Class("codes").ID("recovery-codes").Attr("role", "list").Body(
			app.Range(r.codes).Slice(func(i int) app.UI {
				return app.Code().Attr("role", "listitem").Text(r.codes[i])
			}),
		),
		app.Div().Class("actions").Body(
			button("recovery-copy", "btn", "Copy", false, func(ctx app.Context, e app.Event) { r.copy(o.live(ctx)) }),
			app.A().Class("btn").ID("recovery-download").Href("%s", codesHref(r.username, r.codes)).
				Download("gatehouse-recovery-codes.txt").Text("Download"),
			button("recovery-saved", "btn primary", "I have saved them", false, func(ctx app.Context, e app.Event) {
				if onSaved != nil {
					onSaved(o.live(ctx))
				}
			}),
		),
		app.P().Class("muted small").ID("recovery-status").Attr("role", "status").Aria("live", "polite").Text(r.status),
	)
}

// copyText puts text on the clipboard (navigator.clipboard.writeText) and
// tells done, on the UI goroutine, whether it worked. Outside the browser,
// or where the clipboard is not offered (an insecure origin), it did not.
func copyText(ctx app.Context, text string, done func(ctx app.Context, ok bool)) {
	if !app.IsClient {
		done(ctx, false)
		return
	}
	clip := app.Window().Get("navigator").Get("clipboard")
	if !clip.Truthy() {
		done(ctx, false)
		return
	}
	var then, fail app.Func
	finish := func(ok bool) {
		ctx.Dispatch(func(ctx app.Context) {
			then.Release()
			fail.Release()
			done(ctx, ok)
		})
	}
	then = app.FuncOf(func(app.Value, []app.Value) any { finish(true); return nil })
	fail = app.FuncOf(func(app.Value, []app.Value) any { finish(false); return nil })
	clip.Call("writeText", text).Call("then", then, fail)
}
