package pgoutput_test

import (
	"testing"

	"github.com/vstreamd/vstreamd/engines/conformance"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// fullHarness runs the suite on tables with REPLICA IDENTITY FULL (an
// event trigger sets it on every new table): deletes carry whole rows.
type fullHarness struct{ harness }

func (h *fullHarness) KeyOnlyDeletes() bool { return false }

func TestConformanceFull(t *testing.T) {
	p, db := startPostgres(t)
	if _, err := db.Exec(`CREATE FUNCTION full_identity() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LOOP
    EXECUTE 'ALTER TABLE ' || r.object_identity || ' REPLICA IDENTITY FULL';
  END LOOP;
END $$;
CREATE EVENT TRIGGER full_identity ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION full_identity();`); err != nil {
		t.Fatal(err)
	}
	// Its source shares snapshots among copy chunks, as TestConformance's.
	conformance.Run(t, &fullHarness{harness{db: db, src: openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", ""), shares: true}})
}
