package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

func TestMessageSpeaksPlainly(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no error", nil, ""},
		{"offline", ErrOffline, "You are offline"},
		{"logged out", fmt.Errorf("refresh: %w", client.ErrLoggedOut), "session has ended"},
		{"wrong password", &shared.Error{Code: shared.CodeInvalidGrant, Status: 401}, "Wrong username or password"},
		{"bad refresh", &shared.Error{Code: shared.CodeInvalidGrant, Status: 400}, "session has ended"},
		{"disabled", &shared.Error{Code: shared.CodeInactiveUser, Status: 403}, "disabled"},
		{"forbidden names the reason", &shared.Error{Code: shared.CodeInsufficientScope, Description: "changing roles needs roles:write"}, "changing roles needs roles:write"},
		{"server validation", &shared.Error{Code: shared.CodeValidationFailed}, "correct the highlighted fields"},
		{"local validation", shared.UserCreate{}.Validate(), "correct the highlighted fields"},
		{"conflict", &shared.Error{Code: shared.CodeConflict, Description: "that username is taken"}, "That username is taken."},
		{"throttled", &shared.Error{Code: shared.CodeTooManyAttempts, RetryAfter: 30 * time.Second}, "Too many failed attempts. Try again in 30 seconds."},
		{"throttled without a time", &shared.Error{Code: shared.CodeTooManyAttempts}, "Too many failed attempts. Wait a minute and try again."},
		{"unavailable", &shared.Error{Code: shared.CodeUnavailable}, "database is unavailable"},
		{"network", errors.New("dial tcp: connection refused"), "could not be reached"},
		{"internal", &shared.Error{Code: shared.CodeInternal}, "Something went wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Message(tt.err)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Fatalf("Message = %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestAgeAndCountdown(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ages := map[time.Duration]string{
		10 * time.Second: "just now", time.Minute: "1 minute ago", 5 * time.Minute: "5 minutes ago",
		3 * time.Hour: "3 hours ago", 72 * time.Hour: "3 days ago",
	}
	for d, want := range ages {
		if got := Age(now, now.Add(-d)); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
	counts := map[time.Duration]string{
		-time.Second: "0:00", 59 * time.Second: "0:59", 29*time.Minute + 5*time.Second: "29:05", 12 * time.Hour: "12:00:00",
	}
	for d, want := range counts {
		if got := Countdown(d); got != want {
			t.Errorf("Countdown(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCacheRoundTripsAndClears(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	st := newMemoryStorage()
	c := &Cache{store: st, now: func() time.Time { return now }}
	c.Put("users?page=1", shared.Page[shared.User]{Items: []shared.User{{Username: "ann"}}, Total: 1})
	st.Set(TokenKey, "tok")
	var got shared.Page[shared.User]
	at, ok := c.Get("users?page=1", &got)
	if !ok || !at.Equal(now) || got.Items[0].Username != "ann" {
		t.Fatalf("Get = %+v, %v, %v", got, at, ok)
	}
	c.Clear()
	if _, ok := c.Get("users?page=1", &got); ok {
		t.Fatal("Clear left a cached view")
	}
	if v, _ := st.Get(TokenKey); v != "tok" {
		t.Fatal("Clear must leave keys outside the cache alone")
	}
}
