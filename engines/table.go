package engines

// KeyKind says what a table's streaming key is made of.
type KeyKind uint8

const (
	// PrimaryKey: the table's primary key.
	PrimaryKey KeyKind = iota + 1
	// UniqueKey: a unique index over NOT NULL columns stands in for the
	// missing primary key.
	UniqueKey
	// AllColumns: no usable unique key; the key is every column, so rows
	// that are equal in every column cannot be told apart (a resume in the
	// middle of such duplicates skips the rest of them).
	AllColumns
)

func (k KeyKind) String() string {
	switch k {
	case PrimaryKey:
		return "primary"
	case UniqueKey:
		return "unique"
	case AllColumns:
		return "all-columns"
	}
	return "unknown"
}

// Column is one column of a source table, described in MySQL terms so the
// catalog can present it as MySQL would.
type Column struct {
	Name string
	// Type is the column's type as MySQL's SHOW COLUMNS prints it, e.g.
	// "bigint unsigned", "varchar(64)", "decimal(10,2)", "datetime(6)",
	// "enum('a','b')". Engines of other databases map their types to the
	// MySQL type whose values match (see the package doc for the values).
	Type string
	// Collation of a character column, MySQL name (e.g. "utf8mb4_bin");
	// empty for the server default or non-character columns.
	Collation     string
	Nullable      bool
	AutoIncrement bool
	// Default is the column default as SQL text, or "" for none.
	Default string
	Comment string
}

// Table describes a source table.
type Table struct {
	Name    string
	Columns []Column
	// Key holds the indexes (into Columns) of the streaming key, in key order.
	Key     []int
	KeyKind KeyKind
	// CompareKeys orders two key tuples (values of the Key columns, in Key
	// order) exactly as Snapshot.Scan orders rows: -1, 0 or 1. It is how the
	// stream tells whether a change concerns a row the copy already sent.
	// An engine whose source orders keys as MySQL does for the columns'
	// types (and collations) may leave it nil: the catalog then supplies
	// that order.
	CompareKeys func(a, b []any) (int, error)
}

// KeyOf returns the key tuple of a full row. When the key columns are
// consecutive, in order, it is a slice of the row itself (no copy: a copy
// phase takes the key of every row): neither may be modified.
func (t *Table) KeyOf(row []any) []any {
	if n := len(t.Key); n > 0 && t.Key[n-1]-t.Key[0] == n-1 && t.Key[n-1] < len(row) && keyInOrder(t.Key) {
		return row[t.Key[0] : t.Key[0]+n : t.Key[0]+n]
	}
	k := make([]any, len(t.Key))
	for i, c := range t.Key {
		k[i] = row[c]
	}
	return k
}

// keyInOrder reports whether key columns are consecutive and ascending.
func keyInOrder(key []int) bool {
	for i := 1; i < len(key); i++ {
		if key[i] != key[i-1]+1 {
			return false
		}
	}
	return true
}

// ColumnNames returns the column names in table order.
func (t *Table) ColumnNames() []string {
	n := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		n[i] = c.Name
	}
	return n
}
