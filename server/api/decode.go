package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"gatehouse/server/admin"
	"gatehouse/shared"
)

func unsupportedMedia(want string) error {
	return &httpError{http.StatusUnsupportedMediaType, shared.CodeInvalidRequest, "the body must be " + want}
}

func hasMediaType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

// decodeJSON reads one JSON object into v, a pointer to a struct: the body
// must be application/json, at most 1 MiB, one object and nothing after
// it, whose keys are exactly the struct's JSON field names — no unknown
// field, no field spelt in another case (encoding/json would match
// "Full_Name" to full_name), no key twice.
func decodeJSON(r *http.Request, v any) error {
	if !hasMediaType(r, "application/json") {
		return unsupportedMedia("application/json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			return err
		}
		return badRequest("reading the body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("the body is empty; a JSON object is expected")
	}
	if err := checkKeys(body, fieldNames(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("unexpected data after the JSON object")
	}
	return nil
}

// checkKeys checks that body is a JSON object whose keys are all in known,
// each once.
func checkKeys(body []byte, known map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return badRequest("malformed JSON: a JSON object is expected")
	}
	seen := make(map[string]bool)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return badRequest("malformed JSON: %v", err)
		}
		k, _ := t.(string)
		switch {
		case !known[k]:
			return badRequest("unknown field %q", k)
		case seen[k]:
			return badRequest("field %q appears twice", k)
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return badRequest("malformed JSON: %v", err)
		}
	}
	return nil
}

// fieldNames returns the JSON names of the fields of the struct v points
// to.
func fieldNames(v any) map[string]bool {
	t := reflect.TypeOf(v).Elem()
	names := make(map[string]bool, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case name == "":
			names[f.Name] = true
		default:
			names[name] = true
		}
	}
	return names
}

// parseForm reads an application/x-www-form-urlencoded body. An empty body
// without a content type is accepted as an empty form.
func parseForm(r *http.Request) (url.Values, error) {
	if r.Header.Get("Content-Type") == "" && r.ContentLength == 0 {
		return url.Values{}, nil
	}
	if !hasMediaType(r, "application/x-www-form-urlencoded") {
		return nil, unsupportedMedia("application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			return nil, err
		}
		return nil, badRequest("malformed form: %v", err)
	}
	return r.PostForm, nil
}

// pageOf reads page and per_page from the query: 1 and 20 by default,
// per_page at most 100.
func pageOf(q url.Values) (admin.Page, error) {
	p := admin.Page{Page: 1, PerPage: shared.DefaultPerPage}
	for _, f := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &p.Page, 1 << 30}, {"per_page", &p.PerPage, shared.MaxPerPage}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > f.max {
			return p, badRequest("%s must be a whole number from 1 to %d", f.name, f.max)
		}
		*f.dst = n
	}
	return p, nil
}

// boolParam reads an optional boolean query parameter.
func boolParam(q url.Values, name string) (*bool, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, badRequest("%s must be true or false", name)
	}
	return &b, nil
}
