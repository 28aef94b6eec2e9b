package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"gatehouse/server/auth"
	"gatehouse/shared"
)

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	u, err := s.admin.Me(r.Context(), s.actor(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Only who-am-I says so: the policy is about the caller's session.
	u.MustEnrollMFA = s.auth.MustEnroll(principal(r))
	u.MFAOff = s.auth.MFAOff()
	u.MFAMandatory = s.auth.MFAMandatory(principal(r))
	writeUser(w, http.StatusOK, u)
}

func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) {
	var in shared.ProfileUpdate
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.admin.UpdateProfile(r.Context(), s.actor(r), in)
	s.answer(w, r, http.StatusOK, u, err)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	var in shared.PasswordChange
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answer(w, r, http.StatusNoContent, nil, s.admin.ChangePassword(r.Context(), s.actor(r), in))
}

func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := pageOf(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sort, err := shared.ParseUserSort(q.Get("sort"))
	if err != nil {
		s.writeError(w, r, badRequest("%v", err))
		return
	}
	out, err := s.admin.Users(r.Context(), q.Get("q"), sort, p)
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var in shared.UserCreate
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.admin.CreateUser(r.Context(), s.actor(r), in)
	s.answer(w, r, http.StatusCreated, u, err)
}

// userID reads the {id} path variable; the route's pattern already
// guarantees digits.
func userID(r *http.Request) (int64, error) {
	id, ok := auth.ParseUserID(mux.Vars(r)["id"])
	if !ok {
		return 0, badRequest("the user id must be a positive whole number")
	}
	return id, nil
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.admin.User(r.Context(), id)
	s.answer(w, r, http.StatusOK, u, err)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	var in shared.UserUpdate
	if err == nil {
		err = decodeJSON(r, &in)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.admin.UpdateUser(r.Context(), s.actor(r), id, in)
	s.answer(w, r, http.StatusOK, u, err)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answer(w, r, http.StatusNoContent, nil, s.admin.DeleteUser(r.Context(), s.actor(r), id))
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	var in shared.PasswordReset
	if err == nil {
		err = decodeJSON(r, &in)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answer(w, r, http.StatusNoContent, nil, s.admin.ResetPassword(r.Context(), s.actor(r), id, in))
}

// answer writes v with status, or the error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, v)
}
