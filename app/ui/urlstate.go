package ui

import (
	"net/url"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// A list's search, filters, sort and page live in the page's address, so
// that a reload keeps them, Back returns to the previous ones and a link
// can be shared. The pages change them by navigating (ctx.Navigate adds a
// history entry) and read them in OnNav, which go-app calls both when the
// page is reached and when only its query changes.

// navigate goes to an address of the app. Host tests replace it, as their
// engine has no routes: see following in helpers_test.go.
var navigate = func(ctx app.Context, url string) { ctx.Navigate(url) }

// pageQuery returns the query of the page shown.
func pageQuery(ctx app.Context) url.Values {
	if u := ctx.Page().URL(); u != nil {
		return u.Query()
	}
	return url.Values{}
}

// pageNumber reads the page= parameter: 1 when absent or not a positive
// number.
func pageNumber(q url.Values) int {
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// listURL is path with the parameters of kv (name, value pairs) that are
// not empty; a page of 1 is left out.
func listURL(path string, page int, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
