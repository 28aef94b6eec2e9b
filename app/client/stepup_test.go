package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/shared"
)

// stepUpFake is the fake with DELETE /api/users/2 needing a recent
// sign-in, which POST /api/reauth with the right password gives.
func stepUpFake(t *testing.T) (*fake, *atomic.Bool) {
	t.Helper()
	f := newFake(t)
	recent := new(atomic.Bool)
	f.route("DELETE "+shared.PathUsers+"/2", func(w http.ResponseWriter, r *http.Request) {
		if !recent.Load() {
			writeJSON(w, http.StatusUnauthorized, shared.Error{Code: shared.CodeInsufficientUserAuth, Description: "confirm your password", MaxAge: 120})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	f.route("POST "+shared.PathReauth, func(w http.ResponseWriter, r *http.Request) {
		reqs := f.requests("POST " + shared.PathReauth) // the fake has read the body
		form, _ := url.ParseQuery(string(reqs[len(reqs)-1].Body))
		if form.Get("password") != testPassword {
			writeError(w, http.StatusUnauthorized, shared.CodeInvalidGrant, "the password is wrong")
			return
		}
		recent.Store(true)
		writeJSON(w, http.StatusOK, shared.TokenResponse{AccessToken: f.issue(), TokenType: shared.TokenTypeBearer, ExpiresIn: 1800})
	})
	return f, recent
}

// StepUp re-authenticates by itself: the client only retries, once, and
// returns StepUp's own error as it is.
func TestStepUpCallback(t *testing.T) {
	t.Run("done by the callback, then retried once", func(t *testing.T) {
		f, _ := stepUpFake(t)
		c, _ := newClient(t, f)
		login(t, c)
		var asked []time.Duration
		c.StepUp = func(ctx context.Context, maxAge time.Duration) error {
			asked = append(asked, maxAge)
			if err := c.Reauth(ctx, "not it", ""); err == nil {
				t.Error("a wrong password was taken")
			}
			return c.Reauth(ctx, testPassword, "")
		}
		c.Reauthenticate = func(context.Context, time.Duration) (string, string, error) {
			t.Error("Reauthenticate was asked although StepUp is set")
			return "", "", errors.New("no")
		}
		if err := c.DeleteUser(t.Context(), 2); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if len(asked) != 1 || asked[0] != 2*time.Minute {
			t.Errorf("StepUp asked %v, want once with the server's max age of 2m", asked)
		}
		if n := len(f.requests("DELETE " + shared.PathUsers + "/2")); n != 2 {
			t.Errorf("%d DELETE requests, want the refused one and its retry", n)
		}
		if n := len(f.requests("POST " + shared.PathReauth)); n != 2 {
			t.Errorf("%d reauth requests, want the callback's two and none of the client's own", n)
		}
	})
	t.Run("an answer sent before a re-authentication finished is not asked again", func(t *testing.T) {
		// Two changes at once: the first one's step-up is answered while
		// the second is still on its way back with its own 401, earned
		// before. The second is sent again, with no second question.
		f, recent := stepUpFake(t)
		arrived, release := make(chan struct{}), make(chan struct{})
		f.route("DELETE "+shared.PathUsers+"/3", func(w http.ResponseWriter, r *http.Request) {
			stale := !recent.Load()
			if stale {
				close(arrived)
				<-release
				writeJSON(w, http.StatusUnauthorized, shared.Error{Code: shared.CodeInsufficientUserAuth, Description: "confirm your password", MaxAge: 120})
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		c, _ := newClient(t, f)
		login(t, c)
		var asked atomic.Int32
		c.StepUp = func(ctx context.Context, _ time.Duration) error {
			asked.Add(1)
			return c.Reauth(ctx, testPassword, "")
		}
		done := make(chan error, 1)
		go func() { done <- c.DeleteUser(t.Context(), 3) }()
		<-arrived
		if err := c.Reauth(t.Context(), testPassword, ""); err != nil { // the other change's question, answered
			t.Fatal(err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if n := asked.Load(); n != 0 {
			t.Errorf("StepUp asked %d times for a refusal that a re-authentication since had answered", n)
		}
		if n := len(f.requests("DELETE " + shared.PathUsers + "/3")); n != 2 {
			t.Errorf("%d DELETE requests, want the refused one and its retry", n)
		}
	})
	t.Run("given up", func(t *testing.T) {
		f, _ := stepUpFake(t)
		c, _ := newClient(t, f)
		login(t, c)
		declined := errors.New("declined")
		c.StepUp = func(context.Context, time.Duration) error { return declined }
		if err := c.DeleteUser(t.Context(), 2); !errors.Is(err, declined) {
			t.Fatalf("DeleteUser: %v, want StepUp's error", err)
		}
		if n := len(f.requests("DELETE " + shared.PathUsers + "/2")); n != 1 {
			t.Errorf("%d DELETE requests after giving up, want 1", n)
		}
	})
}
