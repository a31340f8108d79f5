package main

import "testing"

func TestCheckLoopback(t *testing.T) {
	for target, ok := range map[string]bool{
		"http://127.0.0.1:8088/flipt/audit": true,
		"http://localhost:4318":             true,
		"127.0.0.1:4317":                    true,
		"[::1]:4317":                        true,
		"http://10.0.0.1:8088/":             false,
		"http://example.com/":               false,
		"192.168.1.2:4317":                  false,
	} {
		if err := checkLoopback(target); (err == nil) != ok {
			t.Errorf("%s: %v", target, err)
		}
	}
}
