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

// cumOf is the cumulative share of the first function whose short name
// ends with suffix, 0 if none.
func cumOf(shares []share, suffix string) float64 {
	for _, s := range shares {
		if strings.HasSuffix(s.Func, suffix) {
			return s.Cum
		}
	}
	return 0
}

// topCum returns the cumulative shares of the profile (pprof -top -cum),
// largest first: all of them, and the n largest among the functions
// matching re.
func topCum(root, prof string, re *regexp.Regexp, n int) (all, top []share, err error) {
	cmd := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=2000", prof)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, err
	}
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
		sh := share{Func: shortFunc(name), Cum: cum}
		all = append(all, sh)
		if re.MatchString(name) && len(top) < n {
			top = append(top, sh)
		}
	}
	return all, top, nil
}

// shortFunc drops a module's path (a first element with a dot) but keeps the
// standard library's: fliptaudit.(*webhookHandler).ServeHTTP, net/http.(*conn).serve.
func shortFunc(name string) string {
	name = strings.TrimSuffix(name, " (inline)")
	first, _, _ := strings.Cut(name, "/")
	if !strings.Contains(first, ".") {
		return name
	}
	if i := strings.LastIndex(name, "/"); i >= 0 && !strings.Contains(name[:i], "(") {
		return name[i+1:]
	}
	return name
}
