package api_test

import (
	"fmt"

	"gatehouse/server/api"
)

// Every route is registered together with the policy that guards it, and
// the server can list them — which is how the tests prove that none is
// left unguarded.
func ExampleServer_Routes() {
	s := api.New(api.Options{})
	for _, r := range s.Routes()[:6] {
		fmt.Printf("%-6s %-24s %s\n", r.Method, r.Path, r.Policy)
	}
	// Output:
	// POST   /api/token               public
	// POST   /api/token/refresh       public
	// POST   /api/logout              authenticated, also while enrolling, also while changing password
	// GET    /api/auth/check          authenticated, also while enrolling, also while changing password
	// POST   /api/reauth              authenticated
	// GET    /api/users/me            authenticated, also while enrolling, also while changing password
}
