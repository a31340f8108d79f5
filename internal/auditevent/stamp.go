package auditevent

import "time"

// parseStamp reads an event's timestamp as time.Parse(time.RFC3339, s)
// does. The form Flipt writes, "2006-01-02T15:04:05Z", is read here, a
// tenth of time.Parse's work; any other goes to time.Parse.
func parseStamp(s string) (time.Time, error) {
	if y, mo, d, h, mi, sec, ok := utcStamp(s); ok {
		return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), nil
	}
	return time.Parse(time.RFC3339, s)
}

// validStamp reports whether parseStamp accepts s.
func validStamp(s string) bool {
	if _, _, _, _, _, _, ok := utcStamp(s); ok {
		return true
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// utcStamp splits s if it is "2006-01-02T15:04:05Z" exactly with every
// field in the range time.Parse allows (a day within its month, no leap
// second); ok is false for any other s, which time.Parse may still take.
func utcStamp(s string) (y, mo, d, h, mi, sec int, ok bool) {
	if len(s) != len("2006-01-02T15:04:05Z") || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return 0, 0, 0, 0, 0, 0, false
	}
	cy, yy := twoDigits(s, 0), twoDigits(s, 2)
	mo, d, h, mi, sec = twoDigits(s, 5), twoDigits(s, 8), twoDigits(s, 11), twoDigits(s, 14), twoDigits(s, 17)
	y = cy*100 + yy
	ok = cy >= 0 && yy >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(mo, y) &&
		h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 59
	return y, mo, d, h, mi, sec, ok
}

// twoDigits is the number the two digits at s[i:] write, or -1 if they
// are not both digits.
func twoDigits(s string, i int) int {
	a, b := s[i]-'0', s[i+1]-'0'
	if a > 9 || b > 9 {
		return -1
	}
	return int(a)*10 + int(b)
}

// daysIn is the number of days in month mo (1 to 12) of year y.
func daysIn(mo, y int) int {
	if mo == 2 {
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + (mo+mo/8)%2
}
