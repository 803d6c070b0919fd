package integration

import "testing"

// TestCatalog: keyspaces are databases; their tables have their real
// columns and keys in SHOW, DESCRIBE and information_schema.
func TestCatalog(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce", "shop"))
	c := s.Conn(t, "")
	equalLines(t, "SHOW DATABASES", queryLines(t, c, "SHOW DATABASES"), "commerce", "information_schema", "shop")
	equalLines(t, "SHOW TABLES", queryLines(t, c, "SHOW TABLES FROM commerce"), "corder", "customer", "product")
	equalLines(t, "DESCRIBE", queryLines(t, c, "DESCRIBE commerce.corder"),
		"order_id bigint NO PRI NULL auto_increment",
		"customer_id bigint YES  NULL ",
		"sku varbinary(128) YES  NULL ",
		"price bigint YES  NULL ")
	equalLines(t, "information_schema.TABLES",
		queryLines(t, c, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME"),
		"shop corder", "shop customer", "shop product")
	equalLines(t, "information_schema.COLUMNS",
		queryLines(t, c, "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'commerce' AND TABLE_NAME = 'product' ORDER BY ORDINAL_POSITION"),
		"sku varbinary(128) NO PRI", "description varbinary(128) YES ", "price bigint YES ")
	equalLines(t, "information_schema.KEY_COLUMN_USAGE",
		queryLines(t, c, "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'commerce' ORDER BY TABLE_NAME"),
		"corder PRIMARY order_id", "customer PRIMARY customer_id", "product PRIMARY sku")
	mustExec(t, c, "USE shop", "CREATE TABLE extra (a INT, b INT, KEY kb (b))")
	_, rows := query(t, c, "SHOW INDEX FROM extra")
	if len(rows) != 1 || rows[0][2] != "kb" || rows[0][4] != "b" {
		t.Fatalf("SHOW INDEX FROM extra: %q", rows)
	}
}
