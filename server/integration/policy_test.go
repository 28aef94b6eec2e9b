package integration

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gatehouse/server/api"
	"gatehouse/shared"
)

// pathVar matches a gorilla/mux path variable such as {id} or {id:[0-9]+}.
var pathVar = regexp.MustCompile(`\{([A-Za-z_]+)(?::[^}]*)?\}`)

// routeCase is one registered route made callable: method and a concrete
// path with real ids.
type routeCase struct {
	api.Route
	method, path string
}

func (rc routeCase) name() string {
	return rc.method + " " + rc.Path
}

// callableRoutes walks the router and fills every path variable with a real
// id: a user's for /users/{id}, a session's for /sessions/{id}. A variable
// it does not know fails the test, so that a new route cannot slip through
// unchecked.
func callableRoutes(t *testing.T, e *env, userID int64, sessionID string) []routeCase {
	t.Helper()
	routes := e.sys.API.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes walked", len(routes))
	}
	var out []routeCase
	for _, r := range routes {
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			m := pathVar.FindStringSubmatch(s)
			if m == nil {
				continue
			}
			switch {
			case m[1] == "id" && i > 0 && segs[i-1] == "users":
				segs[i] = strconv.FormatInt(userID, 10)
			case m[1] == "id" && i > 0 && segs[i-1] == "sessions":
				segs[i] = sessionID
			default:
				t.Fatalf("route %s %s: no id to put in {%s}", r.Method, r.Path, m[1])
			}
		}
		path := strings.Join(segs, "/")
		if r.Prefix {
			path = strings.TrimSuffix(path, "/") + "/walked-prefix"
		}
		method := r.Method
		if method == "" {
			method = http.MethodGet
		}
		out = append(out, routeCase{Route: r, method: method, path: path})
	}
	return out
}

func TestEveryRouteEnforcesItsPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	target, _ := e.newUser(shared.RoleViewer)
	_, viewer := e.newUser(shared.RoleViewer)
	vtok := viewer.Tokens.Token()
	// The admin's session: a real session the viewer does not own.
	admin := e.admin()
	routes := callableRoutes(t, e, target.ID, sidOf(t, admin))

	t.Run("every route has a policy", func(t *testing.T) {
		for _, rc := range routes {
			if rc.Policy.String() == "no policy" {
				t.Errorf("route %s has no policy", rc.name())
			}
		}
	})

	var public, guarded, forbidden int
	for _, rc := range routes {
		if rc.Policy.IsPublic() {
			public++
			t.Run("public "+rc.name()+" does not demand a token", func(t *testing.T) {
				resp, body := e.do(rc.method, rc.path, "", nil, nil)
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
					t.Fatalf("status %d without a token; body %s", resp.StatusCode, body)
				}
				if www := resp.Header.Get("WWW-Authenticate"); www != "" {
					t.Fatalf("WWW-Authenticate %q on a public route", www)
				}
			})
			continue
		}
		guarded++
		t.Run(rc.name()+" without a token is 401 with a bare Bearer challenge", func(t *testing.T) {
			resp, body := e.do(rc.method, rc.path, "", nil, nil)
			wantTokenError(t, resp, body, false)
		})
		perm := rc.Policy.Permission()
		if perm != "" && !shared.RoleViewer.Can(perm) {
			forbidden++
			t.Run(rc.name()+" with a viewer's token is 403 insufficient_scope", func(t *testing.T) {
				resp, body := e.do(rc.method, rc.path, vtok, nil, nil)
				env := wantEnvelope(t, resp, body, http.StatusForbidden, shared.CodeInsufficientScope)
				if !strings.Contains(env.Description, string(perm)) {
					t.Errorf("description %q does not name %s", env.Description, perm)
				}
			})
		} else if rc.method == http.MethodGet {
			t.Run(rc.name()+" with a viewer's token is allowed", func(t *testing.T) {
				resp, body := e.do(rc.method, rc.path, vtok, nil, nil)
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
					t.Fatalf("status %d, want 2xx; body %s", resp.StatusCode, body)
				}
			})
		}
	}

	t.Run("the walk found public, guarded and viewer-forbidden routes", func(t *testing.T) {
		// Login, refresh, health and readiness are public; the viewer
		// lacks users:write, sessions:*, audit:read.
		if public < 4 || guarded < 15 || forbidden < 8 {
			t.Fatalf("public %d, guarded %d, viewer-forbidden %d: the walk missed routes", public, guarded, forbidden)
		}
	})

	t.Run("the viewer's refused calls changed nothing", func(t *testing.T) {
		u, err := admin.User(bg, target.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Disabled || u.Role != shared.RoleViewer {
			t.Fatalf("target changed: %+v", u)
		}
		if err := admin.Check(bg); err != nil {
			t.Fatalf("the admin's session was revoked: %v", err)
		}
	})
}
