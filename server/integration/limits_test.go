package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/shared"
)

// A body whose Content-Length is over 1 MiB is refused at once, before a
// byte of it arrives: the server neither reads nor waits for it.
func TestABodyAnnouncedOverOneMebibyteIsRefusedBeforeItIsSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.admin().Tokens.Token()
	for _, tt := range []struct {
		name        string
		method      string
		path        string
		token       string
		contentType string
		length      int
	}{
		{"a sign-in form of 1 MiB and a byte", "POST", shared.PathToken, "", "application/x-www-form-urlencoded", shared.MaxRequestBodySize + 1},
		{"a JSON profile of 1 GiB", "PATCH", shared.PathMe, tok, "application/json", 1 << 30},
	} {
		t.Run(tt.name+" is 413 at once", func(t *testing.T) {
			conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			head := []string{
				tt.method + " " + tt.path + " HTTP/1.1",
				"Host: " + e.srv.Listener.Addr().String(),
				"Content-Type: " + tt.contentType,
				fmt.Sprintf("Content-Length: %d", tt.length),
			}
			if tt.token != "" {
				head = append(head, "Authorization: Bearer "+tt.token)
			}
			if _, err := io.WriteString(conn, strings.Join(head, "\r\n")+"\r\n\r\n"); err != nil { // and no body
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer while the body was still awaited: %v", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			wantEnvelope(t, resp, body, http.StatusRequestEntityTooLarge, shared.CodeInvalidRequest)
		})
	}
}
