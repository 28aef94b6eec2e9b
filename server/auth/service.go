package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"gatehouse/server/cache"
	"gatehouse/server/seal"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// Config holds the lifetimes and limits of sessions and tokens.
type Config struct {
	AccessTTL    time.Duration // lifetime of an access token
	SlideAfter   time.Duration // age after which a request gets a fresh access token
	SessionMax   time.Duration // absolute lifetime of a session
	RefreshTTL   time.Duration // lifetime of a refresh token
	RefreshGrace time.Duration // how long the previous refresh token still works
	DeviceTTL    time.Duration // lifetime of a device token

	// Lockout applies to failed sign-ins per account from unknown devices,
	// per known device, and to wrong current passwords per session (whose
	// session ends at Lockout.Free failures). IPLockout applies per client
	// address to sign-ins from unknown devices.
	Lockout   Lockout
	IPLockout Lockout

	// Issuer names the server in authenticator apps (otpauth:// URIs).
	Issuer string
	// MFA says who must have a second factor; StepUpMaxAge how recent a
	// sign-in sensitive actions need; a sign-in with MFA has ChallengeTTL
	// and ChallengeAttempts to send its code.
	MFA               MFAPolicy
	StepUpMaxAge      time.Duration
	ChallengeTTL      time.Duration
	ChallengeAttempts int
}

// DefaultLockouts returns the lockouts of the design: free failures per
// account and device (the client address gets ten times as many), then 30
// s doubling to max, forgotten after four times max without a failure.
func DefaultLockouts(free int, max time.Duration) (account, ip Lockout) {
	account = Lockout{Free: free, Base: 30 * time.Second, Max: max, Forget: 4 * max}
	ip = account
	ip.Free = 10 * free
	return account, ip
}

// Meta describes where a request comes from, for sessions, throttling and
// the audit log.
type Meta struct {
	IP        string
	UserAgent string
	// Device is the device token the browser presented, if any.
	Device string
	// CookieOnly is true when the client asked for the refresh token as
	// the HttpOnly cookie only (token_delivery=cookie). A sign-in with a
	// second factor remembers it from its password step.
	CookieOnly bool
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID   int64
	Username string
	Role     shared.Role
	// User is the caller's account as the per-request check read it (from
	// the cache, so as fresh as the README states): who-am-I answers it
	// without another read.
	User      shared.User
	SessionID string
	// SessionExpires is the session's absolute expiry.
	SessionExpires time.Time
	// IssuedAt and ExpiresAt are those of the access token presented.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// AMR and AuthTime are the session's: how and when the user last
	// authenticated (at sign-in or re-authentication).
	AMR      []string
	AuthTime time.Time
}

// subject returns the principal as an access token's subject.
func (p *Principal) subject() Subject {
	return Subject{UserID: p.UserID, SessionID: p.SessionID, AMR: p.AMR, AuthTime: p.AuthTime}
}

// Can reports whether the principal's current role holds permission p.
func (p *Principal) Can(perm shared.Permission) bool { return p.Role.Can(perm) }

// Grant is what a successful sign-in or refresh hands out.
type Grant struct {
	// Issued is when the grant was made; the lifetimes count from it.
	Issued        time.Time
	AccessToken   string
	AccessExpires time.Time
	// RefreshToken is empty when a refresh inside the grace window was
	// answered without rotating.
	RefreshToken   string
	RefreshExpires time.Time
	// Device is a device token for the browser that signed in (sign-ins
	// only), valid until DeviceExpires.
	Device        string
	DeviceExpires time.Time
	SessionID     string
	UserID        int64
	// RecoveryCodesLeft is set after a sign-in with a recovery code.
	RecoveryCodesLeft *int
	// CookieOnly: the refresh token goes to the client only as the
	// HttpOnly cookie, as the sign-in asked at either of its steps.
	CookieOnly bool
}

// Service signs users in, refreshes and authenticates their tokens.
type Service struct {
	store     *cache.Store
	tokens    *Tokens
	passwords *Passwords
	data      *seal.Keys
	cfg       Config
	now       func() time.Time
	log       *slog.Logger
	slides    *slides
	seen      *seen
	counters  counters
}

// NewService wires a Service: data seals the second factors' secrets. now
// may be nil (time.Now).
func NewService(st *cache.Store, tokens *Tokens, passwords *Passwords, data *seal.Keys, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.ChallengeTTL <= 0 {
		cfg.ChallengeTTL = 5 * time.Minute
	}
	if cfg.ChallengeAttempts <= 0 {
		cfg.ChallengeAttempts = 5
	}
	if cfg.MFA == "" {
		cfg.MFA = MFAOptional
	}
	return &Service{
		store: st, tokens: tokens, passwords: passwords, data: data, cfg: cfg, now: now, log: log,
		slides: newSlides(65536), seen: newSeen(),
	}
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.now() }

// Tokens returns the access token issuer.
func (s *Service) Tokens() *Tokens { return s.tokens }

// Login checks a username and password and opens a session.
//
// The input is bounded first: a username that breaks the username rules
// (after trimming and folding to lower case) or a password over 72 bytes is
// refused with *RequestError before any hashing, throttling by account or
// auditing; it counts as a failure of the client address. Then the attempt
// is counted against its throttle keys — the device when m.Device is a
// device token of this account, else the account and the client address —
// before the password is checked, and refused with *ThrottledError while a
// key is locked. A password check that cannot start in time fails with
// *BusyError and costs nothing.
//
// It answers ErrBadCredentials for an unknown user and a wrong password
// alike (with the same bcrypt work), and ErrInactive for a disabled user
// with the right password.
func (s *Service) Login(ctx context.Context, username, password string, m Meta) (*Grant, error) {
	g, err := s.login(ctx, username, password, m)
	s.counters.countSignIn(err)
	return g, err
}

func (s *Service) login(ctx context.Context, username, password string, m Meta) (*Grant, error) {
	now := s.now()
	name := strings.ToLower(strings.TrimSpace(username))
	ip := key{"ip:" + m.IP, s.cfg.IPLockout}
	if msg := shared.ValidateUsername(name); msg != "" || password == "" || len(password) > shared.MaxPasswordLen {
		if err := s.throttle(ctx, []key{ip}, "", m.IP, now); err != nil {
			return nil, err
		}
		if msg != "" {
			return nil, &RequestError{Reason: "the username " + msg}
		}
		return nil, &RequestError{Reason: "the password must be 1 to 72 bytes"}
	}

	ring := s.tokens.Keys()
	keys := []key{{"user:" + name, s.cfg.Lockout}, ip}
	dev, known := checkDevice(ring, m.Device, name, now)
	if known {
		keys = []key{s.deviceKey(name, dev.device)}
	}
	if err := s.throttle(ctx, keys, name, m.IP, now); err != nil {
		return nil, err
	}
	giveBack := func() { s.release(ctx, keys, false) }

	u, err := s.store.UserByUsername(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := s.passwords.CheckNothing(ctx, password); err != nil {
			giveBack()
			return nil, err
		}
		return nil, s.failLogin(ctx, name, 0, m, "unknown user")
	case err != nil:
		giveBack()
		return nil, fmt.Errorf("login: %w", err)
	}
	ok, err := s.passwords.Check(ctx, u.PasswordHash, password)
	if err != nil {
		giveBack()
		return nil, err
	}
	if !ok {
		return nil, s.failLogin(ctx, name, u.ID, m, "wrong password")
	}

	device := newRandom(16)
	if known {
		device = dev.device
	}
	var (
		sess      *store.Session
		challenge *store.Challenge
		pwHash    string // the password the challenge is issued under
		outcome   error
	)
	err = s.store.Update(ctx, func(tx store.Tx) error {
		sess, challenge, pwHash, outcome = nil, nil, "", nil
		cur, err := tx.LockUser(ctx, u.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			outcome = ErrBadCredentials
		case err != nil:
			return err
		case cur.PasswordHash != u.PasswordHash:
			// The password changed while this one was checked: a session
			// opened now would outlive the change that revoked the others.
			outcome = ErrBadCredentials
		case cur.Disabled:
			outcome = ErrInactive
		}
		if outcome != nil {
			if err := release(ctx, tx, keys, false); err != nil { // the password was right
				return err
			}
			return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionLogin, IP: m.IP, Outcome: shared.OutcomeFailed, Detail: "user disabled or password changed"})
		}
		if cur.TOTP.Enabled() {
			// The password is right, and a code is due: the attempt's
			// failure is given back, and the account or device is cleared
			// only when every factor is in.
			if err := release(ctx, tx, keys, false); err != nil {
				return err
			}
			// The challenge carries the device token itself (Challenge.Device),
			// which the second step checks again: a known device's sign-in
			// ends by clearing that device, not the account's key that
			// unknown devices — a guesser — count against.
			challenge = &store.Challenge{ID: newRandom(16), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.ChallengeTTL), CookieOnly: m.CookieOnly}
			if known {
				challenge.Device = m.Device
			}
			pwHash = cur.PasswordHash
			if err := tx.CreateChallenge(ctx, challenge); err != nil {
				return err
			}
			return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionLogin, IP: m.IP, Outcome: shared.OutcomePending, Detail: "password right; a code is due"})
		}
		sess, err = s.open(ctx, tx, cur, []string{AMRPassword}, keys, m, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	switch {
	case outcome != nil:
		return nil, outcome
	case challenge != nil:
		return nil, &MFARequiredError{Token: mintChallenge(ring, challenge.ID, pwHash), ExpiresIn: s.cfg.ChallengeTTL}
	}
	return s.signedIn(sess, name, device, m.CookieOnly, now)
}

// AMR values (RFC 8176) of a session: a password, and a one-time code (a
// TOTP code or a recovery code).
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
)

// open creates the session of a sign-in that is complete — every factor
// in — in tx: it clears the throttle key of the account or device (the
// first of keys) and gives the others (the client address) their failure
// back, so that signing in to one's own account cannot reset the
// address's count of guesses at others; it audits the sign-in.
func (s *Service) open(ctx context.Context, tx store.Tx, u *store.User, amr []string, keys []key, m Meta, now time.Time) (*store.Session, error) {
	if len(keys) > 0 {
		if err := release(ctx, tx, keys[:1], true); err != nil {
			return nil, err
		}
		if err := release(ctx, tx, keys[1:], false); err != nil {
			return nil, err
		}
	}
	sess := &store.Session{
		ID: NewSessionID(), UserID: u.ID, Username: u.Username,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionMax),
		RefreshSalt: newRefreshSalt(), RotatedAt: now,
		UserAgent: truncate(m.UserAgent, 512), IP: m.IP,
		AMR: amr, AuthTime: now,
	}
	sess.RefreshExpiresAt = earliest(now.Add(s.cfg.RefreshTTL), sess.ExpiresAt)
	if err := tx.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	err := tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionLogin, Target: "session " + sess.ID, IP: m.IP, Outcome: shared.OutcomeOK, Detail: strings.Join(amr, "+")})
	return sess, err
}

// signedIn hands out what a complete sign-in earns: an access token, a
// refresh token (to be sent as the cookie only when cookieOnly), and a
// device token for the browser.
func (s *Service) signedIn(sess *store.Session, username, device string, cookieOnly bool, now time.Time) (*Grant, error) {
	ring := s.tokens.Keys()
	g, err := s.grant(sess, now)
	if err != nil {
		return nil, err
	}
	g.RefreshToken, g.RefreshExpires = mintRefresh(ring, sess.ID, sess.RefreshGen, sess.RefreshSalt), sess.RefreshExpiresAt
	g.DeviceExpires = now.Add(s.cfg.DeviceTTL)
	g.Device = mintDevice(ring, username, device, g.DeviceExpires)
	g.CookieOnly = cookieOnly
	return g, nil
}

// throttle counts an attempt against keys, or refuses it with
// *ThrottledError while one is locked; keys the attempt locks are audited
// with actor as the name tried.
func (s *Service) throttle(ctx context.Context, keys []key, actor, ip string, now time.Time) error {
	var wait time.Duration
	err := s.store.Update(ctx, func(tx store.Tx) error {
		var locked []key
		var err error
		wait, locked, err = reserve(ctx, tx, keys, now)
		if err != nil || wait > 0 {
			return err
		}
		return auditLockouts(ctx, tx, locked, actor, ip, now)
	})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// release gives back the failure counted against keys for an attempt that
// could not be made (see release), even when ctx has ended.
func (s *Service) release(ctx context.Context, keys []key, reset bool) {
	ctx = context.WithoutCancel(ctx)
	if err := s.store.Update(ctx, func(tx store.Tx) error { return release(ctx, tx, keys, reset) }); err != nil {
		s.log.ErrorContext(ctx, "throttle not released", "err", err)
	}
}

// failLogin audits a failed sign-in, whose failure the throttle has
// already counted, and returns ErrBadCredentials.
func (s *Service) failLogin(ctx context.Context, name string, uid int64, m Meta, detail string) error {
	s.audit(ctx, &shared.AuditEvent{ActorID: uid, Actor: name, Action: shared.ActionLogin, IP: m.IP, Outcome: shared.OutcomeFailed, Detail: detail})
	return ErrBadCredentials
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token (rotation), in one transaction with the session it names.
// The token of the generation just replaced, presented within the grace
// window, gets an access token without a new rotation. Any older generation,
// or the previous one after the grace, is reuse: someone holds a copy, so
// the session is revoked, the event audited and ErrBadRefresh returned. A
// token whose MAC does not verify is ErrBadRefresh and touches nothing, so
// nobody can revoke a session with a made-up token. ErrInactive when the
// user is disabled.
func (s *Service) Refresh(ctx context.Context, token string, m Meta) (*Grant, error) {
	if token == "" { // RFC 6749 §5.2: a missing parameter is invalid_request
		s.counters.refreshRefused.Add(1)
		return nil, &RequestError{Reason: "refresh_token is required (the form field, or the cookie)"}
	}
	rt, err := parseRefresh(token)
	if err != nil {
		s.counters.refreshRefused.Add(1)
		return nil, err
	}
	ring := s.tokens.Keys()
	now := s.now()
	var (
		g     *Grant
		reuse *store.Session
	)
	err = s.store.Update(ctx, func(tx store.Tx) error {
		g, reuse = nil, nil
		sess, err := tx.LockSession(ctx, rt.session)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: unknown session", ErrBadRefresh)
		}
		if err != nil {
			return err
		}
		if !rt.valid(ring, sess.RefreshSalt) {
			return fmt.Errorf("%w: not issued by this server", ErrBadRefresh)
		}
		if why := SessionEnd(sess, now); why != "" {
			return ended(why, fmt.Errorf("%w: session ended", ErrBadRefresh))
		}
		u, err := tx.UserByID(ctx, sess.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return ended(shared.RevokedUserDeleted, fmt.Errorf("%w: user gone", ErrBadRefresh))
		}
		if err != nil {
			return err
		}
		if u.Disabled {
			return ErrInactive
		}
		switch {
		case rt.gen == sess.RefreshGen:
			if !now.Before(sess.RefreshExpiresAt) {
				return ended(shared.EndedSessionExpired, fmt.Errorf("%w: expired", ErrBadRefresh))
			}
			sess.RefreshGen++
			sess.RotatedAt, sess.LastSeenAt = now, now
			sess.RefreshExpiresAt = earliest(now.Add(s.cfg.RefreshTTL), sess.ExpiresAt)
			if err := tx.SaveSession(ctx, sess); err != nil {
				return err
			}
			if g, err = s.grant(sess, now); err != nil {
				return err
			}
			g.RefreshToken = mintRefresh(ring, sess.ID, sess.RefreshGen, sess.RefreshSalt)
		case rt.gen == sess.RefreshGen-1 && now.Sub(sess.RotatedAt) <= s.cfg.RefreshGrace:
			g, err = s.grant(sess, now)
			return err
		case rt.gen < sess.RefreshGen:
			sess.RevokedAt, sess.RevokedReason = &now, shared.RevokedRefreshReuse
			if err := tx.SaveSession(ctx, sess); err != nil {
				return err
			}
			reuse = sess
			return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: sess.UserID, Actor: sess.Username, Action: shared.ActionRefreshReuse, Target: "session " + sess.ID, IP: m.IP, Outcome: shared.OutcomeDenied,
				Detail: fmt.Sprintf("generation %d presented after %d; session revoked", rt.gen, sess.RefreshGen)})
		default:
			return fmt.Errorf("%w: generation from the future", ErrBadRefresh)
		}
		return nil
	})
	if err != nil {
		s.counters.refreshRefused.Add(1)
		if errors.Is(err, ErrBadRefresh) || errors.Is(err, ErrInactive) {
			return nil, err
		}
		return nil, fmt.Errorf("refresh: %w", err)
	}
	if reuse != nil {
		s.counters.refreshReuse.Add(1)
		s.log.WarnContext(ctx, "refresh token reuse; session revoked", "session", reuse.ID, "user", reuse.UserID, "ip", m.IP)
		return nil, ended(shared.RevokedRefreshReuse, fmt.Errorf("%w: reused; session revoked", ErrBadRefresh))
	}
	if g.RefreshToken != "" {
		s.counters.refreshRotated.Add(1)
	} else {
		s.counters.refreshGrace.Add(1)
	}
	return g, nil
}

// grant issues an access token for the session, capped by its absolute
// expiry.
func (s *Service) grant(sess *store.Session, now time.Time) (*Grant, error) {
	exp := earliest(now.Add(s.cfg.AccessTTL), sess.ExpiresAt)
	tok, err := s.tokens.Issue(Subject{UserID: sess.UserID, SessionID: sess.ID, AMR: sess.AMR, AuthTime: sess.AuthTime}, now, exp)
	if err != nil {
		return nil, err
	}
	return &Grant{Issued: now, AccessToken: tok, AccessExpires: exp, SessionID: sess.ID, UserID: sess.UserID, RefreshExpires: sess.RefreshExpiresAt}, nil
}

// Authenticate checks an access token and the state behind it: the
// session must be neither revoked nor past its absolute expiry, and the user
// must exist and be enabled. The role is the user's current one, not the
// one at sign-in. Errors: ErrNoToken, ErrInvalidToken, ErrInactive, or a
// store error (ErrUnavailable).
func (s *Service) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	if raw == "" {
		return nil, ErrNoToken
	}
	c, err := s.tokens.Verify(raw)
	if err != nil {
		return nil, err
	}
	uid, err := c.UserID()
	if err != nil {
		return nil, err
	}
	sess, err := s.store.Session(ctx, c.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown session", ErrInvalidToken)
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if sess.UserID != uid {
		return nil, fmt.Errorf("%w: session of another user", ErrInvalidToken)
	}
	// The user is checked before the session's state: disabling a user
	// also revokes their sessions, and the caller should learn the reason
	// (403 inactive_user), not just that the session is gone.
	u, err := s.store.User(ctx, uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ended(shared.RevokedUserDeleted, fmt.Errorf("%w: user no longer exists", ErrInvalidToken))
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if u.Disabled {
		return nil, ErrInactive
	}
	if why := SessionEnd(sess, s.now()); why != "" {
		return nil, ended(why, fmt.Errorf("%w: session ended", ErrInvalidToken))
	}
	return &Principal{
		UserID: uid, Username: u.Username, Role: u.Role, User: u.User,
		SessionID: sess.ID, SessionExpires: sess.ExpiresAt,
		IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time,
		AMR: sess.AMR, AuthTime: sess.AuthTime,
	}, nil
}

// Slide returns a fresh access token for p when the one presented is at
// least SlideAfter old, and "" otherwise. The new token never outlives the
// session.
//
// Sliding is cheap when repeated: a token signed for the session less than
// SlideAfter/2 ago is handed out again instead of a new signature, so a
// burst of parallel requests, or a client that never swaps its token, costs
// one signature per half interval. Sliding records the session as seen in
// memory; FlushSeen writes those times, at most one per session per call.
func (s *Service) Slide(ctx context.Context, p *Principal) (string, time.Time, error) {
	now := s.now()
	if now.Sub(p.IssuedAt) < s.cfg.SlideAfter {
		return "", time.Time{}, nil
	}
	return s.fresh(p, now)
}

// fresh returns an access token of the principal's session, young and
// capped by the session's end: the one signed for it less than half a slide
// interval ago, or a new one. It records the session as seen.
func (s *Service) fresh(p *Principal, now time.Time) (string, time.Time, error) {
	s.seen.mark(p.SessionID, now)
	if tok, exp, ok := s.slides.get(p.SessionID, p.AuthTime, now.Add(-s.cfg.SlideAfter/2)); ok && now.Before(exp) {
		return tok, exp, nil
	}
	exp := earliest(now.Add(s.cfg.AccessTTL), p.SessionExpires)
	tok, err := s.tokens.Issue(p.subject(), now, exp)
	if err != nil {
		return "", time.Time{}, err
	}
	s.slides.put(p.SessionID, p.AuthTime, tok, now, exp)
	return tok, exp, nil
}

// Renew hands the principal a fresh access token for the same session,
// whatever the age of the one it presented, under the rules of Slide: it
// never outlives the session, and one signed less than half a slide
// interval ago is handed out again. No refresh token is issued or rotated.
func (s *Service) Renew(ctx context.Context, p *Principal) (*Grant, error) {
	now := s.now()
	tok, exp, err := s.fresh(p, now)
	if err != nil {
		return nil, err
	}
	return &Grant{Issued: now, AccessToken: tok, AccessExpires: exp, SessionID: p.SessionID, UserID: p.UserID}, nil
}

// FlushSeen writes the last-seen times recorded since the previous call,
// one per session, in one transaction; a session that ended meanwhile is
// skipped. The server calls it every few seconds and when it stops.
func (s *Service) FlushSeen(ctx context.Context) error {
	batch := s.seen.take()
	if len(batch) == 0 {
		return nil
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		for id, at := range batch {
			if err := tx.TouchSession(ctx, id, at); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record session activity: %w", err)
	}
	return nil
}

// Logout revokes the principal's session.
func (s *Service) Logout(ctx context.Context, p *Principal, m Meta) error {
	now := s.now()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		sess, err := tx.LockSession(ctx, p.SessionID)
		if err != nil {
			return err
		}
		if sess.RevokedAt == nil {
			sess.RevokedAt, sess.RevokedReason = &now, shared.RevokedLogout
			if err := tx.SaveSession(ctx, sess); err != nil {
				return err
			}
		}
		return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: p.UserID, Actor: p.Username, Action: shared.ActionLogout, Target: "session " + p.SessionID, IP: m.IP, Outcome: shared.OutcomeOK})
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// checkInFlight bounds how long a password check counted against a
// session can still be running (waiting for a hashing slot, hashing,
// recording the outcome).
const checkInFlight = time.Minute

// CheckCurrentPassword checks pw, given to confirm a change, against the
// principal's password. Wrong answers are counted per session and user
// (never against the account's sign-ins, so a thief holding an access token
// cannot lock the owner out); at Lockout.Free of them the session is
// revoked and the answer is ErrInvalidToken. A wrong password is
// ErrWrongPassword. Each check is counted before it is made, so that
// guesses sent at once cost one each; while those in flight fill the
// budget, one more is *BusyError (nothing counted) rather than the end of
// a session that may only be sending its right password several times.
// A password over 72 bytes is *RequestError before anything is counted or
// hashed (bcrypt would compare its first 72 bytes only).
func (s *Service) CheckCurrentPassword(ctx context.Context, p *Principal, pw string, m Meta) error {
	if len(pw) > shared.MaxPasswordLen {
		return &RequestError{Reason: "the password is at most 72 bytes"}
	}
	now := s.now()
	k := key{"password:" + strconv.FormatInt(p.UserID, 10) + ":" + p.SessionID, s.cfg.Lockout}
	// capped revokes the session once its count has reached the cap; it
	// reports whether it did.
	capped := func(ctx context.Context, tx store.Tx) (bool, error) {
		a, err := tx.LockAttempts(ctx, k.name)
		if err != nil || a.Failures < k.rule.Free {
			return false, err
		}
		sess, err := tx.LockSession(ctx, p.SessionID)
		if err != nil {
			return false, err
		}
		if sess.RevokedAt == nil {
			sess.RevokedAt, sess.RevokedReason = &now, shared.RevokedPasswordGuess
			if err := tx.SaveSession(ctx, sess); err != nil {
				return false, err
			}
			err := tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: p.UserID, Actor: p.Username, Action: shared.ActionSessionRevoke, Target: "session " + p.SessionID, IP: m.IP, Outcome: shared.OutcomeDenied,
				Detail: fmt.Sprintf("%d wrong current passwords", a.Failures)})
			if err != nil {
				return false, err
			}
		}
		return true, nil
	}
	errRevoked := ended(shared.RevokedPasswordGuess, fmt.Errorf("%w: session ended after %d wrong passwords", ErrInvalidToken, k.rule.Free))

	var revoked, busy bool
	err := s.store.Update(ctx, func(tx store.Tx) error {
		revoked, busy = false, false
		a, err := tx.LockAttempts(ctx, k.name)
		if err != nil {
			return err
		}
		a = k.rule.fresh(a, now)
		if a.Failures < k.rule.Free {
			return fail(ctx, tx, a, now)
		}
		// The budget is spent. When a wrong password spent it, the session
		// has ended. While checks counted in it may still be running, it
		// may be spent by right passwords sent at once: this one waits,
		// uncounted, and a wrong one among them ends the session when it
		// is found wrong (below). Failures no check can still be making
		// were wrong passwords: the session ends now.
		sess, err := tx.LockSession(ctx, p.SessionID)
		if err != nil {
			return err
		}
		if sess.RevokedAt == nil && now.Sub(a.LastFailure) < checkInFlight {
			busy = true
			return nil
		}
		revoked, err = capped(ctx, tx)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("check password: %w", err)
	case revoked:
		return errRevoked
	case busy:
		return &BusyError{RetryAfter: time.Second}
	}
	u, err := s.store.UserByID(ctx, p.UserID)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	ok, err := s.passwords.Check(ctx, u.PasswordHash, pw)
	if err != nil {
		s.release(ctx, []key{k}, false)
		return err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if ok {
			return release(ctx, tx, []key{k}, true)
		}
		revoked, err = capped(ctx, tx)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("check password: %w", err)
	case revoked:
		return errRevoked
	case !ok:
		return ErrWrongPassword
	}
	return nil
}

// audit records e in a transaction of its own; a failure to record is
// logged, not returned, so that the audit log being unwritable never hides
// the outcome of the action.
func (s *Service) audit(ctx context.Context, e *shared.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	ctx = context.WithoutCancel(ctx)
	err := s.store.Update(ctx, func(tx store.Tx) error { return tx.AddAudit(ctx, e) })
	if err != nil {
		s.log.ErrorContext(ctx, "audit event not recorded", "action", e.Action, "err", err)
	}
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ParseUserID parses a user ID from a path segment.
func ParseUserID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}
