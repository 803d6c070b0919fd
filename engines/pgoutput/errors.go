package pgoutput

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vstreamd/vstreamd/engines"
)

// classify turns a driver or server error into one wrapping the engines
// sentinel that says what went wrong, naming the fix where there is one.
// Errors already classified pass through.
func (s *Source) classify(err error) error {
	if err == nil || isClassified(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	where := s.cfg.Redacted
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg := pe.Message
		switch {
		case pe.Code == "28P01" || pe.Code == "28000":
			return engines.Errorf(engines.ErrSourceUnavailable, "PostgreSQL %s refused the login of %s: %s (check the user and password of the source URL, and pg_hba.conf: it must allow %s connections from vstreamd)", where, s.cfg.User, msg, connKinds)
		case pe.Code == "3D000":
			return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s: %s (the source URL names a database that does not exist)", where, msg)
		case pe.Code == "42501":
			return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s: %s: %s needs LOGIN REPLICATION and SELECT on the streamed tables (ALTER ROLE %s REPLICATION; GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s)", where, msg, s.cfg.User, s.cfg.User, s.cfg.Schema, s.cfg.User)
		case pe.Code == "53400" || strings.Contains(msg, "replication slots are in use") || strings.Contains(msg, "max_wal_senders"):
			return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s: %s: every session stream holds a replication slot and a WAL sender: raise max_replication_slots and max_wal_senders (postgresql.conf, restart), or end idle sessions", where, msg)
		case strings.Contains(msg, "wal_level"):
			return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s: %s: set wal_level = logical (ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL)", where, msg)
		case pe.Code == "55006" || strings.Contains(msg, "is active for PID"):
			return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s: %s: slot %s is in use by another stream; only one stream at a time can read a configured slot", where, msg, s.cfg.Slot)
		case pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "08006" || pe.Code == "08003":
			return engines.Errorf(engines.ErrSourceUnavailable, "PostgreSQL %s is unavailable: %s", where, msg)
		}
		return fmt.Errorf("PostgreSQL %s: %w", where, err)
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || strings.Contains(err.Error(), "connection refused") ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF") {
		return engines.Errorf(engines.ErrSourceUnavailable, "PostgreSQL %s is unreachable: %v", where, engines.Scrub(err.Error(), s.password))
	}
	return fmt.Errorf("PostgreSQL %s: %s", where, engines.Scrub(err.Error(), s.password))
}

const connKinds = "normal and replication"

func isClassified(err error) bool {
	for _, k := range []error{engines.ErrSourceUnavailable, engines.ErrMisconfigured, engines.ErrPositionUnavailable,
		engines.ErrTableNotFound, engines.ErrBadPosition, engines.ErrUnsupported} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
