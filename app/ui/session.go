package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// The end of a session, as the pages meet it.
//
// A read that finds the session over sends the browser to the sign-in page,
// which says why (the reason the server gave, client.EndReason) and comes
// back to the page after signing in. A change (a form, a button) that finds
// it over asks for the password again in a dialog over the page instead
// (Reauth), keeping what was typed in memory, and then finishes the change.

// Reasons of the sign-in page's own, besides the server's.
const (
	// otherTab: another tab of this browser signed out.
	otherTab = "other_tab"
	// signedOutEverywhere: one signed oneself out everywhere.
	signedOutEverywhere = "signed_out_everywhere"
)

// sessionEnded reports whether err says that the session is over: the
// client was logged out (its refresh refused), or the account is disabled
// (403 inactive_user); and why.
func sessionEnded(err error) (reason string, ended bool) {
	if errors.Is(err, client.ErrLoggedOut) {
		return client.EndReason(err), true
	}
	var e *shared.Error
	if errors.As(err, &e) && e.Status == http.StatusForbidden && e.Code == shared.CodeInactiveUser {
		return shared.RevokedUserDisabled, true
	}
	return "", false
}

// canSignInAgain reports whether a session that ended for reason may be
// resumed by typing the password again.
func canSignInAgain(reason string) bool {
	return reason != shared.RevokedUserDisabled && reason != shared.RevokedUserDeleted
}

// endSession forgets the signed-in user and goes to the sign-in page, which
// says why (reason, "" for nothing to say) and comes back to the current
// page after signing in.
func endSession(ctx app.Context, env *Env, reason string) {
	env.Forget()
	if u := ctx.Page().URL(); u != nil && u.Path == "/login" {
		return // already there: a page's other loads found the same
	}
	ctx.Navigate(loginURL(reason, currentURI(ctx)))
}

// currentURI is the path and query of the page shown, "" on the sign-in
// page.
func currentURI(ctx app.Context) string {
	u := ctx.Page().URL()
	if u == nil || u.Path == "/login" {
		return ""
	}
	return u.RequestURI()
}

// loginURL is the sign-in page saying why the session ended and where to
// go after signing in.
func loginURL(reason, next string) string {
	v := url.Values{}
	if reason != "" {
		v.Set("ended", reason)
	}
	if next = localPath(next); next != "" && next != "/" {
		v.Set("next", next)
	}
	if len(v) == 0 {
		return "/login"
	}
	return "/login?" + v.Encode()
}

// localPath returns p when it is a path of this site (no scheme, no host,
// not protocol-relative), and "" otherwise: the sign-in page never sends
// anyone elsewhere.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, `\`) {
		return ""
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return p
}

// reauthRequest is a change held while the password is asked again.
type reauthRequest struct {
	reason string
	resume []func(app.Context) // each change, carried out on its page's context
	giveUp []func(app.Context)
}

// askAgain holds a change that found the session over (reason) until the
// password is typed again: then retry runs, on ctx (the page's own); or,
// when the person gives up, the session ends as for a read. A change that
// fails while the question is open joins it.
func askAgain(ctx app.Context, env *Env, reason string, retry func(app.Context)) {
	env.mu.Lock()
	r := env.reauth
	if r == nil {
		r = &reauthRequest{reason: reason}
		env.reauth = r
	}
	r.resume = append(r.resume, func(app.Context) { retry(ctx) })
	r.giveUp = append(r.giveUp, func(app.Context) { endSession(ctx, env, reason) })
	env.mu.Unlock()
}

// noteEnd remembers why the session ended, found by a check that did not
// act on it, until the page acts on it (endedBefore).
func (e *Env) noteEnd(reason string) {
	e.mu.Lock()
	e.ended = reason
	e.mu.Unlock()
}

// endedBefore returns why the session ended as noted by noteEnd, or "".
func (e *Env) endedBefore() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ended
}

// reauthenticating returns the open question for the password, or nil.
func (e *Env) reauthenticating() *reauthRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reauth
}

// finishReauth closes the question: on success the held changes are
// carried out, otherwise the session ends.
func (e *Env) finishReauth(ctx app.Context, ok bool) {
	e.mu.Lock()
	r := e.reauth
	e.reauth = nil
	if ok {
		e.ended = "" // a new session
	}
	e.mu.Unlock()
	if r == nil {
		return
	}
	fs := r.giveUp
	if ok {
		fs = r.resume
	} else {
		fs = fs[:min(len(fs), 1)] // one navigation is enough
	}
	for _, f := range fs {
		f(ctx)
	}
}

// refreshMe loads who is signed in again — after a 403 insufficient_scope,
// or when the tab comes back into focus — and re-renders the page of ctx
// (its navigation and controls follow the role) when anything changed. A
// session found over is left to the page's next read or change: this
// check runs in the background, maybe under a form being filled in, and
// must not take the page away.
func refreshMe(ctx app.Context, env *Env) {
	if !env.SignedIn() || !env.Online() {
		return
	}
	ctx.Async(func() {
		me, err := env.API.Me(context.Background())
		ctx.Dispatch(func(ctx app.Context) {
			if reason, ended := sessionEnded(err); ended {
				env.noteEnd(reason) // for the page's next read or change to say
				return
			}
			if err != nil {
				return
			}
			env.Cache.Put("me", me)
			env.SetMe(me) // the dispatch re-renders the page with it
		})
	})
}
