package e2etest

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Ports are handed out below Linux's ephemeral range (32768-60999 by
// default), which the kernel uses for outgoing connections and for port 0:
// a port taken from there could be given to a client connection, or to
// another listener, between this check and the collector binding it.
const (
	portBase  = 20000
	portRange = 12000
)

var (
	portMu sync.Mutex
	handed = map[int]bool{} // ports this process gave out already
)

// FreePort returns a loopback port that was free a moment ago and that
// this process has not handed out before.
func FreePort(t testing.TB) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range 1000 {
		p := portBase + rand.IntN(portRange)
		if handed[p] {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		l.Close()
		handed[p] = true
		return p
	}
	t.Fatal("no free loopback port below the ephemeral range")
	return 0
}

// FreeAddr returns "127.0.0.1:PORT" for a free loopback port.
func FreeAddr(t testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(FreePort(t))
}

var client = &http.Client{Timeout: 30 * time.Second}

// Response is what an HTTP call answered.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends req and reads the whole answer.
func Do(t testing.TB, req *http.Request) Response {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", req.URL, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// Post sends body to url with the given content type and extra headers
// (pairs of name, value).
func Post(t testing.TB, url, contentType string, body []byte, headers ...string) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return Do(t, req)
}

// Get fetches url.
func Get(t testing.TB, url string) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Do(t, req)
}

// ReadFile returns the file's content, or "" when it does not exist yet.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
