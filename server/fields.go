package server

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// fieldsOf describes a result schema as MySQL column definitions, the way
// GMS's handler does (its own function is unexported; keep the two in step
// when upgrading GMS: integration/values_test.go compares a VSTREAM's
// column types with a SELECT's on the wire).
func fieldsOf(ctx *sql.Context, s sql.Schema) []*querypb.Field {
	charSetResults := ctx.GetCharacterSetResults()
	fields := make([]*querypb.Field, len(s))
	for i, c := range s {
		charset := uint32(sql.Collation_Default.CharacterSet())
		if ct, ok := c.Type.(sql.TypeWithCollation); ok {
			charset = uint32(ct.Collation().CharacterSet())
		}
		if types.IsBinaryType(c.Type) {
			charset = uint32(sql.Collation_binary)
		} else if charSetResults != sql.CharacterSet_Unspecified {
			charset = uint32(charSetResults)
		}
		var flags querypb.MySqlFlag
		if !c.Nullable {
			flags |= querypb.MySqlFlag_NOT_NULL_FLAG
		}
		if c.AutoIncrement {
			flags |= querypb.MySqlFlag_AUTO_INCREMENT_FLAG
		}
		if c.PrimaryKey {
			flags |= querypb.MySqlFlag_PRI_KEY_FLAG
		}
		if types.IsUnsigned(c.Type) {
			flags |= querypb.MySqlFlag_UNSIGNED_FLAG
		}
		// The protocol layer sends the type's own flags (ENUM, SET, BINARY …)
		// only when a field has none; keep them next to ours.
		_, typeFlags := sqltypes.TypeToMySQL(c.Type.Type())
		flags |= querypb.MySqlFlag(typeFlags)
		f := &querypb.Field{
			Name: c.Name, OrgName: c.Name, Table: c.Source, OrgTable: c.Source, Database: c.DatabaseSource,
			Type: c.Type.Type(), Charset: charset, ColumnLength: c.Type.MaxTextResponseByteLength(ctx), Flags: uint32(flags),
		}
		if types.IsDecimal(c.Type) {
			f.Decimals = uint32(c.Type.(sql.DecimalType).Scale())
		} else if types.IsDatetimeType(c.Type) {
			f.Decimals = uint32(c.Type.(sql.DatetimeType).Precision())
		}
		asMySQL(ctx, c.Type, f, charSetResults)
		fields[i] = f
	}
	return fields
}

// asMySQL corrects the column definitions where GMS's differ from MySQL's
// (integration/binlog_types_test.go compares a VSTREAM's with MariaDB's):
//   - numbers, BIT, YEAR and temporal types have the binary character set
//     (go-sql-driver reads BIT as []byte only then);
//   - FLOAT and DOUBLE have 31 decimals (NOT_FIXED_DEC: no fixed scale);
//   - TIMESTAMP(n) has n decimals too, and DATETIME(n) and TIMESTAMP(n)
//     the length of their text (19, or 20+n with a fraction);
//   - TIME is GMS's only TIME type, TIME(6): 6 decimals, as its values;
//   - YEAR is UNSIGNED ZEROFILL;
//   - CHAR and VARCHAR have the length of their characters in the result
//     character set (a latin1 CHAR(5) sent as utf8mb4 is 20);
//   - TEXT and BLOB have BLOB_FLAG.
func asMySQL(ctx *sql.Context, t sql.Type, f *querypb.Field, results sql.CharacterSetID) {
	switch {
	case types.IsFloat(t):
		f.Decimals = 31
	case types.IsTime(t): // DATE, DATETIME, TIMESTAMP
		p := uint32(t.(sql.DatetimeType).Precision())
		f.Decimals = p
		if !types.IsDateType(t) {
			f.ColumnLength = 19
			if p > 0 {
				f.ColumnLength += 1 + p
			}
		}
		f.Flags |= uint32(querypb.MySqlFlag_BINARY_FLAG)
	case types.IsTimespan(t):
		f.Decimals = 6
	case types.IsYear(t):
		f.Flags |= uint32(querypb.MySqlFlag_ZEROFILL_FLAG)
	}
	if types.IsNumber(t) || types.IsTime(t) || types.IsTimespan(t) {
		f.Charset = uint32(sql.Collation_binary)
	}
	if types.IsTextBlob(t) {
		f.Flags |= uint32(querypb.MySqlFlag_BLOB_FLAG)
	}
	if st, ok := t.(sql.StringType); ok && results != sql.CharacterSet_Unspecified && !types.IsBinaryType(t) {
		switch t.Type() {
		case sqltypes.Char, sqltypes.VarChar:
			f.ColumnLength = uint32(st.Length() * results.MaxLength())
		}
	}
}
