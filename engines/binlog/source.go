package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/engines"
)

// Options tune a source.
type Options struct {
	Logger *slog.Logger
}

// Source is one MySQL or MariaDB database.
type Source struct {
	cfg      Config
	keyspace string
	db       *sql.DB
	log      *slog.Logger
	nextID   atomic.Uint32  // server_id of the next replication connection
	parsed   memo[position] // recently parsed positions
	gtidPos  memo[string]   // MariaDB: binlog file:offset → GTID position

	mu      sync.Mutex
	flavor  string // detected on first use
	account string // CURRENT_USER() of the source user, as 'user'@'host'
	tables  map[string]*tableInfo

	pre preflightState // see preflight.go
}

var (
	_ engines.Source       = (*Source)(nil)
	_ engines.RowEstimator = (*Source)(nil)
)

// Open prepares a source from its URL. It does not connect: a server that
// is down when vstreamd starts is reported by the first statement that
// needs it.
func Open(ctx context.Context, keyspace string, u *url.URL, opts Options) (*Source, error) {
	cfg, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dsn := mysql.NewConfig()
	dsn.User, dsn.Passwd, dsn.Net, dsn.Addr, dsn.DBName = cfg.User, cfg.Password, "tcp", cfg.Addr(), cfg.Database
	dsn.Timeout, dsn.InterpolateParams = cfg.ConnectTimeout, true
	dsn.Params = map[string]string{"time_zone": "'+00:00'", "sql_mode": "''"}
	dsn.Loc = time.UTC
	if cfg.TLS != nil {
		if err := mysql.RegisterTLSConfig("vstreamd-"+keyspace, cfg.TLS); err != nil {
			return nil, err
		}
		dsn.TLSConfig = "vstreamd-" + keyspace
	}
	connector, err := mysql.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", engines.ErrMisconfigured, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	s := &Source{cfg: cfg, keyspace: keyspace, db: db, log: opts.Logger.With("engine", "binlog", "keyspace", keyspace), tables: make(map[string]*tableInfo)}
	base := cfg.ServerIDBase
	if base == 0 {
		base = 1_000_000_000 + uint32(rand.Int31n(1_000_000_000))
	}
	s.nextID.Store(base)
	return s, nil
}

// Close closes the source's connections.
func (s *Source) Close() error { return s.db.Close() }

// serverID is the replica server_id of a new replication connection: each
// replication connection of the source registers with its own (0 is not a
// valid server_id and is skipped when the counter wraps).
func (s *Source) serverID() uint32 {
	for {
		if id := s.nextID.Add(1) - 1; id != 0 {
			return id
		}
	}
}

// ready detects the flavor (and the source user's account) once. The
// server's settings are checked by preflight.
func (s *Source) ready(ctx context.Context) (string, error) {
	s.mu.Lock()
	flavor := s.flavor
	s.mu.Unlock()
	if flavor != "" {
		return flavor, nil
	}
	var version, comment, account string
	err := s.db.QueryRowContext(ctx, "SELECT VERSION(), @@version_comment, CURRENT_USER()").Scan(&version, &comment, &account)
	if err != nil {
		return "", s.classify(err)
	}
	flavor = flavorMySQL
	if strings.Contains(strings.ToLower(version+" "+comment), "mariadb") {
		flavor = flavorMariaDB
	}
	s.mu.Lock()
	s.flavor, s.account = flavor, accountOf(account)
	s.mu.Unlock()
	return flavor, nil
}

// Tables implements engines.Source.
func (s *Source) Tables(ctx context.Context) ([]string, error) {
	names, err := listTables(ctx, s.db, s.cfg.Database)
	return names, s.classify(err)
}

// Table implements engines.Source. It reads the table's schema afresh.
func (s *Source) Table(ctx context.Context, name string) (*engines.Table, error) {
	t, err := s.loadTable(ctx, name)
	if err != nil {
		return nil, err
	}
	return t.desc, nil
}

// loadTable reads a table's schema and caches it for decoding.
func (s *Source) loadTable(ctx context.Context, name string) (*tableInfo, error) {
	t, err := readTable(ctx, s.db, s.cfg.Database, name)
	if errors.Is(err, engines.ErrTableNotFound) {
		return nil, s.invisibleTable(ctx, name, err)
	}
	if err != nil {
		return nil, s.classify(err)
	}
	s.mu.Lock()
	if s.flavor == flavorMySQL {
		for i := range t.cols {
			t.cols[i].mysqlJSON = t.cols[i].kind == kJSON
		}
	}
	s.tables[strings.ToLower(name)] = t
	s.mu.Unlock()
	return t, nil
}

// cachedTable returns the cached schema of a table, loading it if needed.
func (s *Source) cachedTable(ctx context.Context, name string) (*tableInfo, error) {
	s.mu.Lock()
	t := s.tables[strings.ToLower(name)]
	s.mu.Unlock()
	if t != nil {
		return t, nil
	}
	return s.loadTable(ctx, name)
}

// forget drops cached schemas (after a DDL).
func (s *Source) forget() {
	s.mu.Lock()
	s.tables = make(map[string]*tableInfo)
	s.mu.Unlock()
}

// EstimateRows implements engines.RowEstimator from the table statistics.
func (s *Source) EstimateRows(ctx context.Context, table string) (int64, error) {
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		s.cfg.Database, table).Scan(&n)
	if err != nil || !n.Valid {
		return -1, s.classify(err)
	}
	return n.Int64, nil
}

// Current implements engines.Source.
func (s *Source) Current(ctx context.Context) (engines.Position, error) {
	if err := s.preflight(ctx, checkRead); err != nil {
		return "", err
	}
	p, err := s.current(ctx, s.db)
	if err != nil {
		return "", err
	}
	return p.engine(), nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// current reads the server's position: its GTID set when it has GTIDs,
// else the binlog file and offset.
func (s *Source) current(ctx context.Context, q queryer) (position, error) {
	flavor, err := s.ready(ctx)
	if err != nil {
		return position{}, err
	}
	if flavor == flavorMariaDB {
		var gtid string
		if err := q.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&gtid); err != nil {
			return position{}, s.classify(err)
		}
		return parsePosition(prefixMariaDB+gtid, flavor)
	}
	var mode string
	if err := q.QueryRowContext(ctx, "SELECT @@gtid_mode").Scan(&mode); err == nil && strings.EqualFold(mode, "ON") {
		var gtid string
		if err := q.QueryRowContext(ctx, "SELECT @@global.gtid_executed").Scan(&gtid); err != nil {
			return position{}, s.classify(err)
		}
		return parsePosition(prefixMySQL+strings.ReplaceAll(gtid, "\n", ""), flavor)
	}
	return s.filePosition(ctx, q)
}

// filePosition reads SHOW MASTER STATUS.
func (s *Source) filePosition(ctx context.Context, q queryer) (position, error) {
	var file string
	var offset uint32
	var ignore [3]sql.RawBytes
	row := q.QueryRowContext(ctx, "SHOW MASTER STATUS")
	if err := row.Scan(&file, &offset, &ignore[0], &ignore[1], &ignore[2]); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return position{}, fmt.Errorf("%w: %s has binary logging off: start it with log_bin (and binlog_format=ROW, binlog_row_image=FULL)", engines.ErrMisconfigured, s.cfg.Addr())
		}
		// Older servers return four columns.
		if err2 := q.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, &offset, &ignore[0], &ignore[1]); err2 != nil {
			return position{}, s.classify(err)
		}
	}
	return position{flavor: s.flavor, file: file, offset: offset}, nil
}

// ParsePosition implements engines.Source.
func (s *Source) ParsePosition(str string) (engines.Position, error) {
	flavor, err := s.ready(context.Background())
	if err != nil {
		return "", err
	}
	p, err := parsePosition(str, flavor)
	if err != nil {
		return "", err
	}
	return p.engine(), nil
}

// ComparePositions implements engines.Source.
func (s *Source) ComparePositions(a, b engines.Position) (int, error) {
	flavor, err := s.ready(context.Background())
	if err != nil {
		return 0, err
	}
	pa, err := s.parseCached(string(a), flavor)
	if err != nil {
		return 0, err
	}
	pb, err := s.parseCached(string(b), flavor)
	if err != nil {
		return 0, err
	}
	return compare(pa, pb)
}

// parseCached parses a position, remembering the last few: comparisons
// repeat the same bound or snapshot position. The result must not be
// modified.
func (s *Source) parseCached(str, flavor string) (position, error) {
	if p, ok := s.parsed.get(str); ok {
		return p, nil
	}
	p, err := parsePosition(str, flavor)
	if err == nil {
		s.parsed.put(str, p)
	}
	return p, err
}
