package binlog

import (
	"fmt"

	"github.com/go-mysql-org/go-mysql/replication"
)

// decodeRowsEvent decodes a rows event as go-mysql does, refusing first
// what its decoder cannot get through: a row image holds one value per
// column its bitmap marks, so an event whose bitmaps mark no column has row
// images of no bytes, and go-mysql's loop over the event's images would
// never end (found by FuzzBinlogEvents). No server writes such an event;
// a damaged or hostile stream is an error, not a stream that hangs.
func decodeRowsEvent(e *replication.RowsEvent, data []byte) error {
	pos, err := e.DecodeHeader(data)
	if err != nil {
		return err
	}
	if pos < len(data) && !anyColumn(e.ColumnBitmap1, e.ColumnCount) && !anyColumn(e.ColumnBitmap2, e.ColumnCount) {
		return fmt.Errorf("a rows event of table %s.%s with %d bytes of row images whose bitmaps mark no column",
			tableSchema(e), tableName(e), len(data)-pos)
	}
	return e.DecodeData(pos, data)
}

// anyColumn reports whether the bitmap marks one of the first n columns.
func anyColumn(bitmap []byte, n uint64) bool {
	for i := uint64(0); i < n && i/8 < uint64(len(bitmap)); i++ {
		if bitmap[i/8]&(1<<(i%8)) != 0 {
			return true
		}
	}
	return false
}

func tableSchema(e *replication.RowsEvent) string {
	if e.Table == nil {
		return "?"
	}
	return string(e.Table.Schema)
}

func tableName(e *replication.RowsEvent) string {
	if e.Table == nil {
		return "?"
	}
	return string(e.Table.Table)
}
