package ui

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// Env is what every page shares: the API client, the browser's token store
// and the cache of read views. It is made once per app start by NewEnv and
// handed to the pages by Routes.
type Env struct {
	API    *client.Client
	Tokens client.TokenStore
	Cache  *Cache
	// Online reports whether the browser believes it has a network.
	Online func() bool

	// stepUp asks for the password when a change needs a recent sign-in
	// (API.StepUp); the Frame's StepUp widget shows the question.
	stepUp *stepUps

	mu     sync.Mutex
	me     *shared.User   // the signed-in user, once known
	reauth *reauthRequest // the password asked again, while it is
	ended  string         // why the session ended, found in the background
	// sessionEnds is the absolute end of the session sessionID, once
	// known: the frame warns before it.
	sessionID   string
	sessionEnds time.Time
}

// NewEnv makes the environment of the running app. apiURL is the API's
// origin ("" for the origin the app was served from). In the browser
// tokens and cached data live in localStorage; elsewhere (prerendering,
// tests) in memory.
func NewEnv(apiURL string) *Env {
	var tokens client.TokenStore = &client.MemoryTokenStore{}
	store := Storage(newMemoryStorage())
	online := func() bool { return true }
	if app.IsClient {
		tokens = NewLocalTokenStore(TokenKey)
		store = localStorage{}
		online = func() bool { return app.Window().Get("navigator").Get("onLine").Bool() }
	}
	api := client.New(strings.TrimRight(apiURL, "/"), tokens)
	// The browser keeps the refresh token as the HttpOnly cookie only:
	// no page script, ours included, ever sees it.
	api.CookieDelivery = true
	env := &Env{
		API:    api,
		Tokens: tokens,
		Cache:  &Cache{store: store, now: time.Now},
		Online: online,
		stepUp: new(stepUps),
	}
	// A change that needs a recent sign-in asks for the password over the
	// page and is then sent again (see stepUps).
	api.StepUp = env.stepUp.wait
	return env
}

// Me returns the signed-in user as last loaded, or nil.
func (e *Env) Me() *shared.User {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.me
}

// SetMe records the signed-in user.
func (e *Env) SetMe(u *shared.User) {
	e.mu.Lock()
	e.me = u
	e.mu.Unlock()
}

// Can reports whether the signed-in user's role holds permission p.
func (e *Env) Can(p shared.Permission) bool {
	me := e.Me()
	return me != nil && me.Role.Can(p)
}

// SignedIn reports whether an access token is held.
func (e *Env) SignedIn() bool { return e.Tokens.Token() != "" }

// SessionEnds returns the absolute end of the session whose token is held,
// or the zero time while it is unknown.
func (e *Env) SessionEnds() time.Time {
	sid := client.TokenSession(e.Tokens.Token())
	e.mu.Lock()
	defer e.mu.Unlock()
	if sid == "" || sid != e.sessionID {
		return time.Time{}
	}
	return e.sessionEnds
}

// noteSession records the end of a session of the signed-in user.
func (e *Env) noteSession(s *shared.Session) {
	if s == nil {
		return
	}
	e.mu.Lock()
	e.sessionID, e.sessionEnds = s.ID, s.ExpiresAt
	e.mu.Unlock()
}

// ErrOffline is returned by Write when the browser has no network: writes
// are refused rather than queued.
var ErrOffline = errors.New("you are offline: changes cannot be saved until the connection is back")

// Write runs a call that changes something, refusing it when offline.
func (e *Env) Write(f func() error) error {
	if !e.Online() {
		return ErrOffline
	}
	return f()
}

// Forget drops everything this browser holds of the signed-in user: the
// token, the cached views and the profile; a change waiting for the
// password to be confirmed fails, and the note on recovery codes left
// goes. Logout calls it.
func (e *Env) Forget() {
	e.stepUp.cancel()
	e.stepUp.noteLeft(nil)
	e.Tokens.Clear()
	e.Cache.Clear()
	e.mu.Lock()
	e.me, e.reauth, e.ended, e.sessionID, e.sessionEnds = nil, nil, "", "", time.Time{}
	e.mu.Unlock()
}
