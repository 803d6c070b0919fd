package mssqlcdc

// The fake SQL Server's system views, table-valued functions and
// procedures: the columns the engine reads, with the meanings of
// Microsoft's reference pages (sys.databases, sys.tables, sys.columns,
// sys.indexes, sys.index_columns, sys.partitions, sys.dm_db_log_stats,
// sys.dm_cdc_log_scan_sessions, cdc.fn_cdc_get_all_changes_<ci>,
// sys.sp_cdc_help_change_data_capture, sys.sp_cdc_get_captured_columns,
// sys.sp_cdc_enable_db, sys.sp_cdc_enable_table, sys.sp_cdc_disable_table,
// sys.sp_cdc_start_job, sys.sp_cdc_stop_job, sys.sp_cdc_cleanup_change_table).

import (
	"fmt"
	"strings"
)

func lsnText(l lsn, lower bool) string {
	s := l.String()
	if lower {
		return strings.ToLower(s)
	}
	return s
}

func viewStateDenied(s *fakeServer) error {
	return sqlErr(errServerPermission, "VIEW DATABASE STATE permission denied in database '%s'.", s.opts.database)
}

// systemView returns a sys.* view, if name is one.
func (e *env) systemView(name string) (*relation, bool, error) {
	s := e.c.srv
	u := e.tx.user
	s.mu.Lock()
	defer s.mu.Unlock()
	var tables []*ftable
	for _, t := range s.tables {
		if u.canSelect(t) {
			tables = append(tables, t)
		}
	}
	rel := &relation{}
	switch name {
	case "sys.databases":
		rel.cols = []string{"database_id", "name", "is_cdc_enabled", "snapshot_isolation_state", "delayed_durability"}
		rel.rows = [][]any{{int64(5), s.opts.database, s.opts.cdcEnabled, s.opts.snapshotIsolation, s.opts.delayedDurability}}
	case "sys.tables":
		rel.cols = []string{"object_id", "name", "schema_id", "is_tracked_by_cdc"}
		for _, t := range tables {
			rel.rows = append(rel.rows, []any{t.id, t.name, int64(1), t.tracked})
		}
	case "sys.columns":
		rel.cols = []string{"object_id", "column_id", "name", "system_type_id", "max_length", "precision", "scale", "is_nullable", "collation_name", "is_computed", "is_identity"}
		for _, t := range tables {
			for _, c := range t.cols {
				ml, p, sc := c.typ.sysColumn()
				var coll any
				if c.typ.isChar() && c.typ.name != "xml" {
					coll = "SQL_Latin1_General_CP1_CI_AS"
				}
				rel.rows = append(rel.rows, []any{t.id, int64(c.id), c.name, typeIDs[c.typ.name], ml, p, sc, !c.notNull, coll, false, c.identity})
			}
		}
	case "sys.indexes":
		rel.cols = []string{"object_id", "index_id", "name", "is_primary_key", "is_unique", "has_filter", "is_disabled", "is_hypothetical"}
		for _, t := range tables {
			if len(t.pk) > 0 {
				rel.rows = append(rel.rows, []any{t.id, int64(1), "PK_" + t.name, true, true, false, false, false})
			} else {
				rel.rows = append(rel.rows, []any{t.id, int64(0), nil, false, false, false, false, false})
			}
		}
	case "sys.index_columns":
		rel.cols = []string{"object_id", "index_id", "column_id", "key_ordinal", "is_included_column"}
		for _, t := range tables {
			for k, i := range t.pk {
				rel.rows = append(rel.rows, []any{t.id, int64(1), int64(t.cols[i].id), int64(k + 1), false})
			}
		}
	case "sys.partitions":
		rel.cols = []string{"object_id", "index_id", "rows"}
		for _, t := range tables {
			id := int64(0)
			if len(t.pk) > 0 {
				id = 1
			}
			rel.rows = append(rel.rows, []any{t.id, id, int64(len(s.state[t]))})
		}
	case "sys.dm_cdc_log_scan_sessions":
		if !u.dbOwner && !u.viewState {
			return nil, true, viewStateDenied(s)
		}
		rel.cols = []string{"session_id", "start_time", "end_time", "scan_phase", "start_lsn", "end_lsn", "tran_count", "empty_scan_count"}
		agg := []any{int64(0), nil, nil, "Aggregate", nil, nil, int64(0), int64(0)}
		if n := len(s.cdc.sessions); n > 0 {
			last := s.cdc.sessions[n-1]
			agg[2], agg[4], agg[5] = last.end, lsnText(fakeLSN(last.startSeq), true), lsnText(fakeLSN(last.endSeq), true)
		}
		rel.rows = append(rel.rows, agg)
		for _, ss := range s.cdc.sessions {
			empty := int64(0)
			if ss.empty {
				empty = 1
			}
			rel.rows = append(rel.rows, []any{ss.id, ss.start, ss.end, "Done", lsnText(fakeLSN(ss.startSeq), true), lsnText(fakeLSN(ss.endSeq), true), ss.tranCount, empty})
		}
	default:
		return nil, false, nil
	}
	return rel, true, nil
}

// tvf runs a table-valued function.
func (e *env) tvf(name string, parts []string, args []expr) (*relation, error) {
	s := e.c.srv
	u := e.tx.user
	vals := make([]any, len(args))
	for i, a := range args {
		v, err := e.eval(a)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	switch {
	case name == "sys.dm_db_log_stats":
		if !u.dbOwner && !u.viewState {
			return nil, viewStateDenied(s)
		}
		end := s.logEnd()
		return &relation{cols: []string{"database_id", "recovery_model", "log_end_lsn"},
			rows: [][]any{{int64(5), "FULL", lsnText(end, false)}}}, nil
	case len(parts) == 2 && strings.EqualFold(parts[0], "cdc") && strings.HasPrefix(strings.ToLower(parts[1]), "fn_cdc_get_all_changes_"):
		ciName := parts[1][len("fn_cdc_get_all_changes_"):]
		s.mu.Lock()
		ci := s.instance(ciName)
		s.mu.Unlock()
		if ci == nil {
			return nil, sqlErr(errInvalidObject, "Invalid object name 'cdc.%s'.", parts[1])
		}
		if len(vals) != 3 {
			return nil, sqlErr(errCDCRange, "An insufficient number of arguments were supplied for the procedure or function cdc.%s.", parts[1])
		}
		from, ok1 := vals[0].([]byte)
		to, ok2 := vals[1].([]byte)
		opt, _ := strOf(vals[2])
		fl, ok3 := lsnFromBytes(from)
		tl, ok4 := lsnFromBytes(to)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, sqlErr(errCDCRange, "An insufficient number of arguments were supplied for the procedure or function cdc.%s.", parts[1])
		}
		return s.allChanges(u, ci, fl, tl, opt)
	}
	return nil, sqlErr(errInvalidObject, "Invalid object name '%s'.", name)
}

// exec runs a stored procedure.
func (e *env) exec(st *stExec) (*relation, error) {
	s := e.c.srv
	u := e.tx.user
	args := map[string]any{}
	for i, a := range st.args {
		v, err := e.eval(a.e)
		if err != nil {
			return nil, err
		}
		name := a.name
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		args[name] = v
	}
	str := func(name string) string {
		v, _ := strOf(args[name])
		return v
	}
	tableArg := func() (*ftable, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		t, ok := s.table([]string{str("@source_schema"), str("@source_name")})
		if !ok {
			return nil, sqlErr(22931, "Source table '%s.%s' does not exist in the current database.", str("@source_schema"), str("@source_name"))
		}
		return t, nil
	}
	owner := func() error {
		if !u.dbOwner {
			return sqlErr(22904, "Could not update the metadata that indicates the table is enabled for Change Data Capture. The user must be a member of the db_owner role.")
		}
		return nil
	}
	switch st.proc {
	case "sys.sp_cdc_help_change_data_capture":
		s.mu.Lock()
		defer s.mu.Unlock()
		rel := &relation{cols: []string{"source_schema", "source_table", "capture_instance", "object_id", "source_object_id", "start_lsn", "end_lsn",
			"supports_net_changes", "has_drop_pending", "role_name", "index_name", "filegroup_name", "create_date", "index_column_list", "captured_column_list"}}
		for _, ci := range s.cdc.cis {
			if !u.canReadCI(ci) {
				continue
			}
			var start any
			if ci.start != 0 {
				l := fakeLSN(ci.start)
				start = l[:]
			}
			var names, keys []string
			for _, i := range ci.cols {
				names = append(names, "["+ci.t.cols[i].name+"]")
			}
			for _, i := range ci.t.pk {
				keys = append(keys, "["+ci.t.cols[i].name+"]")
			}
			var role any
			if ci.role != "" {
				role = ci.role
			}
			rel.rows = append(rel.rows, []any{ci.t.schema, ci.t.name, ci.name, ci.objectID, ci.t.id, start, nil, false, nil, role,
				nil, nil, ci.created, strings.Join(keys, ", "), strings.Join(names, ", ")})
		}
		return rel, nil
	case "sys.sp_cdc_get_captured_columns":
		s.mu.Lock()
		defer s.mu.Unlock()
		ci := s.instance(str("@capture_instance"))
		if ci == nil || !u.canReadCI(ci) {
			return nil, sqlErr(errCapturedColsNoObj, "Object does not exist or access is denied.")
		}
		rel := &relation{cols: []string{"source_schema", "source_table", "capture_instance", "column_name", "column_id", "column_ordinal", "data_type",
			"character_maximum_length", "numeric_precision", "numeric_precision_radix", "numeric_scale", "datetime_precision"}}
		for j, i := range ci.cols {
			c := ci.t.cols[i]
			rel.rows = append(rel.rows, []any{ci.t.schema, ci.t.name, ci.name, c.name, int64(c.id), int64(j + 1), c.typ.name, nil, nil, nil, nil, nil})
		}
		return rel, nil
	case "sys.sp_cdc_enable_db":
		if err := owner(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.opts.cdcEnabled = true
		s.mu.Unlock()
		return nil, nil
	case "sys.sp_cdc_enable_table":
		if err := owner(); err != nil {
			return nil, err
		}
		t, err := tableArg()
		if err != nil {
			return nil, err
		}
		var cols []string
		if l := str("@captured_column_list"); l != "" {
			cols = strings.Split(l, ",")
		}
		return nil, s.enableTable(t, str("@capture_instance"), str("@role_name"), cols)
	case "sys.sp_cdc_disable_table":
		if err := owner(); err != nil {
			return nil, err
		}
		t, err := tableArg()
		if err != nil {
			return nil, err
		}
		s.disableTable(t, str("@capture_instance"))
		return nil, nil
	case "sys.sp_cdc_start_job", "sys.sp_cdc_stop_job":
		if err := owner(); err != nil {
			return nil, err
		}
		s.setAgent(st.proc == "sys.sp_cdc_start_job")
		return nil, nil
	case "sys.sp_cdc_cleanup_change_table":
		if err := owner(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		ci := s.instance(str("@capture_instance"))
		s.mu.Unlock()
		b, _ := args["@low_water_mark"].([]byte)
		l, ok := lsnFromBytes(b)
		if ci == nil || !ok {
			return nil, sqlErr(22964, "LSN %v, specified as the new low endpoint for the change table associated with capture instance '%s', is not within the Change Data Capture timeline.", args["@low_water_mark"], str("@capture_instance"))
		}
		s.mu.Lock()
		seq := s.seqOf(l)
		s.mu.Unlock()
		s.cleanup(ci, seq)
		return nil, nil
	}
	return nil, sqlErr(2812, "Could not find stored procedure '%s'.", st.proc)
}
