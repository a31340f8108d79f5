package marks

// entry is one key with the time its mark ends.
type entry[K Key] struct {
	key K
	exp int64
}

// ring holds the entries in insertion order in one fixed-size array; an
// entry keeps its place until it leaves, so the index can point at it.
type ring[K Key] struct {
	items []entry[K]
	head  int // place of the oldest entry
	n     int
}

// Len is the number of entries.
func (r *ring[K]) Len() int { return r.n }

// at is the place of the i-th oldest entry.
func (r *ring[K]) at(i int) int32 {
	p := r.head + i
	if p >= len(r.items) {
		p -= len(r.items)
	}
	return int32(p)
}

func (r *ring[K]) front() *entry[K] { return &r.items[r.head] }

// push adds e at the back and returns its place; the ring must have room.
func (r *ring[K]) push(e entry[K]) int32 {
	p := r.at(r.n)
	r.items[p] = e
	r.n++
	return p
}

func (r *ring[K]) pop() {
	r.head++
	if r.head == len(r.items) {
		r.head = 0
	}
	r.n--
}

// resize moves the entries, oldest first, into an array of size n.
func (r *ring[K]) resize(n int) {
	items := make([]entry[K], n)
	for i := range r.n {
		items[i] = r.items[r.at(i)]
	}
	r.items, r.head = items, 0
}
