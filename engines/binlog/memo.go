package binlog

import "sync"

// memo remembers a few recent results of a costly, pure function of a
// string: parsed positions (a stream compares the same bound or snapshot
// position with every commit), and the GTID position of a binlog offset
// (MariaDB computes it by reading the binlog up to the offset).
type memo[V any] struct {
	mu   sync.Mutex
	keys [8]string
	vals [8]V
	next int
}

func (m *memo[V]) get(k string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, key := range m.keys {
		if key == k && k != "" {
			return m.vals[i], true
		}
	}
	var zero V
	return zero, false
}

func (m *memo[V]) put(k string, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[m.next], m.vals[m.next] = k, v
	m.next = (m.next + 1) % len(m.keys)
}
