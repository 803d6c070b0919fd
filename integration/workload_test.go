package integration

import (
	"testing"
)

// Contract §2: the workload variable, its spellings, and VSTREAM only in
// OLAP.

func TestWorkloadSetForms(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	for _, tc := range []struct {
		set  string
		want string
	}{
		{"SET WORKLOAD=OLAP", "OLAP"},
		{"SET workload='olap'", "OLAP"},
		{"SET @@workload = OLAP", "OLAP"},
		{"SET @@session.workload='OlAp'", "OLAP"},
		{"SET @@SESSION.WORKLOAD = olap", "OLAP"},
		{"set Workload = \"Olap\"", "OLAP"},
		{"SET SESSION workload = olap", "OLAP"},
		{"SET workload = 'dba'", "DBA"},
		{"SET @@workload = DBA", "DBA"},
		{"SET workload = oltp", "OLTP"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			c := s.Conn(t, "commerce")
			equalLines(t, "default workload", queryLines(t, c, "SELECT @@workload"), "OLTP")
			if tc.want == "OLTP" {
				mustExec(t, c, "SET WORKLOAD=OLAP")
			}
			mustExec(t, c, tc.set)
			equalLines(t, "SELECT @@workload", queryLines(t, c, "SELECT @@workload"), tc.want)
			equalLines(t, "SELECT @@session.workload", queryLines(t, c, "SELECT @@session.workload"), tc.want)
			equalLines(t, "SHOW VARIABLES", queryLines(t, c, "SHOW VARIABLES LIKE 'workload'"), "workload "+tc.want)

			// VSTREAM follows the workload that was set.
			q := "VSTREAM * FROM corder LIMIT 0"
			if tc.want == "OLAP" {
				cols, rows := query(t, c, q)
				equalStrings(t, "columns", cols, "op", "order_id", "customer_id", "sku", "price")
				equalLines(t, q, lines(rows))
			} else {
				wantErr(t, q+" in "+tc.want, queryErr(t, c, q), 1290, tc.want, "SET WORKLOAD=OLAP")
			}
		})
	}
}

func TestWorkloadBadValue(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	for _, tc := range []struct {
		set   string
		value string // the value the message must name
	}{
		{"SET WORKLOAD='bogus'", "'bogus'"},
		{"SET workload = olapp", "'olapp'"},
		{"SET @@workload = ''", "''"},
		{"SET @@session.workload = 7", "'7'"},
		{"SET workload = NULL", "'NULL'"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			c := s.Conn(t, "commerce")
			mustExec(t, c, "SET WORKLOAD=OLAP")
			_, err := c.ExecContext(t.Context(), tc.set)
			wantErr(t, tc.set, err, 1231, "workload", tc.value)
			// The session keeps its workload and stays usable.
			equalLines(t, "workload after the failed SET", queryLines(t, c, "SELECT @@workload"), "OLAP")
			equalLines(t, "VSTREAM after the failed SET", queryLines(t, c, "VSTREAM * FROM corder LIMIT 0"))
		})
	}
}

func TestWorkloadVStreamOnlyInOLAP(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	mustExec(t, w, "INSERT INTO corder (customer_id, sku, price) VALUES (1, 'a', 10)")

	c := s.Conn(t, "commerce")
	const q = "VSTREAM * FROM corder LIMIT 1"
	// Default OLTP: an error that says what to do.
	wantErr(t, "VSTREAM in OLTP", queryErr(t, c, q), 1290, "OLAP", "OLTP", "SET WORKLOAD=OLAP")
	stillUsable(t, c)
	// The vstream() form is not refused in OLTP (it ends at the current
	// position instead, see TestVStreamFunctionOLTPEnds); VSTREAM is.
	mustExec(t, c, "SET WORKLOAD=DBA")
	wantErr(t, "VSTREAM in DBA", queryErr(t, c, q), 1290, "DBA", "SET WORKLOAD=OLAP")

	mustExec(t, c, "SET WORKLOAD=OLAP")
	equalLines(t, "VSTREAM in OLAP", queryLines(t, c, q), "+ 1 1 a 10")

	mustExec(t, c, "SET WORKLOAD=OLTP")
	wantErr(t, "VSTREAM back in OLTP", queryErr(t, c, q), 1290, "OLTP", "SET WORKLOAD=OLAP")
	stillUsable(t, c)

	// The workload is per session: another session is still OLTP.
	mustExec(t, c, "SET WORKLOAD=OLAP")
	other := s.Conn(t, "commerce")
	equalLines(t, "other session's workload", queryLines(t, other, "SELECT @@workload"), "OLTP")
	wantErr(t, "VSTREAM in the other session", queryErr(t, other, q), 1290, "SET WORKLOAD=OLAP")
}
