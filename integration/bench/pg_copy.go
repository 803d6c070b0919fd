package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// copy: VSTREAM's copy phase against SELECT * through pgx.
func (b *pgBench) copy(ctx context.Context, rep *report) error {
	if !b.loadedT {
		note, err := b.load(ctx, "t", b.o.rows, false)
		if err != nil {
			return err
		}
		b.loadedT, b.tNote = true, note
	}
	// Hint bits and statistics, so that no run pays for the load.
	if _, err := b.admin.Exec(ctx, "VACUUM ANALYZE t").ReadAll(); err != nil {
		return err
	}
	var vals, raws, ss []sample
	for r := 0; r < b.o.reps; r++ {
		x, err := b.timed("baseline", b.o.rows, func() (int, time.Duration, error) { return b.pgxSelect(ctx, true) })
		if err != nil {
			return fmt.Errorf("SELECT, Values(): %w", err)
		}
		y, err := b.timed("baseline", b.o.rows, func() (int, time.Duration, error) { return b.pgxSelect(ctx, false) })
		if err != nil {
			return fmt.Errorf("SELECT, RawValues(): %w", err)
		}
		z, err := b.timed("vstream-client", b.o.rows, func() (int, time.Duration, error) {
			return scanRows(ctx, b.vdb, "SET WORKLOAD=OLAP", "VSTREAM * FROM bench.t WHERE pos > '' AND pos <= 'current'")
		})
		if err != nil {
			return fmt.Errorf("VSTREAM: %w", err)
		}
		vals, raws, ss = append(vals, x), append(raws, y), append(ss, z)
	}
	note := fmt.Sprintf("%d rows (%s); VSTREAM client reads sql.RawBytes", b.o.rows, b.tNote)
	b.addComparison(rep, "pg-copy", "VSTREAM copy", "SELECT * via pgx, Values()", 0.8, vals, ss,
		note+"; baseline: pgx.Conn.Query, each row decoded by rows.Values() (binary format)")
	b.addComparison(rep, "pg-copy", "VSTREAM copy vs raw SELECT", "SELECT * via pgx, RawValues()", 0, raws, ss,
		"the same VSTREAM runs against rows.RawValues() (no decoding: the wire and server limit)")
	return nil
}

// pgxSelect reads SELECT * FROM t through pgx, decoding every value
// (rows.Values) or not (rows.RawValues). The time runs from the query to
// the end of its result.
func (b *pgBench) pgxSelect(ctx context.Context, decode bool) (int, time.Duration, error) {
	conn, err := pgx.Connect(ctx, b.dsn(false))
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(context.Background())
	start := time.Now()
	rows, err := conn.Query(ctx, "SELECT * FROM t")
	if err != nil {
		return 0, 0, err
	}
	n := 0
	for rows.Next() {
		if decode {
			if _, err := rows.Values(); err != nil {
				rows.Close()
				return 0, 0, err
			}
		} else {
			_ = rows.RawValues()
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	return n, time.Since(start), nil
}
