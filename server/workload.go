package server

import (
	"fmt"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// The workload system variable: OLTP (default), OLAP or DBA, session and
// global, as in Vitess. VSTREAM runs only in OLAP.
const (
	workloadVar  = "workload"
	workloadOLAP = "OLAP"
)

var registerGlobals sync.Once

func registerSystemVariables() {
	registerGlobals.Do(func() {
		initStatusVariables()
		sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{&sql.MysqlSystemVariable{
			Name:    workloadVar,
			Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Both),
			Dynamic: true,
			Type:    types.NewSystemEnumType(workloadVar, "OLTP", "OLAP", "DBA"),
			Default: "OLTP",
		}})
		// What the client banner and @@version_comment show.
		_ = sql.SystemVariables.SetGlobal(sql.NewEmptyContext(), "version_comment", "vstreamd")
	})
}

// workload returns the session's workload in upper case.
func workload(ctx *sql.Context) string {
	v, err := ctx.GetSessionVariable(ctx, workloadVar)
	if err != nil {
		return "OLTP"
	}
	return strings.ToUpper(fmt.Sprint(v))
}
