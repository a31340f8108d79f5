package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// share is one function's cumulative part of a CPU profile.
type share struct {
	Func string
	Cum  float64 // percent of all samples
}

// topCum returns the n largest cumulative shares of the profile among the
// functions matching re (pprof -top -cum), largest first.
func topCum(root, prof string, re *regexp.Regexp, n int) ([]share, error) {
	cmd := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=2000", prof)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var shares []share
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !strings.HasSuffix(f[4], "%") {
			continue
		}
		cum, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		if err != nil {
			continue
		}
		name := strings.Join(f[5:], " ")
		if !re.MatchString(name) {
			continue
		}
		shares = append(shares, share{Func: shortFunc(name), Cum: cum})
		if len(shares) == n {
			break
		}
	}
	return shares, nil
}

// shortFunc drops a module's path (a first element with a dot) but keeps the
// standard library's: fliptaudit.(*webhookHandler).ServeHTTP, net/http.(*conn).serve.
func shortFunc(name string) string {
	first, _, _ := strings.Cut(name, "/")
	if !strings.Contains(first, ".") {
		return name
	}
	if i := strings.LastIndex(name, "/"); i >= 0 && !strings.Contains(name[:i], "(") {
		return name[i+1:]
	}
	return name
}
