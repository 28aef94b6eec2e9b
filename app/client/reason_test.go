package client_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// EndReason reads why a session ended from the server's answers: the
// refused refresh's reason first, then the refused call's.
func TestEndReason(t *testing.T) {
	envelope := func(w http.ResponseWriter, status int, code, reason string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(shared.Error{Code: code, Description: "refused", Reason: reason})
	}
	for _, tc := range []struct {
		name                      string
		callReason, refreshReason string
		want                      string
	}{
		{"the refresh says why", shared.EndedTokenExpired, shared.RevokedByAdmin, shared.RevokedByAdmin},
		{"only the call says why", shared.RevokedPasswordChange, "", shared.RevokedPasswordChange},
		{"neither says why", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case shared.PathAuthCheck:
					envelope(w, http.StatusUnauthorized, shared.CodeInvalidToken, tc.callReason)
				case shared.PathTokenRefresh:
					envelope(w, http.StatusBadRequest, shared.CodeInvalidGrant, tc.refreshReason)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			store := new(client.MemoryTokenStore)
			store.SetToken(tokenAt(t, baseExp, "s1"))
			err := client.New(srv.URL, store).Check(t.Context())
			if !errors.Is(err, client.ErrLoggedOut) {
				t.Fatalf("Check = %v, want ErrLoggedOut", err)
			}
			if got := client.EndReason(err); got != tc.want {
				t.Errorf("EndReason(%v) = %q, want %q", err, got, tc.want)
			}
			var e *shared.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
				t.Errorf("the first *shared.Error of %v is %+v, want the refused refresh (400)", err, e)
			}
		})
	}

	t.Run("a disabled account", func(t *testing.T) {
		err := fmt.Errorf("wrapped: %w", &shared.Error{Code: shared.CodeInactiveUser, Status: http.StatusForbidden})
		if got := client.EndReason(err); got != shared.RevokedUserDisabled {
			t.Errorf("EndReason(403 inactive_user) = %q, want %q", got, shared.RevokedUserDisabled)
		}
	})
}
