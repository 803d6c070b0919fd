package mssqlcdc

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/microsoft/go-mssqldb" // database/sql driver "sqlserver"

	"github.com/vstreamd/vstreamd/engines"
)

// Source streams the CDC-enabled tables of one schema of a SQL Server
// database.
type Source struct {
	keyspace string
	cfg      Config
	password string // only to keep it out of messages
	log      *slog.Logger
	db       *sql.DB

	mu      sync.Mutex
	checked bool          // preflight passed
	tz      time.Duration // the server's offset from UTC
	warned  map[string]bool

	marks marks // positions of the snapshots taken (see marks.go)
}

var (
	_ engines.Source       = (*Source)(nil)
	_ engines.RowEstimator = (*Source)(nil)
)

// Open prepares a source for keyspace from its URL. It does not connect:
// a source that is down makes statements fail, not vstreamd's start.
func Open(ctx context.Context, keyspace string, u *url.URL, opts Options) (*Source, error) {
	cfg, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	pw, _ := u.User.Password()
	db, err := sql.Open("sqlserver", cfg.ConnString)
	if err != nil {
		return nil, engines.Errorf(engines.ErrMisconfigured, "keyspace %s: source URL %s: %s", keyspace, cfg.Redacted, engines.Scrub(err.Error(), pw))
	}
	return newSource(keyspace, cfg, db, pw, opts), nil
}

// newSource makes a source over an open database handle (the tests' is
// the simulated server's).
func newSource(keyspace string, cfg Config, db *sql.DB, password string, opts Options) *Source {
	db.SetMaxIdleConns(4)
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Source{keyspace: keyspace, cfg: cfg, db: db, password: password, warned: map[string]bool{},
		log: log.With("engine", "mssqlcdc", "keyspace", keyspace, "source", cfg.Redacted)}
}

// Config returns the parsed source URL.
func (s *Source) Config() Config { return s.cfg }

// ReconnectWindow is how long streams and copies ride out a lost
// connection (see vstream.Reconnector).
func (s *Source) ReconnectWindow() time.Duration { return s.cfg.Reconnect }

// preflight checks once that the database can be streamed: an edition with
// CDC, CDC enabled on the database, SNAPSHOT isolation allowed, durable
// commits, and VIEW DATABASE STATE for the log and capture-job DMVs.
func (s *Source) preflight(ctx context.Context) error {
	s.mu.Lock()
	ok := s.checked
	s.mu.Unlock()
	if ok {
		return nil
	}
	var (
		dbName, version              string
		edition, snapshotState, dura int64
		cdc                          bool
		viewState, viewPerf          sql.NullInt64
		tzMinutes                    int64
	)
	err := s.db.QueryRowContext(ctx, qPreflight).Scan(&dbName, &edition, &version, &cdc, &snapshotState, &dura, &viewState, &viewPerf, &tzMinutes)
	if err != nil {
		return s.classify(err)
	}
	where, db := "SQL Server "+s.cfg.Redacted, quoteName(dbName)
	major, _ := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	switch {
	case edition == 4:
		return engines.Errorf(engines.ErrMisconfigured, "%s is SQL Server Express, which has no change data capture: use Standard, Enterprise or Developer edition (or Azure SQL Managed Instance / Database)", where)
	case major > 0 && major < 13:
		return engines.Errorf(engines.ErrMisconfigured, "%s is version %s: vstreamd needs SQL Server 2016 SP2 (13.0.5026) or later (sys.dm_db_log_stats)", where, version)
	case !cdc:
		return engines.Errorf(engines.ErrMisconfigured, "%s: change data capture is not enabled for database %s: as a sysadmin, USE %s; EXEC sys.sp_cdc_enable_db; then enable each table (sys.sp_cdc_enable_table)", where, db, db)
	case snapshotState != 1:
		return engines.Errorf(engines.ErrMisconfigured, "%s: database %s does not allow SNAPSHOT isolation, which the copy phase reads in: ALTER DATABASE %s SET ALLOW_SNAPSHOT_ISOLATION ON", where, db, db)
	case dura == 2:
		return engines.Errorf(engines.ErrMisconfigured, "%s: database %s forces delayed durability: a commit is then visible before it is in the log, and copy positions would be wrong: ALTER DATABASE %s SET DELAYED_DURABILITY = DISABLED", where, db, db)
	case viewState.Int64 != 1 && viewPerf.Int64 != 1:
		return engines.Errorf(engines.ErrMisconfigured, "%s: %s needs VIEW DATABASE STATE in %s to read the log's end and the capture job's progress (sys.dm_db_log_stats, sys.dm_cdc_log_scan_sessions): GRANT VIEW DATABASE STATE TO %s", where, s.cfg.User, db, quoteName(s.cfg.User))
	}
	if dura == 1 {
		s.log.Warn("the database allows delayed durability: a transaction committed WITH (DELAYED_DURABILITY = ON) can be visible to a copy chunk before it is in the log, and then be streamed twice", "database", dbName)
	}
	s.mu.Lock()
	s.checked, s.tz = true, time.Duration(tzMinutes)*time.Minute
	s.mu.Unlock()
	return nil
}

// Tables lists the schema's tables whose changes the user may read.
func (s *Source) Tables(ctx context.Context) ([]string, error) {
	if err := s.preflight(ctx); err != nil {
		return nil, err
	}
	t, err := s.listTables(ctx)
	return t, s.classify(err)
}

// Table describes one table.
func (s *Source) Table(ctx context.Context, name string) (*engines.Table, error) {
	if err := s.preflight(ctx); err != nil {
		return nil, err
	}
	t, err := s.readTable(ctx, name)
	if err != nil {
		return nil, s.classify(err)
	}
	return t.engineTable(), nil
}

// Current is the end of the transaction log: every transaction committed
// so far is at or before it.
func (s *Source) Current(ctx context.Context) (engines.Position, error) {
	if err := s.preflight(ctx); err != nil {
		return "", err
	}
	l, err := s.logEnd(ctx, s.db)
	if err != nil {
		return "", err
	}
	return l.position(), nil
}

// queryRower is a database handle or a transaction.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// logEnd reads the LSN of the last log record.
func (s *Source) logEnd(ctx context.Context, q queryRower) (lsn, error) {
	var v any
	if err := q.QueryRowContext(ctx, qLogEnd).Scan(&v); err != nil {
		return lsn{}, s.classify(err)
	}
	l, err := lsnValue(v)
	if err != nil || l.isZero() {
		return lsn{}, fmt.Errorf("SQL Server %s: sys.dm_db_log_stats: log_end_lsn %v is not an LSN of the form 0000002A:00000F58:0003", s.cfg.Redacted, v)
	}
	return l, nil
}

// ParsePosition accepts an LSN (0000002A:00000F58:0003 or
// 0x0000002A00000F580003).
func (s *Source) ParsePosition(p string) (engines.Position, error) {
	l, err := positionLSN(engines.Position(p))
	if err != nil {
		return "", err
	}
	return l.position(), nil
}

// ComparePositions orders two LSNs.
func (s *Source) ComparePositions(a, b engines.Position) (int, error) {
	x, err := positionLSN(a)
	if err != nil {
		return 0, err
	}
	y, err := positionLSN(b)
	if err != nil {
		return 0, err
	}
	return x.compare(y), nil
}

// EstimateRows reads the row count of the table's heap or clustered index.
func (s *Source) EstimateRows(ctx context.Context, name string) (int64, error) {
	var n sql.NullInt64
	q := quoteName(s.cfg.Schema) + "." + quoteName(name)
	if err := s.db.QueryRowContext(ctx, qRowEstimate, q).Scan(&n); err != nil {
		return -1, s.classify(err)
	}
	if !n.Valid {
		return -1, nil
	}
	return n.Int64, nil
}

// Close closes the source's connections.
func (s *Source) Close() error { return s.db.Close() }

// warnOnce logs a warning the first time its key is seen.
func (s *Source) warnOnce(key, msg string, args ...any) {
	s.mu.Lock()
	seen := s.warned[key]
	s.warned[key] = true
	s.mu.Unlock()
	if !seen {
		s.log.Warn(msg, args...)
	}
}

// serverOffset is the server's offset from UTC (read by preflight).
func (s *Source) serverOffset() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tz
}
