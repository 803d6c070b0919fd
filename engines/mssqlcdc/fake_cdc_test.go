package mssqlcdc

// The fake SQL Server's change data capture, from Microsoft's pages on
// CDC ("What is change data capture", "The capture job", cdc.<ci>_CT,
// cdc.lsn_time_mapping, sys.dm_cdc_log_scan_sessions, the sys.sp_cdc_*
// procedures and sys.fn_cdc_* functions):
//
//   - sys.sp_cdc_enable_table makes a capture instance (at most two a
//     table); its validity interval starts (start_lsn, the low end) only
//     once the capture job has processed the log record of its creation;
//   - the capture job reads the log after where its last scan ended, in
//     LSN order; for every committed transaction it writes one change row
//     per row change of a captured table, made after the capture instance
//     (__$start_lsn the commit LSN, __$seqval the change's own LSN):
//     1 delete, 2 insert, 3 and 4 the row before and after an update
//     (sharing their seqval); an update of primary key columns is a
//     delete and an insert (the "split update" SQL Server logs); image,
//     text and ntext columns are NULL in rows 1 and 3, the (max) types NULL
//     in row 3 unless the update changed them; transactions with change
//     rows get a cdc.lsn_time_mapping entry; a scan that processed
//     commits without change rows logs one entry with tran_id 0x00 (the
//     "completion of LSN processing in periods of low activity" the
//     table's page mentions) at the last of them; every scan is a log scan
//     session (sys.dm_cdc_log_scan_sessions) ending at the log's end when
//     it started (or where maxtrans stopped it); the job's own writes are
//     log records after that end;
//   - sys.fn_cdc_get_max_lsn() is the greatest cdc.lsn_time_mapping
//     start_lsn (NULL while there is none);
//   - the change functions fail with error 313 outside [min, max];
//   - sys.sp_cdc_cleanup_change_table removes change rows below a low
//     water mark and moves the capture instance's start_lsn to it.

import (
	"sort"
	"strings"
	"time"
)

type fci struct {
	name      string
	t         *ftable
	objectID  int64
	cols      []int // captured column positions in t
	role      string
	created   time.Time
	createSeq uint64
	start     uint64 // log record number of the low end; 0: not established
	rows      []changeRow
}

type changeRow struct {
	start, seq uint64
	op         int64
	vals       []any
	changed    []bool // per captured column: the update mask
}

type lsnTimeRow struct {
	start      uint64
	begin, end time.Time // local server time
	tranID     []byte
}

type scanSession struct {
	id         int64
	start, end time.Time
	startSeq   uint64
	endSeq     uint64
	tranCount  int64
	empty      bool
}

type cdcState struct {
	cis      []*fci
	lsnTime  []lsnTimeRow
	sessions []scanSession
	scanned  uint64 // the log record the last scan ended at
	agent    bool   // SQL Server Agent (the capture job) runs
	maxTrans int    // transactions a scan processes at most (0: all)
	stop     chan struct{}
}

// enableTable is sys.sp_cdc_enable_table.
func (s *fakeServer) enableTable(t *ftable, name, role string, cols []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opts.cdcEnabled {
		return sqlErr(22901, "The database '%s' is not enabled for Change Data Capture. Ensure that the correct database context is set and retry the operation.", s.opts.database)
	}
	if name == "" {
		name = t.schema + "_" + t.name
	}
	n := 0
	for _, ci := range s.cdc.cis {
		if strings.EqualFold(ci.name, name) {
			return sqlErr(22926, "Could not create a capture instance because the capture instance name '%s' already exists in the current database.", name)
		}
		if ci.t == t {
			n++
		}
	}
	if n >= 2 {
		return sqlErr(22962, "Two capture instances already exist for source table '%s.%s'.", t.schema, t.name)
	}
	ci := &fci{name: name, t: t, role: role, created: s.now().Add(s.opts.tzOffset)}
	if len(cols) == 0 {
		for i := range t.cols {
			ci.cols = append(ci.cols, i)
		}
	}
	for _, c := range cols {
		i := t.col(strings.TrimSpace(strings.Trim(strings.TrimSpace(c), "[]")))
		if i < 0 {
			return sqlErr(22946, "Could not find column '%s' in table '%s'.", c, t.name)
		}
		ci.cols = append(ci.cols, i)
	}
	sort.Ints(ci.cols)
	s.objectSeq++
	ci.objectID = s.objectSeq
	ci.createSeq = s.appendLog(logRec{kind: recCDCEnable, ci: ci})
	s.cdc.cis = append(s.cdc.cis, ci)
	t.tracked = true
	return nil
}

// disableTable is sys.sp_cdc_disable_table.
func (s *fakeServer) disableTable(t *ftable, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []*fci
	for _, ci := range s.cdc.cis {
		if ci.t == t && (strings.EqualFold(name, "all") || strings.EqualFold(ci.name, name)) {
			continue
		}
		keep = append(keep, ci)
	}
	s.cdc.cis = keep
	t.tracked = false
	for _, ci := range keep {
		if ci.t == t {
			t.tracked = true
		}
	}
}

// capture runs one scan of the capture job, if it runs.
func (s *fakeServer) capture() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cdc.agent {
		return
	}
	c := &s.cdc
	sess := scanSession{id: int64(len(c.sessions) + 1), start: s.now().Add(s.opts.tzOffset), startSeq: c.scanned + 1, endSeq: s.seq}
	var last uint64
	wrote := false
	for _, r := range s.log[c.scanned:s.seq] {
		switch r.kind {
		case recCDCEnable:
			if r.ci.start == 0 {
				r.ci.start = r.seq
			}
		case recCommit:
			if c.maxTrans > 0 && sess.tranCount == int64(c.maxTrans) {
				sess.endSeq = r.seq - 1
				break
			}
			sess.tranCount++
			last = r.seq
			if s.captureTxn(r) {
				wrote = true
				c.lsnTime = append(c.lsnTime, lsnTimeRow{start: r.seq, begin: r.txn.began.Add(s.opts.tzOffset), end: r.txn.done.Add(s.opts.tzOffset), tranID: []byte{0, 0, 0, byte(r.txn.id >> 8), byte(r.txn.id), 0, 0, 0, 0, 0}})
			}
		}
		if sess.endSeq < r.seq {
			break
		}
	}
	if last != 0 && !wrote && (len(c.lsnTime) == 0 || c.lsnTime[len(c.lsnTime)-1].start < last) {
		c.lsnTime = append(c.lsnTime, lsnTimeRow{start: last, begin: s.now().Add(s.opts.tzOffset), end: s.now().Add(s.opts.tzOffset), tranID: make([]byte, 10)})
		wrote = true
	}
	c.scanned = sess.endSeq
	sess.empty = sess.tranCount == 0
	sess.end = s.now().Add(s.opts.tzOffset)
	c.sessions = append(c.sessions, sess)
	if len(c.sessions) > 32 { // the view keeps the last 32 sessions
		c.sessions = c.sessions[1:]
	}
	if wrote {
		s.appendLog(logRec{kind: recCapture})
	}
}

// captureTxn writes a committed transaction's change rows; it reports
// whether there were any.
func (s *fakeServer) captureTxn(r logRec) bool {
	found := false
	for _, op := range r.txn.ops {
		for _, ci := range s.cdc.cis {
			if ci.t != op.t || op.seq < ci.createSeq {
				continue
			}
			found = true
			pick := func(row []any, op int64, changed []bool) changeRow {
				cr := changeRow{start: r.seq, seq: 0, op: op, changed: changed}
				for j, i := range ci.cols {
					var v any
					if row != nil && i < len(row) {
						v = row[i]
					}
					switch ci.t.cols[i].typ.name {
					case "text", "ntext", "image":
						if op == 1 || op == 3 {
							v = nil
						}
					case "varchar", "nvarchar", "varbinary":
						if ci.t.cols[i].typ.n < 0 && op == 3 && !changed[j] {
							v = nil
						}
					}
					cr.vals = append(cr.vals, v)
				}
				return cr
			}
			all := make([]bool, len(ci.cols))
			for j := range all {
				all[j] = true
			}
			switch op.kind {
			case 'I':
				ci.rows = append(ci.rows, withSeq(pick(op.after, 2, all), op.seq))
			case 'D':
				ci.rows = append(ci.rows, withSeq(pick(op.before, 1, all), op.seq))
			case 'U':
				changed := make([]bool, len(ci.cols))
				for j, i := range ci.cols {
					c, err := compareNullable(op.before[i], op.after[i])
					changed[j] = err != nil || c != 0
				}
				keyMoved := false
				for _, k := range op.t.pk {
					if c, err := compareNullable(op.before[k], op.after[k]); err != nil || c != 0 {
						keyMoved = true
					}
				}
				if keyMoved {
					ci.rows = append(ci.rows, withSeq(pick(op.before, 1, all), op.seq), withSeq(pick(op.after, 2, all), op.seq))
				} else {
					ci.rows = append(ci.rows, withSeq(pick(op.before, 3, changed), op.seq), withSeq(pick(op.after, 4, changed), op.seq))
				}
			}
		}
	}
	return found
}

func withSeq(c changeRow, seq uint64) changeRow {
	c.seq = seq
	return c
}

func compareNullable(a, b any) (int, error) {
	switch {
	case a == nil && b == nil:
		return 0, nil
	case a == nil || b == nil:
		return 1, nil
	}
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil // an update to another case is a change
		}
	}
	return compareVals(a, b)
}

// runAgent runs the capture job every interval until stopAgent.
func (s *fakeServer) runAgent(interval time.Duration) {
	s.mu.Lock()
	if s.cdc.stop != nil {
		s.mu.Unlock()
		return
	}
	stop := make(chan struct{})
	s.cdc.stop = stop
	s.mu.Unlock()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.capture()
			}
		}
	}()
}

func (s *fakeServer) stopAgent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cdc.stop != nil {
		close(s.cdc.stop)
		s.cdc.stop = nil
	}
}

// setAgent starts or stops the capture job (SQL Server Agent).
func (s *fakeServer) setAgent(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cdc.agent = on
}

// maxLSNSeq is sys.fn_cdc_get_max_lsn() as a log record number (0: NULL).
func (s *fakeServer) maxLSNSeq() uint64 {
	var m uint64
	for _, e := range s.cdc.lsnTime {
		m = max(m, e.start)
	}
	return m
}

// instance finds a capture instance by name; the caller holds s.mu.
func (s *fakeServer) instance(name string) *fci {
	for _, ci := range s.cdc.cis {
		if strings.EqualFold(ci.name, name) {
			return ci
		}
	}
	return nil
}

func (u *fakeUser) canReadCI(ci *fci) bool {
	return u.dbOwner || (u.canSelect(ci.t) && (ci.role == "" || u.roles[strings.ToLower(ci.role)]))
}

// cleanup is sys.sp_cdc_cleanup_change_table.
func (s *fakeServer) cleanup(ci *fci, lowWater uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []changeRow
	for _, r := range ci.rows {
		if r.start >= lowWater {
			keep = append(keep, r)
		}
	}
	ci.rows = keep
	if lowWater > ci.start {
		ci.start = lowWater
	}
}

// allChanges is cdc.fn_cdc_get_all_changes_<ci>(from, to, option).
func (s *fakeServer) allChanges(u *fakeUser, ci *fci, from, to lsn, option string) (*relation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !u.canReadCI(ci) {
		return nil, sqlErr(errPermission, "The SELECT permission was denied on the object 'fn_cdc_get_all_changes_%s', database '%s', schema 'cdc'.", ci.name, s.opts.database)
	}
	max := s.maxLSNSeq()
	if ci.start == 0 || max == 0 || from.compare(fakeLSN(ci.start)) < 0 || to.compare(fakeLSN(max)) > 0 || from.compare(to) > 0 {
		return nil, sqlErr(errCDCRange, "An insufficient number of arguments were supplied for the procedure or function cdc.fn_cdc_get_all_changes_ ... .")
	}
	old := strings.EqualFold(option, "all update old")
	if !old && !strings.EqualFold(option, "all") {
		return nil, sqlErr(22980, "The row filter option '%s' is not valid.", option)
	}
	rel := &relation{cols: []string{"__$start_lsn", "__$seqval", "__$operation", "__$update_mask"}}
	rel.types = make([]*ftype, 4)
	for _, i := range ci.cols {
		c := ci.t.cols[i]
		rel.cols = append(rel.cols, c.name)
		rel.types = append(rel.types, &c.typ)
	}
	for _, r := range ci.rows {
		l := fakeLSN(r.start)
		if l.compare(from) < 0 || l.compare(to) > 0 || (r.op == 3 && !old) {
			continue
		}
		sl, ql := fakeLSN(r.start), fakeLSN(r.seq)
		row := []any{sl[:], ql[:], r.op, updateMask(r.changed)}
		rel.rows = append(rel.rows, append(row, r.vals...))
	}
	return rel, nil
}

// updateMask encodes the changed flags: captured column n (from 1) is bit
// (n-1)%8 of byte len-1-(n-1)/8. (The layout is the fake's own: the
// engine only ever asks sys.fn_cdc_is_bit_set, which reads it back.)
func updateMask(changed []bool) []byte {
	m := make([]byte, (len(changed)+7)/8)
	for j, c := range changed {
		if c {
			m[len(m)-1-j/8] |= 1 << (j % 8)
		}
	}
	return m
}

func bitSet(pos int64, mask []byte) bool {
	j := int(pos - 1)
	if j < 0 || j/8 >= len(mask) {
		return false
	}
	return mask[len(mask)-1-j/8]&(1<<(j%8)) != 0
}

// maxLSNSeqLocked is maxLSNSeq for tests.
func (s *fakeServer) maxLSNSeqLocked() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxLSNSeq()
}
