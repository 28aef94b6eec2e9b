package shared

import "slices"

// Role is a user's role. Roles are ordered: viewer < manager < admin.
type Role string

// The roles, lowest first.
const (
	RoleViewer  Role = "viewer"
	RoleManager Role = "manager"
	RoleAdmin   Role = "admin"
)

// Roles lists every role, lowest first.
var Roles = []Role{RoleViewer, RoleManager, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.Rank() > 0 }

// Rank orders roles: 1 for viewer, 2 for manager, 3 for admin, 0 for an
// unknown role.
func (r Role) Rank() int { return slices.Index(Roles, r) + 1 }

// Permission names something a role may do beyond managing its own account.
type Permission string

// The permissions.
const (
	PermUsersRead      Permission = "users:read"
	PermUsersWrite     Permission = "users:write"
	PermSessionsRead   Permission = "sessions:read"
	PermSessionsRevoke Permission = "sessions:revoke"
	PermAuditRead      Permission = "audit:read"
	PermRolesWrite     Permission = "roles:write"
)

// rolePermissions is the role → permission table of the design contract.
var rolePermissions = map[Role][]Permission{
	RoleViewer:  {PermUsersRead},
	RoleManager: {PermUsersRead, PermUsersWrite, PermSessionsRead, PermSessionsRevoke},
	RoleAdmin:   {PermUsersRead, PermUsersWrite, PermSessionsRead, PermSessionsRevoke, PermAuditRead, PermRolesWrite},
}

// Permissions returns the permissions of role r, in a new slice.
func (r Role) Permissions() []Permission { return slices.Clone(rolePermissions[r]) }

// Can reports whether role r holds permission p.
func (r Role) Can(p Permission) bool { return slices.Contains(rolePermissions[r], p) }
