package auth

import (
	"sync"
	"time"
)

// slides remembers the last access token signed for each session by
// sliding, so that it can be handed out again while it is young.
type slides struct {
	mu  sync.Mutex
	max int
	m   map[string]slid
}

type slid struct {
	token    string
	authTime time.Time
	issued   time.Time
	expires  time.Time
}

func newSlides(max int) *slides { return &slides{max: max, m: make(map[string]slid)} }

// get returns the session's remembered token when it was issued after
// since and carries authTime (a re-authentication since makes it stale).
func (s *slides) get(session string, authTime, since time.Time) (string, time.Time, bool) {
	s.mu.Lock()
	e, ok := s.m[session]
	s.mu.Unlock()
	if !ok || !e.issued.After(since) || !e.authTime.Equal(authTime) {
		return "", time.Time{}, false
	}
	return e.token, e.expires, true
}

func (s *slides) put(session string, authTime time.Time, token string, issued, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		clear(s.m) // bounded memory; the next slides sign again
	}
	s.m[session] = slid{token: token, authTime: authTime, issued: issued, expires: expires}
}

// seen collects the last time each session was seen, for FlushSeen.
type seen struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func newSeen() *seen { return &seen{m: make(map[string]time.Time)} }

func (s *seen) mark(session string, at time.Time) {
	s.mu.Lock()
	if at.After(s.m[session]) {
		s.m[session] = at
	}
	s.mu.Unlock()
}

// take returns what was collected and starts over.
func (s *seen) take() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) == 0 {
		return nil
	}
	out := s.m
	s.m = make(map[string]time.Time, len(out))
	return out
}
