package ui

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// Dashboard is the home page: who is signed in, how long the access token
// and the session have left (counting down every second, and moving when
// the token is renewed), and, with audit:read, the figures of /api/stats
// with the chart of sign-ins.
type Dashboard struct {
	app.Compo
	Env *Env

	meAt      time.Time
	meErr     string
	session   *shared.Session // the session this browser uses
	sessionAt time.Time
	sessErr   string
	stats     *shared.Stats
	statsAt   time.Time
	statsErr  string

	now      time.Time // of the last tick
	tokenExp time.Time // of the held access token; zero when unreadable

	checking           bool
	checkMsg, checkErr string

	stopClock context.CancelFunc
	pageCtx
}

// OnMount starts the clock and loads the user, the current session and,
// when allowed, the statistics.
func (d *Dashboard) OnMount(ctx app.Context) {
	d.mounted(ctx)
	d.tick(time.Now())
	d.startClock(ctx)
	d.reload(ctx)
}

// OnNav gives the page its title and focus.
func (d *Dashboard) OnNav(ctx app.Context) { d.navigated(ctx, "Dashboard") }

// reload loads the user, the current session and, when allowed, the
// statistics.
func (d *Dashboard) reload(ctx app.Context) {
	ctx, env := d.live(ctx), d.Env
	loadMe(ctx, env, func(ctx app.Context, me *shared.User, at time.Time, err error) {
		if err != nil {
			d.meErr = Message(err)
			return
		}
		d.meAt = at
		if me.Role.Can(shared.PermAuditRead) {
			d.loadStats(ctx)
		}
	})
	load(ctx, env, "my-sessions", func(c context.Context) (*shared.Page[shared.Session], error) {
		return env.API.MySessions(c, 1, shared.MaxPerPage)
	}, func(ctx app.Context, p *shared.Page[shared.Session], at time.Time, err error) {
		if err != nil {
			d.sessErr = Message(err)
			return
		}
		d.sessErr, d.sessionAt, d.session = "", at, currentSession(p.Items)
		env.noteSession(d.session)
	})
}

// OnDismount stops the clock. go-app does not cancel a component's
// context when it is dismounted (the context is the whole app's), so the
// clock has its own.
func (d *Dashboard) OnDismount() {
	if d.stopClock != nil {
		d.stopClock()
		d.stopClock = nil
	}
}

// startClock ticks every second until the page is dismounted or the app
// stops.
func (d *Dashboard) startClock(ctx app.Context) {
	clock, stop := context.WithCancel(ctx)
	d.stopClock = stop
	ctx.Async(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-clock.Done():
				return
			case now := <-t.C:
				ctx.Dispatch(func(ctx app.Context) { d.tick(now) })
			}
		}
	})
}

// tick moves the clock to now and re-reads the held token, which the API
// client replaces whenever the server sends a fresh one.
func (d *Dashboard) tick(now time.Time) {
	d.now = now
	d.tokenExp, _ = client.TokenExpiry(d.Env.Tokens.Token())
}

func (d *Dashboard) loadStats(ctx app.Context) {
	ctx, env := d.live(ctx), d.Env
	load(ctx, env, "stats", env.API.Stats, func(ctx app.Context, s *shared.Stats, at time.Time, err error) {
		if err != nil {
			d.statsErr = Message(err)
			return
		}
		d.statsErr, d.stats, d.statsAt = "", s, at
	})
}

// check authenticates once, which also renews the token when it is old
// enough.
func (d *Dashboard) check(ctx app.Context, e app.Event) {
	if d.checking {
		return
	}
	d.checking, d.checkMsg, d.checkErr = true, "", ""
	before := d.tokenExp
	write(d.live(ctx), d.Env, d.Env.API.Check, func(ctx app.Context, err error) {
		d.checking = false
		d.tick(time.Now())
		switch {
		case errors.Is(err, ErrOffline):
			d.checkErr = "You are offline: the session can't be checked until the connection is back."
		case err != nil:
			d.checkErr = Message(err)
		case d.tokenExp.After(before):
			d.checkMsg = "The session is valid. The access token was renewed."
		default:
			d.checkMsg = "The session is valid."
		}
	})
}

// currentSession returns the session marked current, or nil.
func currentSession(ss []shared.Session) *shared.Session {
	for i := range ss {
		if ss[i].Current {
			return &ss[i]
		}
	}
	return nil
}

// Render draws the page.
func (d *Dashboard) Render() app.UI {
	return &Frame{Env: d.Env, Path: "/", Reload: d.reload, Content: []app.UI{
		pageTitle("Dashboard"),
		staleNote(oldest(d.meAt, d.sessionAt, d.statsAt)),
		d.whoAmI(),
		d.sessionCard(),
		slot(app.If(d.Env.Can(shared.PermAuditRead), d.statsCard)),
	}}
}

func (d *Dashboard) whoAmI() app.UI {
	var username, fullName, role string
	if me := d.Env.Me(); me != nil {
		username, fullName, role = me.Username, me.FullName, string(me.Role)
	}
	return app.Section().Class("card").Body(
		app.H2().Text("Signed in as"),
		errorNote(d.meErr),
		app.Dl().Class("facts").Body(
			app.Dt().Text("Username"), app.Dd().ID("me-username").Text(orDash(username)),
			app.Dt().Text("Full name"), app.Dd().ID("me-fullname").Text(orDash(fullName)),
			app.Dt().Text("Role"), app.Dd().ID("me-role").Text(orDash(role)),
		),
	)
}

func (d *Dashboard) sessionCard() app.UI {
	expiresIn, expiresAt, expired := "—", "—", false
	if !d.tokenExp.IsZero() {
		expiresIn = Countdown(d.tokenExp.Sub(d.now))
		expiresAt = d.tokenExp.Local().Format("15:04:05")
		expired = !d.now.Before(d.tokenExp)
	}
	sessionEnd, sessionLeft := "—", ""
	if d.session != nil {
		sessionEnd = when(d.session.ExpiresAt)
		sessionLeft = "in " + Countdown(d.session.ExpiresAt.Sub(d.now))
	}
	return app.Section().Class("card").Body(
		app.H2().Text("Session"),
		errorNote(d.sessErr),
		app.Dl().Class("facts").Body(
			app.Dt().Text("Access token expires in"),
			app.If(expired, func() app.UI {
				// Idle past the token's life: nothing is wrong yet.
				return app.Dd().ID("token-expired").Body(
					app.Text("Expired at "),
					app.Span().ID("token-expiry-at").Text(expiresAt),
					app.Text(". It renews on your next action, while the session lasts."),
				)
			}).Else(func() app.UI {
				return app.Dd().Body(
					app.Span().Class("countdown").ID("token-expiry").Text(expiresIn),
					app.Text(" at "),
					app.Span().ID("token-expiry-at").Text(expiresAt),
				)
			}),
			app.Dt().Text("Session ends"),
			app.Dd().Body(
				app.Span().ID("session-end").Text(sessionEnd),
				app.If(sessionLeft != "", func() app.UI {
					return app.Span().Class("muted").ID("session-left").Text(" (" + sessionLeft + ")")
				}),
			),
		),
		app.P().Class("muted").Text("Each request renews the access token, up to the session's end."),
		button("check-session", "btn small", map[bool]string{true: "Checking…", false: "Check session"}[d.checking], d.checking, d.check),
		successNote("check-message", d.checkMsg),
		errorNote(d.checkErr),
	)
}

func (d *Dashboard) statsCard() app.UI {
	return app.Section().Class("card").Body(
		app.H2().Text("Activity"),
		errorNote(d.statsErr),
		app.If(d.stats == nil && d.statsErr == "", func() app.UI {
			return app.P().Class("muted").Text("Loading…")
		}),
		app.If(d.stats != nil, func() app.UI {
			s := d.stats
			return app.Div().ID("stats").Body(
				app.Div().Class("stats").Body(
					stat("stat-active-sessions", "Active sessions", s.ActiveSessions),
					app.Range(shared.Roles).Slice(func(i int) app.UI {
						r := shared.Roles[i]
						return stat("stat-users-"+string(r), "Users: "+string(r), s.UsersByRole[r])
					}),
				),
				app.H3().Text("Sign-ins per hour, last 24 hours"),
				&SignInChart{Hours: s.SignIns},
			)
		}),
	)
}

// stat is one figure with its label.
func stat(id, label string, n int) app.UI {
	return app.Div().Class("stat").Body(
		app.Div().Class("stat-value").ID(id).Text(strconv.Itoa(n)),
		app.Div().Class("stat-label").Text(label),
	)
}
