package binlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/internal/box"
)

// Reconnection: a broken replication connection is re-established from the
// last transaction boundary sent, for at most Config.Reconnect in a row;
// attempts start reconnectFirst apart and back off to reconnectMax. A
// connection that delivered a transaction, or stayed up healthyAfter, was a
// success: the next failure starts a new window.
const (
	reconnectFirst = 100 * time.Millisecond
	reconnectMax   = 2 * time.Second
	healthyAfter   = time.Second
	batchEvents    = 1024
)

// sendError marks an error returned by the caller's send: it ends the
// stream as is.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// Stream implements engines.Source: it reads the binary log as a replica
// from the transaction after from.
func (s *Source) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	if err := s.preflight(ctx, checkStream); err != nil {
		return err
	}
	flavor, err := s.ready(ctx)
	if err != nil {
		return err
	}
	start, err := parsePosition(string(from), flavor)
	if err != nil {
		return err
	}
	r := newReader(s, flavor, start, tables, send)
	var downSince time.Time
	wait := reconnectFirst
	for {
		err := r.run(ctx)
		var se *sendError
		switch {
		case errors.As(err, &se):
			return se.err
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case !r.established:
			return s.classifyStream(err)
		}
		// Everything sent is before sentPos (plus sentRows rows of the
		// transaction after it): that is where a failure leaves the reader.
		err = s.classifyStream(err)
		if !errors.Is(err, engines.ErrSourceUnavailable) {
			return engines.AtPosition(r.sentPos.engine(), err)
		}
		if r.progressed || (!r.upSince.IsZero() && time.Since(r.upSince) >= healthyAfter) {
			downSince, wait = time.Time{}, reconnectFirst
		}
		r.progressed = false
		if downSince.IsZero() {
			downSince = time.Now()
		}
		if window := s.cfg.Reconnect; time.Since(downSince) >= window {
			if window > 0 {
				err = fmt.Errorf("%w (reconnecting for %s did not help)", err, window)
			}
			return engines.AtPosition(r.sentPos.engine(), err)
		}
		s.log.Warn("replication connection lost; reconnecting", "pos", r.sentPos.String(), "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		wait = min(2*wait, reconnectMax)
	}
}

// newReader is the reader of a Stream of tables from start, before it
// connects. (The replay tests build theirs here too.)
func newReader(s *Source, flavor string, start position, tables []string, send func([]engines.Event) error) *reader {
	r := &reader{s: s, flavor: flavor, pos: start, want: make(map[string]bool, len(tables)), send: send}
	for _, t := range tables {
		r.want[strings.ToLower(t)] = true
	}
	return r
}

// reader is one Stream's state across reconnections.
type reader struct {
	s           *Source
	flavor      string
	want        map[string]bool
	send        func([]engines.Event) error
	established bool
	progressed  bool      // events were sent since the last failure
	upSince     time.Time // when the current connection delivered its first event

	pos     position // after the last complete transaction processed
	file    string   // current binlog file (file positions)
	txnGTID string   // GTID of the transaction in progress
	inTxn   bool     // between BEGIN and its commit
	txnRows int      // rows of the transaction in progress, seen (dropped ones included)
	txnTime time.Time

	// What send has been given, updated only when a batch is sent: a
	// reconnect resumes at sentPos and drops the first sentRows rows of
	// transaction sentTxn, which were sent before the connection broke.
	// They survive reconnects that break again before the replay passes
	// them.
	sentPos  position
	sentTxn  string
	sentRows int
	skipRows int    // during a replay: rows of the transaction still to drop
	skipGTID string // … and its GTID
	replayed bool   // the transaction in progress is already in pos: ignore it

	buf     []engines.Event
	rowless bool // the last buffered event is a Commit without rows

	// The image decoding of the last table map (see planFor), and the
	// rows of the last rows event.
	plan     []imageColumn
	planOK   bool
	planTM   *replication.TableMapEvent
	planCols *column
	imageBuf [][]any
	text     box.Arena // the decoded texts of rows
	box      box.Slab  // … and their values
}

// run replicates until an error; the caller decides whether to reconnect.
func (r *reader) run(ctx context.Context) error {
	s := r.s
	cfg := replication.BinlogSyncerConfig{
		ServerID: s.serverID(), Flavor: r.flavor, Host: s.cfg.Host, Port: uint16(s.cfg.Port),
		User: s.cfg.User, Password: s.cfg.Password, TLSConfig: s.cfg.TLS,
		TimestampStringLocation: time.UTC, HeartbeatPeriod: s.cfg.Heartbeat,
		DisableRetrySync: true, // no ReadTimeout: see watchedConn
		EventCacheCount:  64, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// DATETIME and TIMESTAMP as time.Time, not texts to parse again
		// (dates and the zero or pre-1970 datetimes stay texts).
		ParseTime: true,
		// MySQL's binary JSON, rendered with MySQL's key order and number
		// forms (MariaDB's JSON is text and unaffected).
		RenderJSONAsMySQLText: r.flavor == flavorMySQL,
		RowsEventDecodeFunc:   decodeRowsEvent,
	}
	var closing atomic.Bool
	cfg.Dialer = dialUntil(ctx, s.cfg.ConnectTimeout, 10*s.cfg.Heartbeat+5*time.Second, &closing)
	syncer := replication.NewBinlogSyncer(cfg)
	// Closing kills the dump thread with KILL, which returns only once the
	// server notices (up to a heartbeat later): let that finish in the
	// background so the stream ends at once. (The connection itself closes
	// as soon as ctx ends: see dialUntil.)
	defer func() {
		closing.Store(true)
		go syncer.Close()
	}()
	if r.established {
		// Resume after the last transaction sent; the one in flight starts
		// over from its beginning, so drop the rows already sent.
		r.pos = r.sentPos.clone()
		r.skipRows, r.skipGTID = r.sentRows, r.sentTxn
		if r.skipRows > 0 {
			s.log.Info("resuming replication inside a transaction: dropping the rows already sent",
				"pos", r.pos.String(), "gtid", r.skipGTID, "rows", r.skipRows)
		}
	} else {
		r.sentPos = r.pos.clone()
		r.sentTxn, r.sentRows = "", 0
	}
	r.upSince = time.Time{}
	r.inTxn, r.txnRows, r.txnGTID = false, 0, ""
	r.buf, r.rowless = r.buf[:0], false
	var st *replication.BinlogStreamer
	var err error
	if r.pos.gtid != nil {
		st, err = syncer.StartSyncGTID(r.pos.gtid.Clone())
	} else {
		r.file = r.pos.file
		st, err = syncer.StartSync(gomysql.Position{Name: r.pos.file, Pos: r.pos.offset})
	}
	if err != nil {
		return s.classifyStream(err)
	}
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			return err
		}
		if r.upSince.IsZero() {
			r.upSince = time.Now()
		}
		if !r.established {
			// The server checks the requested position before it sends
			// anything: a first event means it accepted it.
			r.established = true
			if err := r.send(nil); err != nil {
				return &sendError{err}
			}
		}
		if err := r.handle(ctx, ev); err != nil {
			return err
		}
		for _, ev := range st.DumpEvents() {
			if err := r.handle(ctx, ev); err != nil {
				return err
			}
			if len(r.buf) >= batchEvents {
				if err := r.flush(); err != nil {
					return err
				}
			}
		}
		if err := r.flush(); err != nil {
			return err
		}
	}
}

// flush sends the buffered events: everything processed is then sent.
func (r *reader) flush() error {
	if len(r.buf) == 0 {
		return nil
	}
	if err := r.send(r.buf); err != nil {
		return &sendError{err}
	}
	r.sentPos = r.pos.clone()
	r.sentTxn, r.sentRows = r.txnGTID, r.txnRows
	r.buf, r.rowless = r.buf[:0], false
	r.progressed = true
	return nil
}

// handle processes one binlog event.
func (r *reader) handle(ctx context.Context, ev *replication.BinlogEvent) error {
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		r.file = string(e.NextLogName)
		if r.pos.gtid == nil && ev.Header.Timestamp != 0 {
			r.pos.file, r.pos.offset = r.file, uint32(e.Position)
		}
	case *replication.MariadbGTIDEvent:
		r.beginTxn(e.GTID.String())
		r.inTxn = !e.IsStandalone()
	case *replication.GTIDEvent:
		r.beginTxn(mysqlGTID(e))
		if e.OriginalCommitTimestamp > 0 {
			r.txnTime = time.UnixMicro(int64(e.OriginalCommitTimestamp)).UTC()
		}
	case *replication.QueryEvent:
		if r.replayed {
			r.replayed = !r.endsTxn(e)
			return nil
		}
		return r.query(ctx, ev, e)
	case *replication.RowsEvent:
		if r.replayed {
			return nil
		}
		return r.rows(ctx, ev, e)
	case *replication.XIDEvent:
		if r.replayed {
			r.replayed = false
			return nil
		}
		r.commit(ev)
	case *replication.TransactionPayloadEvent:
		for _, inner := range e.Events {
			if err := r.handle(ctx, inner); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *reader) beginTxn(gtid string) {
	r.txnGTID, r.txnRows, r.inTxn = gtid, 0, false
	r.txnTime = time.Time{}
	// A MySQL-protocol server that ignores the GTID set of the dump request
	// (Dolt does) sends transactions the position already holds.
	r.replayed = false
	if r.flavor == flavorMySQL && r.pos.gtid != nil {
		if one, err := gomysql.ParseMysqlGTIDSet(gtid); err == nil && r.pos.gtid.Contain(one) {
			r.replayed = true
		}
	}
	if r.skipRows > 0 && !r.replayed && gtid != r.skipGTID {
		r.skipRows = 0 // not the transaction that was in flight: nothing to drop
	}
}

func mysqlGTID(e *replication.GTIDEvent) string {
	u := fmt.Sprintf("%x-%x-%x-%x-%x", e.SID[0:4], e.SID[4:6], e.SID[6:8], e.SID[8:10], e.SID[10:16])
	if tag := e.Tag.String(); tag != "" {
		return fmt.Sprintf("%s:%s:%d", u, tag, e.GNO)
	}
	return fmt.Sprintf("%s:%d", u, e.GNO)
}

// endsTxn reports whether a query event ends a transaction: a COMMIT, or
// a statement of its own (DDL).
func (r *reader) endsTxn(e *replication.QueryEvent) bool {
	q := strings.TrimSpace(string(e.Query))
	switch {
	case strings.EqualFold(q, "BEGIN"):
		r.inTxn = true
		return false
	case strings.EqualFold(q, "COMMIT"):
		return true
	}
	return !r.inTxn
}

// query handles BEGIN, COMMIT and DDL.
func (r *reader) query(ctx context.Context, ev *replication.BinlogEvent, e *replication.QueryEvent) error {
	q := strings.TrimSpace(string(e.Query))
	switch {
	case strings.EqualFold(q, "BEGIN"):
		r.inTxn = true
		return nil
	case strings.EqualFold(q, "COMMIT"):
		r.commit(ev)
		return nil
	case r.inTxn:
		return nil // a statement inside a transaction (STATEMENT-format writes, SAVEPOINT …)
	}
	// A statement of its own: DDL. It may change any table of the database.
	r.s.forget()
	truncate := isTruncate(q)
	for _, t := range ddlTables(q, string(e.Schema), r.s.cfg.Database) {
		if r.want[strings.ToLower(t)] {
			r.commitPos(ev)
			r.buf = append(r.buf, engines.Event{Kind: engines.SchemaChange, Table: t, Pos: r.pos.engine(), Truncated: truncate})
			r.rowless = false
		}
	}
	r.commit(ev)
	return nil
}

// commit ends the transaction in progress: the position moves past it.
func (r *reader) commit(ev *replication.BinlogEvent) {
	r.commitPos(ev)
	t := r.txnTime
	if t.IsZero() && ev.Header.Timestamp != 0 {
		t = time.Unix(int64(ev.Header.Timestamp), 0).UTC()
	}
	c := engines.Event{Kind: engines.Commit, Pos: r.pos.engine(), Time: t}
	if r.txnRows == 0 && r.rowless {
		r.buf[len(r.buf)-1] = c
	} else {
		r.buf = append(r.buf, c)
	}
	r.rowless = r.txnRows == 0
	r.inTxn, r.txnRows, r.txnGTID = false, 0, ""
	r.skipRows = 0
}

// commitPos moves the position past the transaction in progress.
func (r *reader) commitPos(ev *replication.BinlogEvent) {
	if r.pos.gtid != nil {
		if r.txnGTID != "" {
			if err := r.pos.gtid.Update(r.txnGTID); err != nil {
				r.s.log.Error("updating the GTID position", "gtid", r.txnGTID, "err", err)
			}
		}
		return
	}
	if ev.Header.LogPos != 0 {
		r.pos.file, r.pos.offset = r.file, ev.Header.LogPos
	}
}

// rows decodes a row event of a wanted table.
func (r *reader) rows(ctx context.Context, ev *replication.BinlogEvent, e *replication.RowsEvent) error {
	if e.Table == nil || !strings.EqualFold(string(e.Table.Schema), r.s.cfg.Database) || !r.want[strings.ToLower(string(e.Table.Table))] {
		return nil
	}
	name := string(e.Table.Table)
	t, err := r.s.cachedTable(ctx, name)
	if err != nil {
		return err
	}
	cols, names, err := r.columns(ctx, t, e.Table)
	if err != nil {
		return err
	}
	if r.txnTime.IsZero() && ev.Header.Timestamp != 0 {
		r.txnTime = time.Unix(int64(ev.Header.Timestamp), 0).UTC()
	}
	images, err := r.images(ev.Header.EventType, e, cols)
	if err != nil {
		return fmt.Errorf("a change of %s.%s: %w", r.s.cfg.Database, name, err)
	}
	emit := func(before, after []any) {
		r.txnRows++
		if r.skipRows > 0 {
			r.skipRows--
			return
		}
		r.buf = append(r.buf, engines.Event{Kind: engines.RowChange, Table: t.desc.Name, Columns: names, Before: before, After: after, Time: r.txnTime})
		r.rowless = false
	}
	switch {
	case isUpdate(ev.Header.EventType):
		for i := 0; i+1 < len(images); i += 2 {
			emit(images[i], images[i+1])
		}
	case isDelete(ev.Header.EventType):
		for _, row := range images {
			emit(row, nil)
		}
	default:
		for _, row := range images {
			emit(nil, row)
		}
	}
	r.imageBuf = images[:0]
	return nil
}

func isUpdate(t replication.EventType) bool {
	switch t {
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
		replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1, replication.PARTIAL_UPDATE_ROWS_EVENT:
		return true
	}
	return false
}

func isDelete(t replication.EventType) bool {
	switch t {
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2,
		replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		return true
	}
	return false
}

// images returns the row images of a rows event as engine values, in
// order: an update's before and after images alternate. The image decoder
// (images.go) reads them when it can; go-mysql otherwise.
func (r *reader) images(t replication.EventType, e *replication.RowsEvent, cols []column) ([][]any, error) {
	if u, ok := undecodedImages(e); ok {
		// Not MariaDB's compressed events, MySQL's partial JSON updates
		// or the events of MySQL 5.1.
		var bitmap2 []byte
		fast := true
		switch t {
		case replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2:
			bitmap2 = e.ColumnBitmap2
		case replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2,
			replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2:
		default:
			fast = false
		}
		if fast && r.planFor(e.Table, cols) {
			rows, err := readImages(r.imageBuf[:0], r.plan, u.data[u.pos:], e.ColumnBitmap1, bitmap2, &r.text, &r.box)
			if !errors.Is(err, errUseGoMySQL) {
				return rows, err
			}
		}
		if err := decodeWithGoMySQL(e); err != nil {
			return nil, err
		}
	}
	// go-mysql made each row for this event alone: convert it in place.
	for _, row := range e.Rows {
		if len(row) != len(cols) {
			// The rows event and its table map disagree: a damaged event.
			return nil, fmt.Errorf("a row image of %d values where its table map has %d columns", len(row), len(cols))
		}
		for i, v := range row {
			x, err := cols[i].fromBinlog(v)
			if err != nil {
				return nil, err
			}
			row[i] = x
		}
	}
	return e.Rows, nil
}

// planFor makes r.plan the image decoding of a table map's columns into
// cols, and reports whether the image decoder reads them all.
func (r *reader) planFor(tm *replication.TableMapEvent, cols []column) bool {
	if tm == nil || len(cols) == 0 {
		return false
	}
	if tm != r.planTM || &cols[0] != r.planCols {
		r.plan, r.planOK = imagePlan(r.plan, tm, cols)
		r.planTM, r.planCols = tm, &cols[0]
	}
	return r.planOK
}

// columns matches a row event's columns with the table's: by name when the
// binlog carries names (binlog_row_metadata=FULL), else by position, which
// needs the same number of columns as the table has now.
func (r *reader) columns(ctx context.Context, t *tableInfo, tm *replication.TableMapEvent) ([]column, []string, error) {
	if names := tm.ColumnNameString(); len(names) == int(tm.ColumnCount) && len(names) > 0 {
		if sameColumns(names, t.names) {
			return t.cols, t.names, nil
		}
		cols := make([]column, len(names))
		for i, n := range names {
			cols[i] = column{name: n, kind: kOther}
			for _, c := range t.cols {
				if strings.EqualFold(c.name, n) {
					cols[i] = c
				}
			}
		}
		return cols, names, nil
	}
	if int(tm.ColumnCount) == len(t.cols) {
		return t.cols, t.names, nil
	}
	// The schema may have changed since it was read: read it again.
	fresh, err := r.s.loadTable(ctx, t.desc.Name)
	if err == nil && int(tm.ColumnCount) == len(fresh.cols) {
		return fresh.cols, fresh.names, nil
	}
	return nil, nil, fmt.Errorf("%w: a change of %s.%s has %d columns but the table has %d now; without binlog_row_metadata=FULL the binary log does not name its columns: set binlog_row_metadata=FULL on the server, or resume from a position after the schema change",
		engines.ErrUnsupported, r.s.cfg.Database, t.desc.Name, tm.ColumnCount, len(t.cols))
}

func sameColumns(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// ReconnectWindow is how long a stream re-establishes a broken replication
// connection before it fails (the URL parameter reconnect): a copy in
// progress retries its chunks as long (see vstream.Reconnector).
func (s *Source) ReconnectWindow() time.Duration { return s.cfg.Reconnect }
