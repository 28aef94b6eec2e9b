package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"gatehouse/shared"
)

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		name, header string
		want         time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "45", 45 * time.Second},
		{"seconds with spaces", " 7 ", 7 * time.Second},
		{"zero", "0", 0},
		{"negative", "-3", 0},
		{"absurdly far", "99999999999", 0},
		{"garbage", "soon", 0},
		{"a date in the past", "Wed, 21 Oct 2015 07:28:00 GMT", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.header); got != tt.want {
				t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
	t.Run("a date to come", func(t *testing.T) {
		h := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
		if got := retryAfter(h); got < 88*time.Second || got > 91*time.Second {
			t.Errorf("retryAfter(%q) = %v, want about 90s", h, got)
		}
	})
}

// A throttled sign-in's error says how long to wait, so that a page can.
func TestThrottledLoginCarriesRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"too_many_attempts","error_description":"try again later"}`))
	}))
	defer srv.Close()
	_, err := New(srv.URL, nil).LoginMFA(context.Background(), "tok", Code{OTP: "123456"})
	var e *shared.Error
	if !errors.As(err, &e) || e.Code != shared.CodeTooManyAttempts || e.RetryAfter != 30*time.Second {
		t.Fatalf("err = %#v, want too_many_attempts with RetryAfter 30s", err)
	}
}
