package pgoutput

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"

	"github.com/jackc/pglogrepl"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/vstreamd/vstreamd/engines"
)

// Source streams one PostgreSQL schema.
type Source struct {
	keyspace string
	cfg      Config
	password string // only to keep it out of messages
	log      *slog.Logger
	db       *sql.DB

	mu        sync.Mutex
	checked   bool               // preflight passed
	published map[string]bool    // tables known to be in the publication
	holds     map[*hold]struct{} // open holds, closed with the source
	closed    bool
}

var (
	_ engines.Source       = (*Source)(nil)
	_ engines.Holder       = (*Source)(nil)
	_ engines.RowEstimator = (*Source)(nil)
)

// sessionParams are set on every connection so that values come in the
// forms the decoder reads: ISO dates, UTC time stamps, hex bytea,
// round-trip floats.
var sessionParams = map[string]string{
	"timezone": "UTC", "datestyle": "ISO", "intervalstyle": "postgres", "bytea_output": "hex",
	"extra_float_digits": "1", "client_encoding": "UTF8",
}

// Open prepares a source for keyspace from its URL. It does not connect:
// a source that is down makes statements fail, not vstreamd's start.
func Open(ctx context.Context, keyspace string, u *url.URL, opts Options) (*Source, error) {
	cfg, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	cu, err := cfg.connURL()
	if err != nil {
		return nil, err
	}
	password, _ := u.User.Password()
	q := cu.Query()
	for k, v := range sessionParams {
		q.Set(k, v)
	}
	cu.RawQuery = q.Encode()
	cfg.ConnString = cu.String()
	db, err := sql.Open("pgx", cfg.ConnString)
	if err != nil {
		return nil, engines.Errorf(engines.ErrMisconfigured, "keyspace %s: source URL %s: %s", keyspace, cfg.Redacted, engines.Scrub(err.Error(), password))
	}
	db.SetMaxIdleConns(4)
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Source{keyspace: keyspace, cfg: cfg, password: password, db: db, published: map[string]bool{}, holds: map[*hold]struct{}{},
		log: log.With("engine", "pgoutput", "keyspace", keyspace, "source", cfg.Redacted)}, nil
}

// Config returns the parsed source URL.
func (s *Source) Config() Config { return s.cfg }

// preflight checks once that the server can stream: PostgreSQL 12 or
// later, wal_level logical, a role with REPLICATION.
func (s *Source) preflight(ctx context.Context) error {
	s.mu.Lock()
	ok := s.checked
	s.mu.Unlock()
	if ok {
		return nil
	}
	var version int
	var level string
	var repl bool
	err := s.db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int, current_setting('wal_level'),
		(SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user)`).Scan(&version, &level, &repl)
	if err != nil {
		return s.classify(err)
	}
	switch {
	case version < 120000:
		return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s is version %d; vstreamd needs 12 or later", s.cfg.Redacted, version/10000)
	case level != "logical":
		return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s has wal_level = %s: logical replication needs wal_level = logical (ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL)", s.cfg.Redacted, level)
	case !repl:
		return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s: role %s lacks the REPLICATION attribute (ALTER ROLE %s REPLICATION)", s.cfg.Redacted, s.cfg.User, s.cfg.User)
	}
	s.mu.Lock()
	s.checked = true
	s.mu.Unlock()
	return nil
}

// Tables lists the schema's tables.
func (s *Source) Tables(ctx context.Context) ([]string, error) {
	t, err := listTables(ctx, s.db, s.cfg.Schema)
	return t, s.classify(err)
}

// Table describes one table.
func (s *Source) Table(ctx context.Context, name string) (*engines.Table, error) {
	t, err := readTable(ctx, s.db, s.cfg.Schema, name)
	if err != nil {
		return nil, s.classify(err)
	}
	return t.engineTable(), nil
}

// Current is the end of the last WAL record written.
func (s *Source) Current(ctx context.Context) (engines.Position, error) {
	l, err := s.insertPosition(ctx)
	if err != nil {
		return "", err
	}
	return position(l), nil
}

// ParsePosition accepts an LSN (16/B374D848).
func (s *Source) ParsePosition(p string) (engines.Position, error) {
	lsn, err := pglogrepl.ParseLSN(p)
	if err != nil || lsn == 0 {
		return "", engines.Errorf(engines.ErrBadPosition, "%q is not a PostgreSQL LSN (like 0/16B3748)", p)
	}
	return position(lsn), nil
}

// ComparePositions orders two LSNs.
func (s *Source) ComparePositions(a, b engines.Position) (int, error) {
	x, err := pglogrepl.ParseLSN(string(a))
	if err != nil {
		return 0, engines.Errorf(engines.ErrBadPosition, "%q is not a PostgreSQL LSN", a)
	}
	y, err := pglogrepl.ParseLSN(string(b))
	if err != nil {
		return 0, engines.Errorf(engines.ErrBadPosition, "%q is not a PostgreSQL LSN", b)
	}
	return cmp3(int64(x), int64(y)), nil
}

func position(l pglogrepl.LSN) engines.Position { return engines.Position(l.String()) }

func lsnOf(p engines.Position) (pglogrepl.LSN, error) {
	l, err := pglogrepl.ParseLSN(string(p))
	if err != nil {
		return 0, engines.Errorf(engines.ErrBadPosition, "%q is not a PostgreSQL LSN", p)
	}
	return l, nil
}

// EstimateRows reads the planner's row estimate.
func (s *Source) EstimateRows(ctx context.Context, table string) (int64, error) {
	var n float64
	err := s.db.QueryRowContext(ctx, `SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`, s.cfg.Schema, table).Scan(&n)
	if err != nil {
		return -1, s.classify(err)
	}
	if n < 0 {
		return -1, nil
	}
	return int64(n), nil
}

// Hold takes a hold on the source's history for one session stream of
// table (a temporary replication slot, or the configured permanent one).
// The table is published first: a slot only ever decodes changes of the
// tables its publication had when they were made.
func (s *Source) Hold(ctx context.Context, table string) (engines.Hold, error) {
	if err := s.preflight(ctx); err != nil {
		return nil, err
	}
	if err := s.ensurePublished(ctx, []string{table}); err != nil {
		return nil, err
	}
	if s.cfg.Slot != "" {
		if err := s.ensureSlot(ctx); err != nil {
			return nil, err
		}
	}
	h := &hold{src: s, lag: lagged{window: s.cfg.ResumeWindow}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, engines.Errorf(engines.ErrSourceUnavailable, "keyspace %s is closed", s.keyspace)
	}
	s.holds[h] = struct{}{}
	return h, nil
}

// Snapshot outside a hold reads a snapshot exported by a short-lived slot.
func (s *Source) Snapshot(ctx context.Context, table string) (engines.Snapshot, error) {
	if err := s.preflight(ctx); err != nil {
		return nil, err
	}
	if err := s.ensurePublished(ctx, []string{table}); err != nil {
		return nil, err
	}
	return s.exportedSnapshot(ctx, table)
}

// Stream outside a hold streams through a hold of its own, released when
// it returns: only positions at or after that moment are available (or
// those a configured slot still holds).
func (s *Source) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	var h engines.Hold
	for i, t := range tables {
		if i == 0 {
			var err error
			if h, err = s.Hold(ctx, t); err != nil {
				return err
			}
			defer h.Close()
		} else if err := s.ensurePublished(ctx, []string{t}); err != nil {
			return err
		}
	}
	if h == nil {
		return engines.Errorf(engines.ErrUnsupported, "a stream of no table")
	}
	return h.Stream(ctx, from, tables, send)
}

// Close ends every hold and connection.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed = true
	hs := s.holds
	s.holds = map[*hold]struct{}{}
	s.mu.Unlock()
	for h := range hs {
		h.Close()
	}
	return s.db.Close()
}

func (s *Source) forget(h *hold) {
	s.mu.Lock()
	delete(s.holds, h)
	s.mu.Unlock()
}

// ensurePublished makes sure the publication streams table: a configured
// publication must contain it; vstreamd's own is created and extended as
// tables are streamed. A table is added before any slot that streams it is
// created, so no change of it can be decoded without it.
func (s *Source) ensurePublished(ctx context.Context, tables []string) error {
	pub := s.cfg.publication()
	for _, t := range tables {
		s.mu.Lock()
		done := s.published[t]
		s.mu.Unlock()
		if done {
			continue
		}
		var in bool
		err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3)`, pub, s.cfg.Schema, t).Scan(&in)
		if err != nil {
			return s.classify(err)
		}
		if !in {
			if err := s.publish(ctx, pub, t); err != nil {
				return err
			}
		}
		s.mu.Lock()
		s.published[t] = true
		s.mu.Unlock()
	}
	return nil
}

func (s *Source) publish(ctx context.Context, pub, table string) error {
	qualified := quoteIdent(s.cfg.Schema) + "." + quoteIdent(table)
	if s.cfg.Publication != "" {
		return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s: publication %s does not publish %s: ALTER PUBLICATION %s ADD TABLE %s", s.cfg.Redacted, pub, qualified, pub, qualified)
	}
	t, err := readTable(ctx, s.db, s.cfg.Schema, table)
	if err != nil {
		return s.classify(err)
	}
	if t.identity == "n" || (t.identity == "d" && t.keyKind != engines.PrimaryKey) {
		return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s: table %s has no primary key, so once published PostgreSQL would refuse its UPDATEs and DELETEs: give it a primary key, or ALTER TABLE %s REPLICA IDENTITY FULL", s.cfg.Redacted, qualified, qualified)
	}
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, pub).Scan(&exists); err != nil {
		return s.classify(err)
	}
	stmt := "ALTER PUBLICATION " + quoteIdent(pub) + " ADD TABLE " + qualified
	if !exists {
		stmt = "CREATE PUBLICATION " + quoteIdent(pub) + " FOR TABLE " + qualified
	}
	if _, err := s.db.ExecContext(ctx, stmt); err != nil {
		var dup bool
		if errors.As(err, new(interface{ SQLState() string })) {
			dup = sqlState(err) == "42710" // added concurrently
		}
		if dup {
			return nil
		}
		if sqlState(err) == "42501" {
			return engines.Errorf(engines.ErrMisconfigured, "PostgreSQL %s: %s may not publish %s (%v): as the table owner, CREATE PUBLICATION %s FOR TABLE %s (or ALTER PUBLICATION %s ADD TABLE …), and set ?publication=%s in the source URL if it has another name", s.cfg.Redacted, s.cfg.User, qualified, err, pub, qualified, pub, pub)
		}
		return s.classify(fmt.Errorf("%s: %w", stmt, err))
	}
	s.log.Info("published a table for streaming", "publication", pub, "table", qualified)
	return nil
}

func sqlState(err error) string {
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		return e.SQLState()
	}
	return ""
}
