//go:build !race

package fliptaudit

const raceEnabled = false
