package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// MFAPolicy says who must have a second factor (GATEHOUSE_MFA).
type MFAPolicy string

// The policies. Off lets nobody enrol — factors already enrolled keep
// being asked for, so that turning the setting off never silently weakens
// an account (an administrator resets a user's factor to remove it);
// optional lets everyone enrol and requires nobody; admins requires
// managers and admins; all requires everyone.
const (
	MFAOff      MFAPolicy = "off"
	MFAOptional MFAPolicy = "optional"
	MFAAdmins   MFAPolicy = "admins"
	MFAAll      MFAPolicy = "all"
)

// ParseMFAPolicy reads a policy name.
func ParseMFAPolicy(s string) (MFAPolicy, error) {
	switch p := MFAPolicy(s); p {
	case MFAOff, MFAOptional, MFAAdmins, MFAAll:
		return p, nil
	}
	return "", fmt.Errorf("MFA policy %q: want off, optional, admins or all", s)
}

// requires reports whether the policy requires a user of role r to have a
// second factor.
func (p MFAPolicy) requires(r shared.Role) bool {
	switch p {
	case MFAAll:
		return true
	case MFAAdmins:
		return r.Rank() >= shared.RoleManager.Rank()
	}
	return false
}

// Restriction returns what the principal must do before anything else:
// ErrPasswordChangeRequired when someone else set their password,
// ErrEnrollmentRequired when the MFA policy requires a factor they have
// not enrolled, nil otherwise. Both follow the user's current state and
// the policy in force, so tightening the policy restricts existing
// sessions from their next request.
func (s *Service) Restriction(p *Principal) error {
	switch {
	case p.User.MustChangePassword:
		return ErrPasswordChangeRequired
	case s.MustEnroll(p):
		return ErrEnrollmentRequired
	}
	return nil
}

// MFAOff reports whether the MFA policy is off: no factor can be enrolled.
func (s *Service) MFAOff() bool { return s.cfg.MFA == MFAOff }

// MustEnroll reports whether the MFA policy in force requires of the
// principal a second factor they have not enrolled, whether or not a
// password change comes first.
func (s *Service) MustEnroll(p *Principal) bool {
	return s.cfg.MFA.requires(p.Role) && !p.User.MFA
}

// RequireRecent returns *StepUpError unless the principal's session
// authenticated (signed in or re-authenticated) within StepUpMaxAge.
func (s *Service) RequireRecent(p *Principal) error {
	if d := s.now().Sub(p.AuthTime); d >= 0 && d <= s.cfg.StepUpMaxAge {
		return nil
	}
	return &StepUpError{MaxAge: s.cfg.StepUpMaxAge}
}

// A challenge token names a sign-in challenge and proves that this server
// issued it for the password its user had then: ID.KID.MAC, with MAC an
// HMAC under a key derived from KID of the ID and the user's password
// hash. A password changed or reset since voids the challenge, as it
// revokes the sessions that the old password opened: someone else may
// know it, and a half-done sign-in is one more such session.
const challengePurpose = "mfa-challenge"

// maxChallengeLen bounds what is parsed: a real token is under 100 bytes.
const maxChallengeLen = 200

func mintChallenge(ring *Keyring, id, passwordHash string) string {
	k := ring.Signing()
	return id + "." + k.ID + "." + base64.RawURLEncoding.EncodeToString(challengeMAC(k, id, passwordHash))
}

func challengeMAC(k Key, id, passwordHash string) []byte {
	m := hmac.New(sha256.New, k.derive(challengePurpose))
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(passwordHash))
	return m.Sum(nil)
}

// challengeToken is a parsed challenge token whose MAC is not yet checked:
// that needs the password hash of the challenge's user (valid).
type challengeToken struct {
	id  string
	key Key
	mac []byte
}

// parseChallenge splits a challenge token signed by a key of the ring,
// without checking its MAC.
func parseChallenge(ring *Keyring, tok string) (*challengeToken, bool) {
	if len(tok) > maxChallengeLen {
		return nil, false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] == "" {
		return nil, false
	}
	k, ok := ring.Lookup(parts[1])
	if !ok {
		return nil, false
	}
	mac, ok := decodeMAC(parts[2])
	if !ok || len(mac) != sha256.Size {
		return nil, false
	}
	return &challengeToken{id: parts[0], key: k, mac: mac}, true
}

// valid reports whether the token was issued for its challenge's user
// while their password hash was passwordHash.
func (c *challengeToken) valid(passwordHash string) bool {
	return hmac.Equal(c.mac, challengeMAC(c.key, c.id, passwordHash))
}

// codeKey is the throttle key of a user's second-factor codes: per
// account, never per device, so that whoever has the password cannot mint
// fresh devices to guess codes.
func (s *Service) codeKey(userID int64) key {
	return key{"code:" + strconv.FormatInt(userID, 10), s.cfg.Lockout}
}

// deviceKey is the throttle key of a device of username's: named by both,
// so that an administrator can find the devices of an account
// (LiftLockouts).
func (s *Service) deviceKey(username, device string) key {
	return key{devicePrefix(username) + device, s.cfg.Lockout}
}

// devicePrefix begins the throttle keys of username's devices. A username
// holds no ':' (shared.ValidateUsername), so no other user's keys match.
func devicePrefix(username string) string { return "device:" + username + ":" }

// LiftLockouts clears, in tx, the throttles an administrator lifts for u:
// the account's sign-ins from unknown devices, each of its known devices,
// and its codes. It says which of them were locked at now, in words for
// the audit log ("account", "codes", "N devices"); none when nothing was.
func (s *Service) LiftLockouts(ctx context.Context, tx store.Tx, u *store.User, now time.Time) ([]string, error) {
	devices, err := tx.AttemptKeys(ctx, devicePrefix(u.Username))
	if err != nil {
		return nil, err
	}
	var lifted []string
	locked := func(k key) (bool, error) {
		a, err := tx.LockAttempts(ctx, k.name)
		if err != nil {
			return false, err
		}
		if err := tx.SaveAttempts(ctx, &store.Attempts{Key: k.name}); err != nil {
			return false, err
		}
		return k.rule.lockedFor(k.rule.fresh(a, now), now) > 0, nil
	}
	for _, k := range []struct {
		key
		what string
	}{{key{"user:" + u.Username, s.cfg.Lockout}, "account"}, {s.codeKey(u.ID), "codes"}} {
		if ok, err := locked(k.key); err != nil {
			return nil, err
		} else if ok {
			lifted = append(lifted, k.what)
		}
	}
	n := 0
	for _, name := range devices {
		if ok, err := locked(key{name, s.cfg.Lockout}); err != nil {
			return nil, err
		} else if ok {
			n++
		}
	}
	switch {
	case n == 1:
		lifted = append(lifted, "1 device")
	case n > 1:
		lifted = append(lifted, strconv.Itoa(n)+" devices")
	}
	return lifted, nil
}

// reserveCode counts a code attempt against u's code throttle key in tx
// (auditing a lockout it starts). While the key is locked it counts
// nothing and returns the refusal as outcome.
func (s *Service) reserveCode(ctx context.Context, tx store.Tx, u *store.User, ip string, now time.Time) (outcome, err error) {
	wait, locked, err := reserve(ctx, tx, []key{s.codeKey(u.ID)}, now)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}, nil
	}
	return nil, auditLockouts(ctx, tx, locked, u.Username, ip, now)
}

// secretAAD binds a sealed secret to its user.
func secretAAD(userID int64) []byte { return []byte("totp:" + strconv.FormatInt(userID, 10)) }

// checkCode checks a TOTP code against u's confirmed factor in tx,
// remembering the step it matched so that the code is not accepted again
// (the row is saved). It reports whether the code matched.
func (s *Service) checkCode(ctx context.Context, tx store.Tx, u *store.User, code string, now time.Time) (bool, error) {
	secret, err := s.data.Open(u.TOTP.Secret, u.TOTP.KeyID, secretAAD(u.ID))
	if err != nil {
		return false, fmt.Errorf("open the TOTP secret of user %d: %w", u.ID, err)
	}
	st, ok := matchTOTP(string(secret), code, now, u.TOTP.LastStep)
	if !ok {
		return false, nil
	}
	u.TOTP.LastStep = st
	return true, tx.SaveUser(ctx, u)
}

// CompleteMFA is the second step of a sign-in answered *MFARequiredError:
// the challenge token and either a TOTP code or a recovery code. A missing
// or oversized token or code is *RequestError before any work. Each
// challenge takes ChallengeAttempts codes within ChallengeTTL (a typo does
// not spend it), then ErrBadChallenge; a right code spends it. Codes are
// throttled per account. A wrong code is ErrBadCode; a recovery code works
// once, and the grant says how many remain.
func (s *Service) CompleteMFA(ctx context.Context, token, otp, recovery string, m Meta) (*Grant, error) {
	g, err := s.completeMFA(ctx, token, otp, recovery, m)
	s.counters.countSignIn(err)
	return g, err
}

func (s *Service) completeMFA(ctx context.Context, token, otp, recovery string, m Meta) (*Grant, error) {
	switch {
	case token == "": // RFC 6749 §5.2: a missing parameter is invalid_request
		return nil, &RequestError{Reason: "mfa_token is required: the one the password step answered"}
	case len(token) > maxChallengeLen:
		return nil, &RequestError{Reason: "the mfa_token is too long"}
	case (otp == "") == (recovery == ""):
		return nil, &RequestError{Reason: "send either otp or recovery_code"}
	case len(otp) > 10 || len(recovery) > 40:
		return nil, &RequestError{Reason: "the code is too long"}
	}
	ring := s.tokens.Keys()
	ct, ok := parseChallenge(ring, token)
	if !ok {
		return nil, fmt.Errorf("%w: malformed", ErrBadChallenge)
	}
	now := s.now()
	var (
		sess    *store.Session
		outcome error
		left    int
		name    string
		device  string
		cookie  bool
	)
	err := s.store.Update(ctx, func(tx store.Tx) error {
		sess, outcome, left, cookie = nil, nil, 0, false
		c, err := tx.LockChallenge(ctx, ct.id)
		if errors.Is(err, store.ErrNotFound) {
			outcome = fmt.Errorf("%w: unknown", ErrBadChallenge)
			return nil
		}
		if err != nil {
			return err
		}
		u, err := tx.LockUser(ctx, c.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			outcome = fmt.Errorf("%w: the user is gone", ErrBadChallenge)
			return nil
		case err != nil:
			return err
		case !ct.valid(u.PasswordHash):
			outcome = fmt.Errorf("%w: not issued by this server, or the password changed since", ErrBadChallenge)
			return nil
		case c.UsedAt != nil || !now.Before(c.ExpiresAt) || c.Attempts >= s.cfg.ChallengeAttempts:
			outcome = fmt.Errorf("%w: used, expired or out of attempts", ErrBadChallenge)
			return nil
		case u.Disabled:
			outcome = ErrInactive
			return nil
		case !u.TOTP.Enabled():
			outcome = fmt.Errorf("%w: the factor was removed", ErrBadChallenge)
			return nil
		}
		name = u.Username
		ck := s.codeKey(u.ID)
		if outcome, err = s.reserveCode(ctx, tx, u, m.IP, now); err != nil || outcome != nil {
			return err
		}
		c.Attempts++
		var right bool
		if otp != "" {
			right, err = s.checkCode(ctx, tx, u, otp, now)
		} else {
			right, left, err = tx.ConsumeRecoveryCode(ctx, u.ID, hashRecoveryCode(recovery))
		}
		if err != nil {
			return err
		}
		if !right {
			if err := tx.SaveChallenge(ctx, c); err != nil {
				return err
			}
			outcome = &CodeError{Left: s.cfg.ChallengeAttempts - c.Attempts}
			return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionMFACode, IP: m.IP, Outcome: shared.OutcomeFailed, Detail: "wrong code"})
		}
		c.UsedAt, cookie = &now, c.CookieOnly
		if err := tx.SaveChallenge(ctx, c); err != nil {
			return err
		}
		if err := release(ctx, tx, []key{ck}, true); err != nil {
			return err
		}
		keys := []key{{"user:" + u.Username, s.cfg.Lockout}}
		device = newRandom(16)
		if d, ok := checkDevice(ring, c.Device, u.Username, now); ok {
			keys, device = []key{s.deviceKey(u.Username, d.device)}, d.device
		}
		if recovery != "" {
			err := tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionRecoveryUsed, IP: m.IP, Outcome: shared.OutcomeOK, Detail: fmt.Sprintf("%d left", left)})
			if err != nil {
				return err
			}
		}
		sess, err = s.open(ctx, tx, u, []string{AMRPassword, AMROTP}, keys, m, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sign-in code: %w", err)
	}
	if outcome != nil {
		return nil, outcome
	}
	g, err := s.signedIn(sess, name, device, cookie || m.CookieOnly, now)
	if err != nil {
		return nil, err
	}
	if recovery != "" {
		g.RecoveryCodesLeft = &left
	}
	return g, nil
}

// CheckCode checks a TOTP code of the principal's, as a confirmation that
// goes with a password (changing it, re-authenticating): codes count
// against the account's code throttle. A user without a factor needs no
// code (nil). ErrBadCode when it is wrong or missing, *ThrottledError while
// the account's codes are locked.
func (s *Service) CheckCode(ctx context.Context, p *Principal, code string, m Meta) error {
	_, err := s.checkFactor(ctx, p, code, "", m)
	return err
}

// CheckPasswordAndCode checks what confirms a change of one's own
// credentials: the current password (CheckCurrentPassword) and, when the
// user has a factor, a TOTP code (CheckCode). A malformed one of them — a
// password over 72 bytes, an oversized code — is *RequestError before
// either is checked, so that nothing is hashed, counted or audited for it.
func (s *Service) CheckPasswordAndCode(ctx context.Context, p *Principal, password, code string, m Meta) error {
	if len(password) > shared.MaxPasswordLen {
		return &RequestError{Reason: "the password is at most 72 bytes"}
	}
	if err := factorForm(code, ""); err != nil {
		return err
	}
	if err := s.CheckCurrentPassword(ctx, p, password, m); err != nil {
		return err
	}
	return s.CheckCode(ctx, p, code, m)
}

// checkFactor is CheckCode with either a TOTP code or, for one who lost the
// app, one of the recovery codes, which is then spent (and audited): left
// is how many remain, nil unless one was used.
func (s *Service) checkFactor(ctx context.Context, p *Principal, otp, recovery string, m Meta) (left *int, err error) {
	if err := factorForm(otp, recovery); err != nil {
		return nil, err
	}
	now := s.now()
	var outcome error
	err = s.store.Update(ctx, func(tx store.Tx) error {
		outcome, left = nil, nil
		u, err := tx.LockUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if !u.TOTP.Enabled() {
			return nil
		}
		if otp == "" && recovery == "" {
			outcome = fmt.Errorf("%w: a code from your authenticator app is required", ErrBadCode)
			return nil
		}
		ck := s.codeKey(u.ID)
		if outcome, err = s.reserveCode(ctx, tx, u, m.IP, now); err != nil || outcome != nil {
			return err
		}
		var (
			right bool
			n     int
		)
		if otp != "" {
			right, err = s.checkCode(ctx, tx, u, otp, now)
		} else {
			right, n, err = tx.ConsumeRecoveryCode(ctx, u.ID, hashRecoveryCode(recovery))
		}
		if err != nil {
			return err
		}
		if !right {
			outcome = ErrBadCode
			return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionMFACode, IP: m.IP, Outcome: shared.OutcomeFailed, Detail: "wrong code"})
		}
		if recovery != "" {
			left = &n
			err := tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionRecoveryUsed, IP: m.IP, Outcome: shared.OutcomeOK, Detail: fmt.Sprintf("%d left", n)})
			if err != nil {
				return err
			}
		}
		return release(ctx, tx, []key{ck}, true)
	})
	if err != nil {
		return nil, fmt.Errorf("check code: %w", err)
	}
	return left, outcome
}

// factorForm refuses, before any work, a code and a recovery code sent
// together, or either too long.
func factorForm(otp, recovery string) error {
	switch {
	case otp != "" && recovery != "":
		return &RequestError{Reason: "send either otp or recovery_code"}
	case len(otp) > 10 || len(recovery) > 40:
		return &RequestError{Reason: "the code is too long"}
	}
	return nil
}

// Reauth re-authenticates the principal's session for sensitive actions
// (RFC 9470 step-up): the password (throttled per session, like a current
// password) and, when the user has a factor, a TOTP code or else one of
// the recovery codes (spent, so that someone who lost the app can still
// confirm — and then set up a new one). It moves the session's auth_time
// to now and answers a fresh access token carrying it.
func (s *Service) Reauth(ctx context.Context, p *Principal, password, otp, recovery string, m Meta) (*Grant, error) {
	fail := func(detail string) {
		s.audit(ctx, &shared.AuditEvent{ActorID: p.UserID, Actor: p.Username, Action: shared.ActionReauth, Target: "session " + p.SessionID, IP: m.IP, Outcome: shared.OutcomeFailed, Detail: detail})
	}
	if password == "" || len(password) > shared.MaxPasswordLen {
		return nil, &RequestError{Reason: "the password is required (at most 72 bytes)"}
	}
	if err := factorForm(otp, recovery); err != nil {
		return nil, err // before the password is checked, hashed and counted
	}
	if err := s.CheckCurrentPassword(ctx, p, password, m); err != nil {
		if errors.Is(err, ErrWrongPassword) {
			fail("wrong password")
		}
		return nil, err
	}
	left, err := s.checkFactor(ctx, p, otp, recovery, m)
	if err != nil {
		if errors.Is(err, ErrBadCode) {
			fail("wrong code")
		}
		return nil, err
	}
	now := s.now()
	var sess *store.Session
	err = s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if sess, err = tx.LockSession(ctx, p.SessionID); err != nil {
			return err
		}
		if !sess.Active(now) {
			return fmt.Errorf("%w: session ended", ErrInvalidToken)
		}
		sess.AuthTime, sess.AMR = now, []string{AMRPassword}
		if p.User.MFA {
			sess.AMR = append(sess.AMR, AMROTP)
		}
		if err := tx.SaveSession(ctx, sess); err != nil {
			return err
		}
		return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: p.UserID, Actor: p.Username, Action: shared.ActionReauth, Target: "session " + p.SessionID, IP: m.IP, Outcome: shared.OutcomeOK, Detail: strings.Join(sess.AMR, "+")})
	})
	if err != nil {
		return nil, fmt.Errorf("reauth: %w", err)
	}
	g, err := s.grant(sess, now)
	if err != nil {
		return nil, err
	}
	g.RecoveryCodesLeft = left
	return g, nil
}

// StartTOTP begins enrolling a TOTP factor for the principal: a new
// secret, kept (sealed) as pending until ConfirmTOTP sees a first code.
// Re-enrolling while enrolled needs a recent sign-in (*StepUpError).
func (s *Service) StartTOTP(ctx context.Context, p *Principal, m Meta) (*Enrolment, error) {
	if s.MFAOff() {
		return nil, ErrMFAOff
	}
	if p.User.MFA { // early, on the cached user; the rule holds in the transaction
		if err := s.RequireRecent(p); err != nil {
			return nil, err
		}
	}
	e, err := newTOTP(s.cfg.Issuer, p.Username)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var outcome error
	err = s.store.Update(ctx, func(tx store.Tx) error {
		outcome = nil
		u, err := tx.LockUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if outcome = s.reEnrolling(p, u); outcome != nil {
			return nil
		}
		u.TOTP.Pending, u.TOTP.PendingKeyID = s.data.Seal([]byte(e.Secret), secretAAD(u.ID))
		u.UpdatedAt = now
		return tx.SaveUser(ctx, u)
	})
	if err != nil {
		return nil, fmt.Errorf("start TOTP enrolment: %w", err)
	}
	if outcome != nil {
		return nil, outcome
	}
	return e, nil
}

// reEnrolling returns *StepUpError when u, read locked, has a confirmed
// factor and the principal's sign-in is not recent: replacing a factor
// needs a recent sign-in at both ends of the enrolment, since a stale
// session confirming a secret someone else started would make it the
// factor and be handed its new recovery codes.
func (s *Service) reEnrolling(p *Principal, u *store.User) error {
	if !u.TOTP.Enabled() {
		return nil
	}
	return s.RequireRecent(p)
}

// ConfirmTOTP completes an enrolment with a first code from the app: the
// pending secret becomes the factor, and ten new recovery codes are made
// and returned (shown once; only their hashes are kept). A wrong code is
// a validation error on otp, counted by the account's code throttle
// (*ThrottledError once locked). Replacing a confirmed factor needs a recent
// sign-in (*StepUpError), checked before the code.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string, m Meta) ([]string, error) {
	if s.MFAOff() {
		return nil, ErrMFAOff
	}
	now := s.now()
	codes, hashes := newRecoveryCodes()
	var outcome error
	err := s.store.Update(ctx, func(tx store.Tx) error {
		outcome = nil
		u, err := tx.LockUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if outcome = s.reEnrolling(p, u); outcome != nil {
			return nil
		}
		if len(u.TOTP.Pending) == 0 {
			outcome = &shared.ValidationError{Fields: shared.FieldErrors{"otp": "start the enrolment first"}}
			return nil
		}
		secret, err := s.data.Open(u.TOTP.Pending, u.TOTP.PendingKeyID, secretAAD(u.ID))
		if err != nil {
			return fmt.Errorf("open the pending TOTP secret of user %d: %w", u.ID, err)
		}
		// A first code is a guess like any other (the session may not be
		// the one that saw the secret): it counts against the account's
		// code throttle, and a right one gives its count back.
		if outcome, err = s.reserveCode(ctx, tx, u, m.IP, now); err != nil || outcome != nil {
			return err
		}
		st, ok := matchTOTP(string(secret), code, now, 0)
		if !ok {
			outcome = &shared.ValidationError{Fields: shared.FieldErrors{"otp": "is not the code your app shows now"}}
			return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionMFAEnrol, Target: "user " + u.Username, IP: m.IP, Outcome: shared.OutcomeFailed, Detail: "wrong first code"})
		}
		if err := release(ctx, tx, []key{s.codeKey(u.ID)}, false); err != nil {
			return err
		}
		re := u.TOTP.Enabled()
		u.TOTP = store.TOTP{Secret: u.TOTP.Pending, KeyID: u.TOTP.PendingKeyID, LastStep: st}
		u.UpdatedAt = now
		if err := tx.SaveUser(ctx, u); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
			return err
		}
		detail := "TOTP enrolled; 10 recovery codes"
		if re {
			detail = "TOTP enrolled again; 10 new recovery codes"
		}
		return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionMFAEnrol, Target: "user " + u.Username, IP: m.IP, Outcome: shared.OutcomeOK, Detail: detail})
	})
	if err != nil {
		return nil, fmt.Errorf("confirm TOTP enrolment: %w", err)
	}
	if outcome != nil {
		return nil, outcome
	}
	return codes, nil
}

// MFAMandatory reports whether the MFA policy in force requires the
// principal to have a second factor, enrolled or not.
func (s *Service) MFAMandatory(p *Principal) bool { return s.cfg.MFA.requires(p.Role) }

// RemoveMFA removes the principal's factor and recovery codes; it needs a
// recent sign-in, and a role the policy does not require a factor of
// (ErrFactorRequired): else the password alone could then enrol another.
func (s *Service) RemoveMFA(ctx context.Context, p *Principal, m Meta) error {
	if err := s.RequireRecent(p); err != nil {
		return err
	}
	now := s.now()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		u, err := tx.LockUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if s.cfg.MFA.requires(u.Role) {
			return ErrFactorRequired
		}
		if err := ClearFactor(ctx, tx, u, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionMFARemove, Target: "user " + u.Username, IP: m.IP, Outcome: shared.OutcomeOK})
	})
	if err != nil {
		return fmt.Errorf("remove MFA: %w", err)
	}
	return nil
}

// ClearFactor removes u's second factor and recovery codes in tx.
func ClearFactor(ctx context.Context, tx store.Tx, u *store.User, now time.Time) error {
	u.TOTP = store.TOTP{}
	u.UpdatedAt = now
	if err := tx.SaveUser(ctx, u); err != nil {
		return err
	}
	return tx.ReplaceRecoveryCodes(ctx, u.ID, nil)
}

// RegenerateRecoveryCodes replaces the principal's recovery codes with ten
// new ones (shown once); it needs a factor and a recent sign-in.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p *Principal, m Meta) ([]string, error) {
	if err := s.RequireRecent(p); err != nil {
		return nil, err
	}
	now := s.now()
	codes, hashes := newRecoveryCodes()
	var outcome error
	err := s.store.Update(ctx, func(tx store.Tx) error {
		outcome = nil
		u, err := tx.LockUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if !u.TOTP.Enabled() {
			outcome = &shared.ValidationError{Fields: shared.FieldErrors{"mfa": "enrol an authenticator app first"}}
			return nil
		}
		if err := tx.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
			return err
		}
		return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, ActorID: u.ID, Actor: u.Username, Action: shared.ActionRecoveryCodes, Target: "user " + u.Username, IP: m.IP, Outcome: shared.OutcomeOK, Detail: "10 new recovery codes"})
	})
	if err != nil {
		return nil, fmt.Errorf("new recovery codes: %w", err)
	}
	if outcome != nil {
		return nil, outcome
	}
	return codes, nil
}
