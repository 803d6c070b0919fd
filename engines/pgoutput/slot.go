package pgoutput

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// dialReplication opens a replication connection (replication=database).
func (s *Source) dialReplication(ctx context.Context) (*pgconn.PgConn, error) {
	u, err := s.cfg.connURL()
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("replication", "database")
	u.RawQuery = q.Encode()
	c, err := pgconn.Connect(ctx, u.String())
	if err != nil {
		return nil, s.classify(err)
	}
	return c, nil
}

// slotName returns a fresh name for a temporary slot.
func slotName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "vstreamd_" + hex.EncodeToString(b)
}

// createSlot creates a logical slot on conn; with export, the snapshot it
// exports stays importable until conn runs its next command.
func createSlot(ctx context.Context, conn *pgconn.PgConn, name string, temporary, export bool) (pglogrepl.LSN, string, error) {
	action := "NOEXPORT_SNAPSHOT"
	if export {
		action = "EXPORT_SNAPSHOT"
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, conn, name, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Temporary: temporary, SnapshotAction: action, Mode: pglogrepl.LogicalReplication})
	if err != nil {
		return 0, "", err
	}
	lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return 0, "", fmt.Errorf("slot %s: consistent point %q: %w", name, res.ConsistentPoint, err)
	}
	return lsn, res.SnapshotName, nil
}

// exportedSnapshot reads table in a snapshot exported by a temporary slot
// made for it and dropped as soon as the snapshot is imported: the
// snapshot is exactly at the slot's consistent point.
func (s *Source) exportedSnapshot(ctx context.Context, table string) (*snapshot, error) {
	e, err := s.newExport(ctx)
	if err != nil {
		return nil, err
	}
	defer e.close() // the temporary slot goes with its connection
	return e.snapshot(ctx, s, table)
}
