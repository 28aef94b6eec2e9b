// Package ui is Gatehouse's admin frontend: go-app components, one page per
// file, rendered on the server for the first paint and run in the browser
// as WebAssembly. Every network call goes through the API client of
// app/client.
package ui
