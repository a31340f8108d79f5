package glob

import "testing"

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"flipt.Flipt/GetFlag", "flipt.Flipt/GetFlag", true},
		{"flipt.Flipt/GetFlag", "flipt.Flipt/GetFlags", false},
		{"flipt.evaluation.EvaluationService/*", "flipt.evaluation.EvaluationService/Variant", true},
		{"flipt.evaluation.EvaluationService/*", "flipt.evaluation.DataService/EvaluationSnapshotNamespace", false},
		{"flipt.Flipt/Get*", "flipt.Flipt/GetFlag", true},
		{"flipt.Flipt/Get*", "flipt.Flipt/ListFlags", false},
		{"*", "", true},
		{"*/Get*", "svc/GetX", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"ab*ba", "aba", false},
		{"*.Check", "grpc.health.v1.Health/Check", false},
	}
	for _, c := range cases {
		if got := Compile(c.pattern).Match(c.name); got != c.want {
			t.Errorf("%q.Match(%q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
	if !CompileAll([]string{"x", "y*"}).Match("yes") || CompileAll([]string{"x"}).Match("y") {
		t.Error("Set.Match")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	p := Compile("flipt.evaluation.*Service/*")
	if n := testing.AllocsPerRun(100, func() { p.Match("flipt.evaluation.EvaluationService/Batch") }); n != 0 {
		t.Fatalf("allocs = %v", n)
	}
}
