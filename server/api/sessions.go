package api

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
)

func (s *Server) mySessions(w http.ResponseWriter, r *http.Request) {
	p, err := pageOf(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.admin.MySessions(r.Context(), s.actor(r), p)
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) revokeMySession(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, http.StatusNoContent, nil, s.admin.RevokeMySession(r.Context(), s.actor(r), mux.Vars(r)["id"]))
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := pageOf(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	active, err := boolParam(q, "active")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var uid int64
	if v := q.Get("user_id"); v != "" {
		if uid, err = strconv.ParseInt(v, 10, 64); err != nil || uid < 1 {
			s.writeError(w, r, badRequest("user_id must be a positive whole number"))
			return
		}
	}
	out, err := s.admin.Sessions(r.Context(), s.actor(r), uid, active, p)
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, http.StatusNoContent, nil, s.admin.RevokeSession(r.Context(), s.actor(r), mux.Vars(r)["id"]))
}

func (s *Server) revokeUserSessions(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answer(w, r, http.StatusNoContent, nil, s.admin.RevokeUserSessions(r.Context(), s.actor(r), id))
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := pageOf(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.admin.Audit(r.Context(), q.Get("actor"), q.Get("action"), p)
	s.answer(w, r, http.StatusOK, out, err)
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	out, err := s.admin.Stats(r.Context())
	s.answer(w, r, http.StatusOK, out, err)
}
