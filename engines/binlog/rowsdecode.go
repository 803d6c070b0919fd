package binlog

import (
	"fmt"

	"github.com/go-mysql-org/go-mysql/replication"
)

// decodeRowsEvent is the parser's decoding of a rows event: it reads the
// event's header and leaves the row images undecoded (see undecoded), for
// the reader to decode when it wants the table. It refuses first what
// go-mysql's decoder cannot get through: a row image holds one value per
// column its bitmap marks, so an event whose bitmaps mark no column has
// row images of no bytes, and go-mysql's loop over the event's images
// would never end (found by FuzzBinlogEvents). No server writes such an
// event; a damaged or hostile stream is an error, not a stream that hangs.
func decodeRowsEvent(e *replication.RowsEvent, data []byte) error {
	pos, err := e.DecodeHeader(data)
	if err != nil {
		return err
	}
	if pos < len(data) && !anyColumn(e.ColumnBitmap1, e.ColumnCount) && !anyColumn(e.ColumnBitmap2, e.ColumnCount) {
		return fmt.Errorf("a rows event of table %s.%s with %d bytes of row images whose bitmaps mark no column",
			tableSchema(e), tableName(e), len(data)-pos)
	}
	e.Rows = [][]any{{undecoded{data: data, pos: pos}}}
	return nil
}

// undecoded is what decodeRowsEvent leaves in the Rows of a rows event,
// as its only row: the event's body and where its row images start. The
// body is the replication connection's packet, which nothing reuses.
type undecoded struct {
	data []byte
	pos  int
}

// undecodedImages returns the row images decodeRowsEvent left, and false
// when the event is decoded already.
func undecodedImages(e *replication.RowsEvent) (undecoded, bool) {
	if len(e.Rows) == 1 && len(e.Rows[0]) == 1 {
		u, ok := e.Rows[0][0].(undecoded)
		return u, ok
	}
	return undecoded{}, false
}

// decodeWithGoMySQL decodes the row images decodeRowsEvent left as
// go-mysql does, into e.Rows.
func decodeWithGoMySQL(e *replication.RowsEvent) error {
	u, ok := undecodedImages(e)
	if !ok {
		return nil
	}
	e.Rows = nil
	return e.DecodeData(u.pos, u.data)
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
