package shared

import (
	"fmt"
	"strings"
)

// Page is the envelope of every list answer.
type Page[T any] struct {
	Items   []T `json:"items"`
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

// Paging defaults and limits for list queries.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
	// MaxFilterLen bounds, in characters, the text filters of the lists
	// (the users list's q, the audit log's actor and action): no field they
	// match is longer (an e-mail address is at most 254).
	MaxFilterLen = 254
)

// Pages returns how many pages the list has (at least 1).
func (p Page[T]) Pages() int {
	if p.PerPage <= 0 || p.Total <= p.PerPage {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}

// Orders of the users list (GET /api/users?sort=KEY, or sort=-KEY for
// descending). Without sort= the list is newest first, as "-created".
const (
	SortUsername = "username"
	SortRole     = "role" // by rank, viewer < manager < admin; then by username
	SortCreated  = "created"
)

// UserSort is an order of the users list. The zero value is the default,
// newest first.
type UserSort struct {
	Key  string // SortUsername, SortRole or SortCreated; "" for the default
	Desc bool
}

// ParseUserSort reads a sort= value: a key, with a leading '-' for
// descending; "" is the default order.
func ParseUserSort(s string) (UserSort, error) {
	if s == "" {
		return UserSort{}, nil
	}
	key, desc := strings.CutPrefix(s, "-")
	switch key {
	case SortUsername, SortRole, SortCreated:
		return UserSort{Key: key, Desc: desc}, nil
	}
	return UserSort{}, fmt.Errorf("sort must be %s, %s or %s, with a leading '-' for descending", SortUsername, SortRole, SortCreated)
}

// Normal returns the order s stands for, the default spelled out
// ({SortCreated, true}).
func (s UserSort) Normal() UserSort {
	if s.Key == "" {
		return UserSort{Key: SortCreated, Desc: true}
	}
	return s
}

// String is the sort= value of s: "" for the default order.
func (s UserSort) String() string {
	if s.Normal() == (UserSort{}).Normal() {
		return ""
	}
	if s.Desc {
		return "-" + s.Key
	}
	return s.Key
}
