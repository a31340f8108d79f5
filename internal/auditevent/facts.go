package auditevent

import "math"

// scanFacts is what a scan learns of its data for the decoder that builds
// the same data after it, in the order the decoder meets them.
type scanFacts struct {
	sizes objectSizes
	ends  stringEnds
}

// fewObjects is how many objects' sizes are held without a slice: a
// Flipt event's objects (the event, metadata, actor, payload and a few in
// it), so that a request of one event makes no allocation for them.
const fewObjects = 8

// objectSizes is a list of member counts, the first fewObjects of them in
// place: a slice would be one allocation per request (the decoder's
// strings leak, and with them whatever it points to).
type objectSizes struct {
	few  [fewObjects]int32
	more []int32
	n    int
}

// add appends a count of 0 and returns its index.
func (o *objectSizes) add() int {
	if o.n >= fewObjects {
		o.more = append(o.more, 0)
	}
	o.n++
	return o.n - 1
}

func (o *objectSizes) set(i int, v int32) {
	if i < fewObjects {
		o.few[i] = v
	} else {
		o.more[i-fewObjects] = v
	}
}

func (o *objectSizes) at(i int) int32 {
	if i < fewObjects {
		return o.few[i]
	}
	return o.more[i-fewObjects]
}

// fewStrings is how many strings' lengths a scan keeps: every string of
// nearly every request Flipt sends (19 to 56 in the captures), in place.
const fewStrings = 40

// notPlainString is the length kept for a string that is not plain ASCII
// or too long to keep.
const notPlainString = math.MaxUint16

// stringEnds holds the raw length of each of the first fewStrings strings
// of the data, or notPlainString, so that the decoder reads a plain
// string without looking for its end again. It finds later strings' ends
// itself: what the scan keeps does not grow with the body.
type stringEnds struct {
	len [fewStrings]uint16
	n   int
}

// add appends the raw length n of the next string, notPlainString for
// one that is not plain.
func (e *stringEnds) add(n int) {
	if e.n < fewStrings {
		e.len[e.n] = uint16(min(n, notPlainString))
		e.n++
	}
}
