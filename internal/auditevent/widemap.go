package auditevent

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata"
)

// narrowMembers is how many members an object is built with pcommon.Map's
// own inserts, each of which scans the keys before it; past that a set of
// keys and an unchecked builder keep a wide object linear in its size.
const narrowMembers = 32

// wideMap builds an object's members in order, refusing duplicate keys.
type wideMap struct {
	dst  pcommon.Map
	n    int
	keys map[string]struct{} // nil while narrow
	// mb is made when the object widens: a builder held by value would
	// move every wideMap to the heap (the values it hands out point into
	// it), one allocation per object.
	mb   *xpdata.MapBuilder
	size int // the object's member count from the scan, 0 if unknown
}

// put adds an empty member under key and returns it, or false if key is
// already there. The value is valid until the next put.
func (w *wideMap) put(key string) (pcommon.Value, bool) {
	if w.keys == nil && w.n < narrowMembers {
		v, existed := w.dst.GetOrPutEmpty(key)
		if existed {
			return v, false
		}
		w.n++
		return v, true
	}
	if w.keys == nil {
		n := 2 * narrowMembers
		if w.size > 0 {
			n = max(w.size, narrowMembers+1)
		}
		w.keys = make(map[string]struct{}, n)
		w.mb = new(xpdata.MapBuilder)
		w.mb.EnsureCapacity(n)
		for k, v := range w.dst.All() {
			w.keys[k] = struct{}{}
			v.MoveTo(w.mb.AppendEmpty(k))
		}
		w.dst.Clear()
	}
	if _, dup := w.keys[key]; dup {
		return pcommon.Value{}, false
	}
	w.keys[key] = struct{}{}
	w.n++
	return w.mb.AppendEmpty(key), true
}

// putStr adds a member of string value s under key, as put then SetStr
// would without first making an empty value, or returns false if key is
// already there.
func (w *wideMap) putStr(key, s string) bool {
	if w.keys == nil && w.n < narrowMembers {
		// PutStr replaces the value of a key already there: the length
		// tells.
		n := w.dst.Len()
		if w.dst.PutStr(key, s); w.dst.Len() == n {
			return false
		}
		w.n++
		return true
	}
	v, ok := w.put(key)
	if ok {
		v.SetStr(s)
	}
	return ok
}

// finish moves a wide object's members into dst.
func (w *wideMap) finish() {
	if w.keys != nil {
		w.mb.UnsafeIntoMap(w.dst)
	}
}
