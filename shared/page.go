package shared

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
)

// Pages returns how many pages the list has (at least 1).
func (p Page[T]) Pages() int {
	if p.PerPage <= 0 || p.Total <= p.PerPage {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}
