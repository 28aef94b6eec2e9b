package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

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

	// LoginBurst failed sign-ins are allowed per username (and
	// LoginBurst*10 per IP address) before further attempts wait; one
	// attempt is regained every LoginEvery.
	LoginBurst int
	LoginEvery time.Duration
}

// Meta describes where a request comes from, for sessions and the audit log.
type Meta struct {
	IP        string
	UserAgent string
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID    int64
	Username  string
	Role      shared.Role
	SessionID string
	// SessionExpires is the session's absolute expiry.
	SessionExpires time.Time
	// IssuedAt and ExpiresAt are those of the access token presented.
	IssuedAt  time.Time
	ExpiresAt time.Time
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
	SessionID      string
	UserID         int64
}

// Service signs users in, refreshes and authenticates their tokens.
type Service struct {
	state     *State
	tokens    *Tokens
	passwords *Passwords
	cfg       Config
	now       func() time.Time
	log       *slog.Logger
	users     *Throttle
	ips       *Throttle
}

// NewService wires a Service. now may be nil (time.Now).
func NewService(state *State, tokens *Tokens, passwords *Passwords, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.LoginBurst < 1 {
		cfg.LoginBurst = 5
	}
	if cfg.LoginEvery <= 0 {
		cfg.LoginEvery = time.Minute
	}
	return &Service{
		state: state, tokens: tokens, passwords: passwords, cfg: cfg, now: now, log: log,
		users: NewThrottle(cfg.LoginBurst, cfg.LoginEvery, 100_000),
		ips:   NewThrottle(cfg.LoginBurst*10, cfg.LoginEvery/10, 100_000),
	}
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.now() }

// Login checks a username and password and opens a session. It answers
// ErrBadCredentials for an unknown user and a wrong password alike (taking
// the same time), ErrInactive for a disabled user with the right password,
// and *ThrottledError when too many attempts failed.
func (s *Service) Login(ctx context.Context, username, password string, m Meta) (*Grant, error) {
	now := s.now()
	username = strings.TrimSpace(username)
	userKey, ipKey := "u:"+strings.ToLower(username), "ip:"+m.IP
	if d := max(s.users.Wait(userKey, now), s.ips.Wait(ipKey, now)); d > 0 {
		s.audit(ctx, &shared.AuditEvent{Actor: username, Action: shared.ActionLogin, IP: m.IP, Outcome: shared.OutcomeDenied, Detail: "throttled"})
		return nil, &ThrottledError{RetryAfter: d}
	}
	fail := func(detail string) error {
		s.users.Fail(userKey, now)
		s.ips.Fail(ipKey, now)
		s.audit(ctx, &shared.AuditEvent{Actor: username, Action: shared.ActionLogin, IP: m.IP, Outcome: shared.OutcomeFailed, Detail: detail})
		return ErrBadCredentials
	}
	u, err := s.state.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		s.passwords.CheckNothing(password)
		return nil, fail("unknown user")
	}
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if !s.passwords.Check(u.PasswordHash, password) {
		return nil, fail("wrong password")
	}
	if u.Disabled {
		s.audit(ctx, &shared.AuditEvent{ActorID: u.ID, Actor: u.Username, Action: shared.ActionLogin, IP: m.IP, Outcome: shared.OutcomeFailed, Detail: "user disabled"})
		return nil, ErrInactive
	}
	refresh, hash := NewRefreshToken()
	sess := &store.Session{
		ID: NewSessionID(), UserID: u.ID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionMax),
		RefreshHash: hash, RotatedAt: now,
		UserAgent: truncate(m.UserAgent, 512), IP: m.IP,
	}
	sess.RefreshExpiresAt = earliest(now.Add(s.cfg.RefreshTTL), sess.ExpiresAt)
	if err := s.state.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	g, err := s.grant(sess, now)
	if err != nil {
		return nil, err
	}
	g.RefreshToken, g.RefreshExpires = refresh, sess.RefreshExpiresAt
	s.audit(ctx, &shared.AuditEvent{ActorID: u.ID, Actor: u.Username, Action: shared.ActionLogin, Target: "session " + sess.ID, IP: m.IP, Outcome: shared.OutcomeOK})
	return g, nil
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token (rotation). The previous refresh token presented again
// within the grace window gets an access token without a new rotation;
// presented later it is reuse: the session is revoked, the event audited,
// and ErrBadRefresh returned. Any other unknown, expired or revoked token is
// ErrBadRefresh too.
func (s *Service) Refresh(ctx context.Context, token string, m Meta) (*Grant, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: missing", ErrBadRefresh)
	}
	h := HashRefreshToken(token)
	sess, err := s.state.SessionByRefreshHash(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown", ErrBadRefresh)
	}
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	now := s.now()
	for range 2 { // a lost rotation race is looked at once more
		if !sess.Active(now) {
			return nil, fmt.Errorf("%w: session ended", ErrBadRefresh)
		}
		if err := s.checkUser(ctx, sess.UserID); err != nil {
			if errors.Is(err, ErrInvalidToken) {
				return nil, fmt.Errorf("%w: user gone", ErrBadRefresh)
			}
			return nil, err
		}
		switch {
		case bytes.Equal(h, sess.RefreshHash):
			if !now.Before(sess.RefreshExpiresAt) {
				return nil, fmt.Errorf("%w: expired", ErrBadRefresh)
			}
			next, nextHash := NewRefreshToken()
			exp := earliest(now.Add(s.cfg.RefreshTTL), sess.ExpiresAt)
			err := s.state.RotateRefresh(ctx, sess.ID, h, nextHash, exp, now)
			if errors.Is(err, store.ErrStale) {
				if sess, err = s.state.SessionByID(ctx, sess.ID); err != nil {
					return nil, fmt.Errorf("refresh: %w", err)
				}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("refresh: %w", err)
			}
			g, err := s.grant(sess, now)
			if err != nil {
				return nil, err
			}
			g.RefreshToken, g.RefreshExpires = next, exp
			return g, nil
		case bytes.Equal(h, sess.PrevRefreshHash):
			if now.Sub(sess.RotatedAt) <= s.cfg.RefreshGrace {
				return s.grant(sess, now)
			}
			if err := s.state.RevokeSession(ctx, sess.ID, shared.RevokedRefreshReuse, now); err != nil {
				return nil, fmt.Errorf("refresh: revoke after reuse: %w", err)
			}
			s.log.WarnContext(ctx, "refresh token reuse; session revoked", "session", sess.ID, "user", sess.UserID, "ip", m.IP)
			s.audit(ctx, &shared.AuditEvent{ActorID: sess.UserID, Actor: sess.Username, Action: shared.ActionRefreshReuse, Target: "session " + sess.ID, IP: m.IP, Outcome: shared.OutcomeDenied, Detail: "session revoked"})
			return nil, fmt.Errorf("%w: reused; session revoked", ErrBadRefresh)
		default:
			return nil, fmt.Errorf("%w: superseded", ErrBadRefresh)
		}
	}
	return nil, fmt.Errorf("%w: rotated concurrently", ErrBadRefresh)
}

// grant issues an access token for the session, capped by its absolute
// expiry.
func (s *Service) grant(sess *store.Session, now time.Time) (*Grant, error) {
	exp := earliest(now.Add(s.cfg.AccessTTL), sess.ExpiresAt)
	tok, err := s.tokens.Issue(sess.UserID, sess.ID, now, exp)
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
	sess, err := s.state.CachedSession(ctx, c.SessionID)
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
	u, err := s.state.CachedUser(ctx, uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: user no longer exists", ErrInvalidToken)
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if u.Disabled {
		return nil, ErrInactive
	}
	if sess.RevokedAt != nil {
		return nil, fmt.Errorf("%w: session revoked", ErrInvalidToken)
	}
	if !s.now().Before(sess.ExpiresAt) {
		return nil, fmt.Errorf("%w: session expired", ErrInvalidToken)
	}
	return &Principal{
		UserID: uid, Username: u.Username, Role: u.Role,
		SessionID: sess.ID, SessionExpires: sess.ExpiresAt,
		IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time,
	}, nil
}

func (s *Service) checkUser(ctx context.Context, id int64) error {
	u, err := s.state.CachedUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: user no longer exists", ErrInvalidToken)
	}
	if err != nil {
		return fmt.Errorf("check user: %w", err)
	}
	if u.Disabled {
		return ErrInactive
	}
	return nil
}

// Slide returns a fresh access token for p when the one presented is at
// least SlideAfter old, and "" otherwise. The new token never outlives the
// session. Sliding also records the session as seen.
func (s *Service) Slide(ctx context.Context, p *Principal) (string, time.Time, error) {
	now := s.now()
	if now.Sub(p.IssuedAt) < s.cfg.SlideAfter {
		return "", time.Time{}, nil
	}
	exp := earliest(now.Add(s.cfg.AccessTTL), p.SessionExpires)
	tok, err := s.tokens.Issue(p.UserID, p.SessionID, now, exp)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.state.TouchSession(ctx, p.SessionID, now); err != nil {
		s.log.WarnContext(ctx, "could not record session activity", "session", p.SessionID, "err", err)
	}
	return tok, exp, nil
}

// Logout revokes the principal's session.
func (s *Service) Logout(ctx context.Context, p *Principal, m Meta) error {
	if err := s.state.RevokeSession(ctx, p.SessionID, shared.RevokedLogout, s.now()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.audit(ctx, &shared.AuditEvent{ActorID: p.UserID, Actor: p.Username, Action: shared.ActionLogout, Target: "session " + p.SessionID, IP: m.IP, Outcome: shared.OutcomeOK})
	return nil
}

// CheckPassword reports whether pw is the user's password.
func (s *Service) CheckPassword(ctx context.Context, userID int64, pw string) (bool, error) {
	u, err := s.state.UserByID(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	return s.passwords.Check(u.PasswordHash, pw), nil
}

// audit records e; a failure to record is logged, not returned, so that
// the audit log being unwritable never hides the outcome of the action.
func (s *Service) audit(ctx context.Context, e *shared.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if err := s.state.AddAudit(ctx, e); err != nil {
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
