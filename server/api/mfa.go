package api

import (
	"net/http"

	"gatehouse/shared"
)

// reauth serves POST /api/reauth (form: password, and otp or
// recovery_code): step-up per RFC 9470 — the session's auth_time moves to
// now, and the answer is a fresh access token carrying it (no refresh
// token; after a recovery code, how many remain).
func (s *Server) reauth(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.auth.Reauth(r.Context(), principal(r), form.Get("password"), form.Get("otp"), form.Get("recovery_code"), s.meta(r))
	s.answerGrant(w, r, g, err, true, false)
}

// startTOTP serves POST /api/users/me/mfa/totp.
func (s *Server) startTOTP(w http.ResponseWriter, r *http.Request) {
	e, err := s.auth.StartTOTP(r.Context(), principal(r), s.meta(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, &shared.TOTPEnrolment{Secret: e.Secret, URI: e.URI, QR: e.QR})
}

// confirmTOTP serves POST /api/users/me/mfa/totp/confirm.
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	var in shared.TOTPConfirm
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	codes, err := s.auth.ConfirmTOTP(r.Context(), principal(r), in.OTP, s.meta(r))
	s.answerCodes(w, r, codes, err)
}

// recoveryCodes serves POST /api/users/me/mfa/recovery-codes.
func (s *Server) recoveryCodes(w http.ResponseWriter, r *http.Request) {
	codes, err := s.auth.RegenerateRecoveryCodes(r.Context(), principal(r), s.meta(r))
	s.answerCodes(w, r, codes, err)
}

// answerCodes answers recovery codes, which are shown once and never
// cached.
func (s *Server) answerCodes(w http.ResponseWriter, r *http.Request, codes []string, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, &shared.RecoveryCodes{Codes: codes})
}

// removeMFA serves DELETE /api/users/me/mfa.
func (s *Server) removeMFA(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, http.StatusNoContent, nil, s.auth.RemoveMFA(r.Context(), principal(r), s.meta(r)))
}

// resetMFA serves DELETE /api/users/{id}/mfa.
func (s *Server) resetMFA(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answer(w, r, http.StatusNoContent, nil, s.admin.ResetMFA(r.Context(), s.actor(r), id))
}

// liftLockout serves DELETE /api/users/{id}/lockout.
func (s *Server) liftLockout(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answer(w, r, http.StatusNoContent, nil, s.admin.LiftLockout(r.Context(), s.actor(r), id))
}
