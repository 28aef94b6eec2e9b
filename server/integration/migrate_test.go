package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/server/boot"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// rows is every user, session and audit event of a store, as it reads them.
type rows struct {
	users    []*store.User
	sessions []*store.Session
	audit    []shared.AuditEvent
}

func readRows(t *testing.T, s store.Reader) rows {
	t.Helper()
	var (
		r   rows
		err error
	)
	if r.users, _, err = s.ListUsers(bg, store.UserFilter{}); err != nil {
		t.Fatal(err)
	}
	if r.sessions, _, err = s.ListSessions(bg, store.SessionFilter{}); err != nil {
		t.Fatal(err)
	}
	if r.audit, _, err = s.ListAudit(bg, store.AuditFilter{}); err != nil {
		t.Fatal(err)
	}
	return r
}

// lists is what an admin reads of users, sessions and the audit log
// through the API.
type lists struct {
	users    *shared.Page[shared.User]
	sessions *shared.Page[shared.Session]
	audit    *shared.Page[shared.AuditEvent]
}

func readLists(t *testing.T, c *client.Client) lists {
	t.Helper()
	var (
		l   lists
		err error
	)
	if l.users, err = c.Users(bg, client.UserQuery{PerPage: shared.MaxPerPage}); err != nil {
		t.Fatal(err)
	}
	if l.sessions, err = c.Sessions(bg, client.SessionQuery{PerPage: shared.MaxPerPage}); err != nil {
		t.Fatal(err)
	}
	if l.audit, err = c.Audit(bg, client.AuditQuery{PerPage: shared.MaxPerPage}); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestMigrateStoreKeepsEveryoneSignedIn fills an SQLite server through the
// API, stops it, moves its database to PostgreSQL with boot.MigrateStore,
// starts a server on PostgreSQL with the same secret at the same moment,
// and checks that nothing a user holds — tokens, lockouts, lists — noticed.
func TestMigrateStoreKeepsEveryoneSignedIn(t *testing.T) {
	t.Parallel()
	pgURL := pgURL(t)
	dataDir := t.TempDir()
	sq := newEnv(t, "GATEHOUSE_DATA_DIR="+dataDir, "GATEHOUSE_LOGIN_FREE=3")

	// Users of every role, a disabled one, a deleted one (the highest ID).
	admin := sq.admin()
	viewer, viewerClient := sq.newUser(shared.RoleViewer)
	_, managerClient := sq.newUser(shared.RoleManager)
	other, _ := sq.newUser(shared.RoleAdmin)
	disabled, _ := sq.newUser(shared.RoleViewer)
	if _, err := admin.UpdateUser(bg, disabled.ID, shared.UserUpdate{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	gone, _ := sq.newUser(shared.RoleViewer)
	if err := admin.DeleteUser(bg, gone.ID); err != nil {
		t.Fatal(err)
	}
	// A session signed out, one whose refresh token rotated once.
	if err := managerClient.Logout(bg); err != nil {
		t.Fatal(err)
	}
	first := granted(t)(sq.rawLogin(other.Username, userPassword))
	sq.clock.Advance(time.Second)
	rotated := granted(t)(sq.refreshWith(first.RefreshToken))
	sq.clock.Advance(11 * time.Second) // past the grace: the first token is now reuse
	// The viewer's account locked out for unknown devices.
	for range 3 {
		resp, body := sq.rawLogin(viewer.Username, "wrong-password")
		wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant)
	}
	resp, body := sq.rawLogin(viewer.Username, userPassword)
	wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)

	viewerToken := viewerClient.Tokens.Token()
	wantRows := readRows(t, sq.sys.Store)
	wantLists := readLists(t, admin)
	sq.srv.Close()
	if err := sq.sys.Close(); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := boot.MigrateStore(bg, filepath.Join(dataDir, "gatehouse.db"), pgURL, false, &out); err != nil {
		t.Fatalf("MigrateStore: %v", err)
	}
	t.Logf("MigrateStore:\n%s", out.String())
	for what, n := range map[string]int{"users": len(wantRows.users), "sessions": len(wantRows.sessions), "audit events": len(wantRows.audit)} {
		if line := fmt.Sprintf("  %-14s %8d\n", what, n); !strings.Contains(out.String(), line) {
			t.Errorf("MigrateStore does not say it copied %d %s:\n%s", n, what, out.String())
		}
	}

	pg := newEnv(t, "GATEHOUSE_DATABASE_URL="+pgURL, "GATEHOUSE_LOGIN_FREE=3")
	pg.clock.Set(sq.clock.Now())
	// The admin's browser, pointed at the new server, with its token.
	pgAdmin := pg.client()
	pgAdmin.Tokens.SetToken(admin.Tokens.Token())

	t.Run("every user, session and audit event is there, every field as it was", func(t *testing.T) {
		got := readRows(t, pg.sys.Store)
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"users", got.users, wantRows.users},
			{"sessions", got.sessions, wantRows.sessions},
			{"audit events", got.audit, wantRows.audit},
		} {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("%s differ:\n got %s\nwant %s", c.name, asJSON(c.got), asJSON(c.want))
			}
		}
	})
	t.Run("the lists an admin reads through the API are the same", func(t *testing.T) {
		got := readLists(t, pgAdmin)
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"users", got.users, wantLists.users},
			{"sessions", got.sessions, wantLists.sessions},
			{"audit events", got.audit, wantLists.audit},
		} {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("%s differ:\n got %s\nwant %s", c.name, asJSON(c.got), asJSON(c.want))
			}
		}
	})
	t.Run("an access token issued before the move still works", func(t *testing.T) {
		resp, body := pg.do("GET", shared.PathMe, viewerToken, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/users/me: %d %s", resp.StatusCode, body)
		}
		var me shared.User
		if err := json.Unmarshal(body, &me); err != nil || me.ID != viewer.ID {
			t.Fatalf("GET /api/users/me = %s, want user %d", body, viewer.ID)
		}
	})
	t.Run("the lockout still holds", func(t *testing.T) {
		resp, body := pg.rawLogin(viewer.Username, userPassword)
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
	})
	t.Run("the disabled user stays out", func(t *testing.T) {
		resp, body := pg.rawLogin(disabled.Username, userPassword)
		wantEnvelope(t, resp, body, http.StatusForbidden, shared.CodeInactiveUser)
	})
	var refreshed shared.TokenResponse
	t.Run("the refresh token from before the move refreshes", func(t *testing.T) {
		refreshed = granted(t)(pg.refreshWith(rotated.RefreshToken))
		if claimsOf(t, refreshed.AccessToken).sid != claimsOf(t, first.AccessToken).sid {
			t.Fatal("the refresh answered a token of another session")
		}
		if r, b := pg.do("GET", shared.PathAuthCheck, refreshed.AccessToken, nil, nil); r.StatusCode != http.StatusNoContent {
			t.Fatalf("the new access token is refused: %d %s", r.StatusCode, b)
		}
	})
	t.Run("an older generation is still reuse: the session is revoked", func(t *testing.T) {
		resp, body := pg.refreshWith(first.RefreshToken)
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
		r, b := pg.do("GET", shared.PathAuthCheck, refreshed.AccessToken, nil, nil)
		wantTokenError(t, r, b, true)
		if ev := pg.audit(shared.ActionRefreshReuse); len(ev) != 1 {
			t.Fatalf("refresh_reuse events %+v, want one", ev)
		}
	})
	t.Run("a new user gets an ID above every one the SQLite store handed out, and signs in", func(t *testing.T) {
		u, err := pgAdmin.CreateUser(bg, shared.UserCreate{Username: "after-move", Password: userPassword, Role: shared.RoleViewer, MustChangePassword: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		if u.ID <= gone.ID {
			t.Fatalf("the new user got ID %d; the deleted user had %d", u.ID, gone.ID)
		}
		pg.login("after-move", userPassword)
	})
}

// asJSON formats v for a failure message.
func asJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}
