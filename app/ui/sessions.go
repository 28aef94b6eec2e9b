package ui

import (
	"context"
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// Sessions lists the signed-in user's own sessions, each revocable
// (revoking the current one signs out), and, with sessions:read, every
// user's sessions, optionally only the active ones, with revoke and "sign
// out everywhere" (sessions:revoke).
type Sessions struct {
	app.Compo
	Env *Env

	mine    *shared.Page[shared.Session]
	mineAt  time.Time
	mineErr string

	all        *shared.Page[shared.Session]
	allAt      time.Time
	allErr     string
	activeOnly bool
	page       int

	msg, err string // outcome of the last revocation
	pageCtx
}

// OnMount loads the own sessions and, when allowed, everyone's.
func (s *Sessions) OnMount(ctx app.Context) {
	s.mounted(ctx)
	s.page = 1
	s.loadMine(ctx)
	loadMe(ctx, s.Env, func(ctx app.Context, me *shared.User, _ time.Time, err error) {
		if err == nil && me.Role.Can(shared.PermSessionsRead) {
			s.loadAll(ctx)
		}
	})
}

func (s *Sessions) loadMine(ctx app.Context) {
	ctx, env := s.live(ctx), s.Env
	load(ctx, env, "my-sessions", func(c context.Context) (*shared.Page[shared.Session], error) {
		return env.API.MySessions(c, 1, shared.MaxPerPage)
	}, func(ctx app.Context, p *shared.Page[shared.Session], at time.Time, err error) {
		if err != nil {
			s.mineErr = Message(err)
			return
		}
		s.mineErr, s.mine, s.mineAt = "", p, at
	})
}

func (s *Sessions) loadAll(ctx app.Context) {
	ctx = s.live(ctx)
	env, active, page := s.Env, s.activeOnly, max(s.page, 1)
	q := client.SessionQuery{Page: page, PerPage: shared.DefaultPerPage}
	if active {
		q.Active = &active
	}
	load(ctx, env, fmt.Sprintf("sessions?active=%t&page=%d", active, page), func(c context.Context) (*shared.Page[shared.Session], error) {
		return env.API.Sessions(c, q)
	}, func(ctx app.Context, p *shared.Page[shared.Session], at time.Time, err error) {
		if active != s.activeOnly || page != s.page {
			return // the reader has moved on; another load is under way
		}
		if err != nil {
			s.allErr = Message(err)
			return
		}
		s.allErr, s.all, s.allAt = "", p, at
		if last, past := pastEnd(page, p.PerPage, p.Total, len(p.Items)); past {
			s.page = last
			s.loadAll(ctx)
		}
	})
}

func (s *Sessions) reload(ctx app.Context) {
	s.loadMine(ctx)
	if s.Env.Can(shared.PermSessionsRead) {
		s.loadAll(ctx)
	}
}

func (s *Sessions) setActiveOnly(ctx app.Context, e app.Event) {
	s.activeOnly = ctx.JSSrc().Get("checked").Bool()
	s.page = 1
	s.loadAll(ctx)
}

func (s *Sessions) goPage(ctx app.Context, page int) {
	s.page = page
	s.loadAll(ctx)
}

// currentID is the id of the session this browser uses, "" while unknown.
func (s *Sessions) currentID() string {
	if s.mine != nil {
		if c := currentSession(s.mine.Items); c != nil {
			return c.ID
		}
	}
	return ""
}

// revoke ends a session through call; when it was this browser's own, the
// user is signed out here too.
func (s *Sessions) revoke(ctx app.Context, call func(context.Context) error, signsOut bool, msg string) {
	s.msg, s.err = "", ""
	ctx, env := s.live(ctx), s.Env
	write(ctx, env, call, func(ctx app.Context, err error) {
		if err != nil {
			s.err = Message(err)
			return
		}
		if signsOut {
			env.Forget()
			ctx.Navigate("/login")
			return
		}
		s.msg = msg
		s.reload(ctx)
	})
}

func (s *Sessions) revokeMine(ctx app.Context, id string) {
	env := s.Env
	s.revoke(ctx, func(c context.Context) error { return env.API.RevokeMySession(c, id) },
		id == s.currentID(), "The session was revoked.")
}

func (s *Sessions) revokeAny(ctx app.Context, id string) {
	env := s.Env
	s.revoke(ctx, func(c context.Context) error { return env.API.RevokeSession(c, id) },
		id == s.currentID(), "The session was revoked.")
}

func (s *Sessions) revokeUser(ctx app.Context, userID int64, username string) {
	env := s.Env
	me := env.Me()
	s.revoke(ctx, func(c context.Context) error { return env.API.RevokeUserSessions(c, userID) },
		me != nil && me.ID == userID, username+" was signed out everywhere.")
}

// Render draws the page.
func (s *Sessions) Render() app.UI {
	return &Frame{Env: s.Env, Path: "/sessions", Content: []app.UI{
		app.H1().Text("Sessions"),
		successNote("sessions-message", s.msg),
		errorNote(s.err),
		staleNote(oldest(s.mineAt, s.allAt)),
		app.Section().Class("card").Body(
			app.H2().Text("Your sessions"),
			errorNote(s.mineErr),
			s.mineTable(),
		),
		app.If(s.Env.Can(shared.PermSessionsRead), s.allSection),
	}}
}

func (s *Sessions) mineTable() app.UI {
	if s.mine == nil {
		return app.If(s.mineErr == "", func() app.UI { return app.P().Class("muted").Text("Loading…") })
	}
	items, now := s.mine.Items, time.Now()
	return app.Table().Class("table").ID("my-sessions").Body(
		sessionHead(false),
		app.TBody().Body(app.Range(items).Slice(func(i int) app.UI {
			it := items[i]
			id := it.ID
			return sessionRow(it, false, now, app.If(it.Active(now), func() app.UI {
				label := "Revoke"
				if it.Current {
					label = "Sign out"
				}
				return button("", "btn small danger revoke-session", label, false,
					func(ctx app.Context, e app.Event) { s.revokeMine(ctx, id) }, "mine", id)
			}))
		})),
	)
}

func (s *Sessions) allSection() app.UI {
	canRevoke := s.Env.Can(shared.PermSessionsRevoke)
	var table app.UI = app.If(s.allErr == "", func() app.UI { return app.P().Class("muted").Text("Loading…") })
	if s.all != nil {
		items, now := s.all.Items, time.Now()
		table = app.Div().Body(
			app.Table().Class("table").ID("all-sessions").Body(
				sessionHead(true),
				app.TBody().Body(app.Range(items).Slice(func(i int) app.UI {
					it := items[i]
					id, uid, name := it.ID, it.UserID, it.Username
					if !canRevoke {
						return sessionRow(it, true, now)
					}
					return sessionRow(it, true, now,
						app.If(it.Active(now), func() app.UI {
							return button("", "btn small danger revoke-session", "Revoke", false,
								func(ctx app.Context, e app.Event) { s.revokeAny(ctx, id) }, "any", id)
						}),
						button("", "btn small revoke-user-sessions", "Sign out everywhere", false,
							func(ctx app.Context, e app.Event) { s.revokeUser(ctx, uid, name) }, "user", id, uid),
					)
				})),
			),
			app.If(len(items) == 0, func() app.UI { return app.P().Class("muted").Text("No sessions.") }),
			&Pager{Page: s.page, PerPage: s.all.PerPage, Total: s.all.Total, OnPage: s.goPage},
		)
	}
	active := app.Input().Type("checkbox").ID("active-only").OnChange(s.setActiveOnly)
	if s.activeOnly {
		active = active.Checked(true)
	}
	return app.Section().Class("card").Body(
		app.H2().Text("All sessions"),
		app.Label().Class("checkbox").For("active-only").Body(active, app.Text(" Active only")),
		errorNote(s.allErr),
		table,
	)
}

func sessionHead(withUser bool) app.UI {
	return app.THead().Body(app.Tr().Body(
		app.If(withUser, func() app.UI { return app.Th().Text("User") }),
		app.Th().Text("Started"), app.Th().Text("Last seen"), app.Th().Text("Ends"),
		app.Th().Text("IP"), app.Th().Text("Browser"), app.Th().Text("Status"), app.Th().Text(""),
	))
}

// sessionRow draws one session; actions go in the last cell.
func sessionRow(s shared.Session, withUser bool, now time.Time, actions ...app.UI) app.UI {
	status, class := sessionStatus(s, now)
	cls := "session"
	if s.Current {
		cls += " current"
	}
	return app.Tr().Class(cls).DataSet("session-id", s.ID).Body(
		app.If(withUser, func() app.UI { return app.Td().Text(s.Username) }),
		app.Td().Body(
			app.Text(when(s.CreatedAt)),
			app.If(s.Current, func() app.UI { return app.Span().Class("badge current").Text("this browser") }),
		),
		app.Td().Text(when(s.LastSeenAt)),
		app.Td().Text(when(s.ExpiresAt)),
		app.Td().Text(orDash(s.IP)),
		app.Td().Class("user-agent").Title("%s", s.UserAgent).Text(shorten(s.UserAgent, 48)),
		app.Td().Body(app.Span().Class(class).Text(status)),
		app.Td().Class("actions").Body(actions...),
	)
}

// sessionStatus says whether s is active, revoked (and why) or expired,
// with a class for it.
func sessionStatus(s shared.Session, now time.Time) (text, class string) {
	switch {
	case s.RevokedAt != nil:
		if why, ok := revokedReasons[s.RevokedReason]; ok {
			return "revoked: " + why, "status revoked"
		}
		if s.RevokedReason != "" {
			return "revoked: " + s.RevokedReason, "status revoked"
		}
		return "revoked", "status revoked"
	case !now.Before(s.ExpiresAt):
		return "expired", "status expired"
	}
	return "active", "status active"
}

// revokedReasons puts the reasons a session ended into words.
var revokedReasons = map[string]string{
	shared.RevokedLogout:         "signed out",
	shared.RevokedByUser:         "by the user",
	shared.RevokedByAdmin:        "by an administrator",
	shared.RevokedPasswordChange: "password changed",
	shared.RevokedPasswordReset:  "password reset",
	shared.RevokedUserDisabled:   "user disabled",
	shared.RevokedUserDeleted:    "user deleted",
	shared.RevokedRefreshReuse:   "refresh token reused",
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return orDash(s)
	}
	return string(r[:n-1]) + "…"
}
