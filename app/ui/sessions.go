package ui

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// Sessions lists the signed-in user's own sessions, each revocable
// (revoking the current one signs out), and, with sessions:read, every
// user's sessions, optionally only the active ones, with revoke and "sign
// out everywhere" (sessions:revoke), which asks first. The filter and the
// page of every user's sessions live in the address
// (/sessions?active=true&page=).
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
	confirmer
	pageCtx
}

// OnMount loads the own sessions and, when allowed, everyone's.
func (s *Sessions) OnMount(ctx app.Context) {
	s.mounted(ctx)
	s.apply(pageQuery(ctx))
	s.loadMine(ctx)
	loadMe(ctx, s.Env, func(ctx app.Context, me *shared.User, _ time.Time, err error) {
		if err == nil && me.Role.Can(shared.PermSessionsRead) {
			s.loadAll(ctx)
		}
	})
}

// OnNav follows the address: the filter or page chosen, or Back.
func (s *Sessions) OnNav(ctx app.Context) {
	s.navigated(ctx, "Sessions")
	if app.IsClient {
		s.follow(ctx, pageQuery(ctx))
	}
}

// follow shows the sessions an address's query asks for, if they are
// others.
func (s *Sessions) follow(ctx app.Context, q url.Values) {
	if !s.apply(q) {
		return
	}
	s.msg, s.err = "", ""
	if s.Env.Can(shared.PermSessionsRead) {
		s.loadAll(ctx)
	}
}

// apply takes the filter and page from a query, and reports whether they
// changed.
func (s *Sessions) apply(q url.Values) bool {
	active, page := q.Get("active") == "true", pageNumber(q)
	if active == s.activeOnly && page == s.page {
		return false
	}
	s.activeOnly, s.page = active, page
	return true
}

func (s *Sessions) address(active bool, page int) string {
	return listURL("/sessions", page, "active", map[bool]string{true: "true"}[active])
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
	navigate(ctx, s.address(ctx.JSSrc().Get("checked").Bool(), 1))
}

func (s *Sessions) goPage(ctx app.Context, page int) {
	scrollToTop()
	navigate(ctx, s.address(s.activeOnly, page))
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
// user is signed out here too (signsOut: the sign-in page's reason, "" for
// none).
func (s *Sessions) revoke(ctx app.Context, call func(context.Context) error, signsOut bool, reason, msg string) {
	s.msg, s.err = "", ""
	ctx, env := s.live(ctx), s.Env
	write(ctx, env, call, func(ctx app.Context, err error) {
		if err != nil {
			s.err = Message(err)
			return
		}
		if signsOut {
			env.Forget()
			ctx.Navigate(loginURL(reason, ""))
			return
		}
		s.msg = msg
		s.reload(ctx)
	})
}

func (s *Sessions) revokeMine(ctx app.Context, id string) {
	env := s.Env
	s.revoke(ctx, func(c context.Context) error { return env.API.RevokeMySession(c, id) },
		id == s.currentID(), "", "The session was revoked.")
}

func (s *Sessions) revokeAny(ctx app.Context, id string) {
	env := s.Env
	s.revoke(ctx, func(c context.Context) error { return env.API.RevokeSession(c, id) },
		id == s.currentID(), "", "The session was revoked.")
}

// revokeUser signs a user out everywhere, after asking: oneself included,
// which ends this session too.
func (s *Sessions) revokeUser(ctx app.Context, userID int64, username string) {
	env := s.Env
	me := env.Me()
	self := me != nil && me.ID == userID
	question, yes := fmt.Sprintf("Sign %s out everywhere? Every session of theirs ends at once.", username), "Sign out everywhere"
	if self {
		question = "Sign yourself out everywhere? Every session of yours ends, this one included: you will have to sign in again."
	}
	s.msg, s.err = "", ""
	s.confirm(question, yes, func(ctx app.Context) {
		s.revoke(ctx, func(c context.Context) error { return env.API.RevokeUserSessions(c, userID) },
			self, signedOutEverywhere, username+" was signed out everywhere.")
	})
}

// Render draws the page.
func (s *Sessions) Render() app.UI {
	return &Frame{Env: s.Env, Path: "/sessions", Reload: s.reload, Content: []app.UI{
		pageTitle("Sessions"),
		successNote("sessions-message", s.msg),
		errorNote(s.err),
		staleNote(oldest(s.mineAt, s.allAt)),
		app.Section().Class("card").Body(
			app.H2().Text("Your sessions"),
			errorNote(s.mineErr),
			s.mineTable(),
		),
		slot(app.If(s.Env.Can(shared.PermSessionsRead), s.allSection)),
		slot(s.confirmUI()),
	}}
}

func (s *Sessions) mineTable() app.UI {
	if s.mine == nil {
		return app.If(s.mineErr == "", func() app.UI { return app.P().Class("muted").Text("Loading…") })
	}
	items, now := s.mine.Items, time.Now()
	return app.Table().Class("table cards").ID("my-sessions").Body(
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
			app.Table().Class("table cards").ID("all-sessions").Body(
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
	col := func(s string) app.UI { return app.Th().Scope("col").Text(s) }
	return app.THead().Body(app.Tr().Body(
		app.If(withUser, func() app.UI { return col("User") }),
		col("Started"), col("Last seen"), col("Ends"), col("IP"), col("Browser"), col("Status"),
		app.Th().Scope("col").Class("col-actions").Body(app.Span().Class("visually-hidden").Text("Actions")),
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
		app.If(withUser, func() app.UI { return app.Th().Scope("row").Class("cell-title").Text(s.Username) }),
		app.Td().DataSet("label", "Started").Body(
			app.Span().Class("cell-date").Text(when(s.CreatedAt)),
			app.If(s.Current, func() app.UI { return app.Span().Class("badge current").Text("this browser") }),
		),
		app.Td().Class("cell-date").DataSet("label", "Last seen").Text(when(s.LastSeenAt)),
		app.Td().Class("cell-date").DataSet("label", "Ends").Text(when(s.ExpiresAt)),
		app.Td().DataSet("label", "IP").Text(orDash(s.IP)),
		app.Td().Class("user-agent").DataSet("label", "Browser").Title("%s", s.UserAgent).Text(shorten(s.UserAgent, 48)),
		app.Td().Class("cell-badge").Body(app.Span().Class(class).Text(status)),
		app.Td().Class("row-actions").Body(app.Div().Class("row-menu").Body(actions...)),
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
	shared.RevokedByManager:      "by a manager",
	shared.RevokedPasswordGuess:  "wrong current passwords",
	shared.RevokedPasswordChange: "password changed",
	shared.RevokedPasswordReset:  "password reset",
	shared.RevokedUserDisabled:   "user disabled",
	shared.RevokedUserDeleted:    "user deleted",
	shared.RevokedRefreshReuse:   "refresh token reused",
	shared.RevokedMFAReset:       "two-step verification reset",
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return orDash(s)
	}
	return string(r[:n-1]) + "…"
}
