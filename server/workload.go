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

var registerWorkload sync.Once

func registerSystemVariables() {
	registerWorkload.Do(func() {
		sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{&sql.MysqlSystemVariable{
			Name:    workloadVar,
			Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Both),
			Dynamic: true,
			Type:    types.NewSystemEnumType(workloadVar, "OLTP", "OLAP", "DBA"),
			Default: "OLTP",
		}})
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
