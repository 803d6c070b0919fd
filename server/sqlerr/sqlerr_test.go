package sqlerr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/binlog"
	"github.com/vstreamd/vstreamd/engines/embedded"
	"github.com/vstreamd/vstreamd/planner"
	"github.com/vstreamd/vstreamd/server/sqlerr"
	"github.com/vstreamd/vstreamd/vstream"
)

func TestCodes(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("outer: %w", err) }
	tests := []struct {
		err  error
		code int
	}{
		{engines.Errorf(planner.ErrSyntax, "x"), 1064},
		{engines.Errorf(planner.ErrPos, "x"), 1149},
		{engines.Errorf(planner.ErrNoDatabase, "x"), 1046},
		{wrap(vstream.ErrBadToken), 1149},
		{wrap(engines.ErrBadPosition), 1149},
		{engines.Errorf(sqlerr.ErrWorkload, "x"), 1290},
		{engines.Errorf(sqlerr.ErrAccessDenied, "x"), 1044},
		{engines.Errorf(catalog.ErrUnknownKeyspace, "x"), 1049},
		{wrap(engines.ErrTableNotFound), 1146},
		{engines.AtPosition("7", engines.ErrPositionUnavailable), 1236},
		{wrap(vstream.ErrSchemaChanged), 1412},
		{wrap(embedded.ErrLockWaitTimeout), 1205},
		{sql.NewWrappedInsertError(nil, wrap(embedded.ErrLockWaitTimeout)), 1205},
		{wrap(engines.ErrSourceUnavailable), 1429},
		{engines.Errorf(binlog.ErrUnknownDatabase, "Unknown database 'x' on source h:3306"), 1049},
		{engines.AtPosition("7", wrap(binlog.ErrUnknownDatabase)), 1049},
		{wrap(engines.ErrMisconfigured), 1290},
		{wrap(engines.ErrUnsupported), 1235},
		{wrap(context.Canceled), 1317},
		{sql.ErrColumnNotFound.New("x"), 1054},
		{sql.ErrDatabaseNotFound.New("x"), 1049},
		{mysql.NewSQLError(1045, "28000", "denied"), 1045},
		{errors.New("anything else"), 1105},
	}
	for _, tc := range tests {
		if got := sqlerr.Code(tc.err); got != tc.code {
			t.Errorf("%v: code %d, want %d", tc.err, got, tc.code)
		}
	}
}

func TestMessagesStayTheUsers(t *testing.T) {
	err := sqlerr.Of(engines.Errorf(engines.ErrTableNotFound, "Table 'ks.t' doesn't exist"))
	var se *mysql.SQLError
	if !errors.As(err, &se) || se.Message != "Table 'ks.t' doesn't exist" || se.SQLState() != "42S02" {
		t.Fatalf("%#v", err)
	}
	if sqlerr.Of(wrap2(context.Canceled)).(*mysql.SQLError).Message != "Query execution was interrupted" {
		t.Fatal("KILL QUERY must read as MySQL's 1317")
	}
}

func wrap2(err error) error { return fmt.Errorf("x: %w", err) }

func TestRefine(t *testing.T) {
	tests := []struct {
		msg  string
		code int
	}{
		{"Variable 'workload' can't be set to the value of 'FOO'", 1231},
		{"Access denied for user 'app'@'%' to database 'other'", 1044},
		{"column \"nope\" could not be found in any table in scope", 1054},
		{"something GMS says", 1105},
	}
	for _, tc := range tests {
		err := sqlerr.Refine(mysql.NewSQLError(1105, "HY000", "%s", tc.msg))
		if got := err.(*mysql.SQLError).Number(); got != tc.code {
			t.Errorf("%q: code %d, want %d", tc.msg, got, tc.code)
		}
	}
	if sqlerr.Refine(nil) != nil {
		t.Error("Refine(nil)")
	}
}
