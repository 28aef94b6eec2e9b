// Package ui is Gatehouse's admin frontend: go-app components, one page per
// file, rendered on the server for the first paint and run in the browser
// as WebAssembly. Every network call goes through the API client of
// app/client.
//
// The pages run under a Content-Security-Policy whose style-src and
// script-src are 'self' alone (server/api/csp.go): style with classes from
// web/app.css, never with Style or Styles (a style attribute, which the
// browser refuses), and add no inline script or event-handler attribute.
// SVG presentation attributes (fill, stroke) are not styles and are fine.
package ui
