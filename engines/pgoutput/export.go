package pgoutput

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// A hold keeps a snapshot exported for a copy chunk importable for the
// chunks after it, for Config.SnapshotReuse. Each export costs a
// replication connection (a backend, an authentication) and a temporary
// slot, tens of milliseconds, where the chunks of a copy come every
// hundred or so: sharing one export among the chunks of a second makes the
// copy several times cheaper for the server. The price is what any open
// snapshot costs (VACUUM keeps the row versions it sees, the slot keeps
// WAL from its consistent point) for that long, and changes made meanwhile
// reach the stream after those chunks rather than between them.

// export is a snapshot exported by a temporary slot created for it, on a
// replication connection of its own: importable until the connection
// closes (which drops the slot).
type export struct {
	pos  pglogrepl.LSN
	name string
	made time.Time

	mu     sync.RWMutex // imports hold it for reading, close for writing
	conn   *pgconn.PgConn
	closed bool
}

var errExportClosed = errors.New("the exported snapshot was released")

// newExport creates a temporary slot that exports a snapshot.
func (s *Source) newExport(ctx context.Context) (*export, error) {
	conn, err := s.dialReplication(ctx)
	if err != nil {
		return nil, err
	}
	lsn, name, err := createSlot(ctx, conn, slotName(), true, true)
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, s.classify(err)
	}
	return &export{pos: lsn, name: name, made: time.Now(), conn: conn}, nil
}

// fresh reports whether the export may still serve a new chunk.
func (e *export) fresh(reuse time.Duration) bool { return time.Since(e.made) < reuse }

// snapshot imports the export into a transaction reading table.
func (e *export) snapshot(ctx context.Context, s *Source, table string) (*snapshot, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, errExportClosed
	}
	return s.importSnapshot(ctx, e.name, e.pos, table)
}

// close releases the export, once no import is under way.
func (e *export) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	e.conn.Close(ctx)
	cancel()
}
