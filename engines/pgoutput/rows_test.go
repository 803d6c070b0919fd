package pgoutput

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vstreamd/vstreamd/integration/testdb"
)

// TestDecodeBinary reads values of the types a copy reads in binary format
// from a live server in both formats: decoding either gives the same value,
// or both fail (values MySQL cannot show).
func TestDecodeBinary(t *testing.T) {
	p := testdb.StartPostgres(t, testdb.PostgresOptions{})
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, p.DSN(testdb.PGSuperUser, testdb.PGSuperPass, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tests := []struct {
		typ    string
		oid    uint32
		values []string
		fail   bool
	}{
		{"int2", oidInt2, []string{"0", "-32768", "32767"}, false},
		{"int4", oidInt4, []string{"-2147483648", "2147483647", "7"}, false},
		{"int8", oidInt8, []string{"-9223372036854775808", "9223372036854775807"}, false},
		{"float4", oidFloat4, []string{"1.5", "-0", "3.4e38", "1e-45"}, false},
		{"float8", oidFloat8, []string{"0.1", "-1.7976931348623157e308", "5e-324"}, false},
		{"bool", oidBool, []string{"true", "false"}, false},
		{"bytea", oidBytea, []string{`\x`, `\x00ff41`}, false},
		{"date", oidDate, []string{"2024-02-29", "0001-01-01", "1969-12-31", "1999-12-31", "2000-01-01", "9999-12-31"}, false},
		{"timestamp", oidTimestamp, []string{"2024-02-29 13:14:15.123456", "0001-01-01 00:00:00", "1999-12-31 23:59:59.999999", "1960-06-01 00:00:00.5", "9999-12-31 23:59:59.999999"}, false},
		{"timestamptz", oidTimestampTZ, []string{"2024-02-29 13:14:15.5+05:30", "1999-12-31 23:59:59.000001-08"}, false},
		{"date", oidDate, []string{"infinity", "-infinity", "0044-03-15 BC", "10000-01-01"}, true},
		{"timestamp", oidTimestamp, []string{"infinity", "-infinity", "0001-12-31 23:59:59 BC", "10000-01-01 00:00:00"}, true},
	}
	for _, tc := range tests {
		for _, v := range tc.values {
			name := fmt.Sprintf("%s %s", tc.typ, v)
			var text, bin []byte
			for _, format := range []int16{0, 1} {
				rr := conn.ExecParams(ctx, "SELECT $1::text::"+tc.typ, [][]byte{[]byte(v)}, nil, nil, []int16{format})
				for rr.NextRow() {
					b := append([]byte{}, rr.Values()[0]...)
					if format == 0 {
						text = b
					} else {
						bin = b
					}
				}
				if _, err := rr.Close(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			typ := pgType{oid: tc.oid}
			k, _ := mapType(typ)
			want, wantErr := decodeKind(k, &typ, text)
			got, err := decodeBinary(k, bin, nil)
			switch {
			case tc.fail && (err == nil || wantErr == nil):
				t.Errorf("%s: binary %v, %v; text %v, %v: want both to fail", name, got, err, want, wantErr)
			case tc.fail:
			case err != nil || wantErr != nil:
				t.Errorf("%s: binary %v, %v; text %v, %v", name, got, err, want, wantErr)
			case !reflect.DeepEqual(got, want):
				t.Errorf("%s: binary %#v, text %#v", name, got, want)
			}
		}
	}
}
