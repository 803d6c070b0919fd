package mssqlcdc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// TestPreflight: each way a database can be unready for streaming is an
// error of the right kind that names the fix.
func TestPreflight(t *testing.T) {
	tests := []struct {
		name   string
		change func(*fakeOptions)
		user   *fakeUser
		kind   error
		fix    string
	}{
		{"CDCDisabledOnDatabase", func(o *fakeOptions) { o.cdcEnabled = false }, nil, engines.ErrMisconfigured, "EXEC sys.sp_cdc_enable_db"},
		{"Express", func(o *fakeOptions) { o.edition = 4 }, nil, engines.ErrMisconfigured, "SQL Server Express, which has no change data capture"},
		{"TooOld", func(o *fakeOptions) { o.version = "12.0.6024.0" }, nil, engines.ErrMisconfigured, "SQL Server 2016 SP2"},
		{"NoSnapshotIsolation", func(o *fakeOptions) { o.snapshotIsolation = 0 }, nil, engines.ErrMisconfigured, "ALTER DATABASE [shop] SET ALLOW_SNAPSHOT_ISOLATION ON"},
		{"DelayedDurabilityForced", func(o *fakeOptions) { o.delayedDurability = 2 }, nil, engines.ErrMisconfigured, "SET DELAYED_DURABILITY = DISABLED"},
		{"NoViewDatabaseState", nil, &fakeUser{name: "reader", selectAll: true}, engines.ErrMisconfigured, "GRANT VIEW DATABASE STATE TO [reader]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := defaultFakeOptions()
			if tc.change != nil {
				tc.change(&opts)
			}
			f := newFixtureWith(t, opts)
			user := "sa"
			if tc.user != nil {
				f.srv.addUser(tc.user)
				user = tc.user.name
			}
			_, err := f.source(user, "").Tables(context.Background())
			wantErr(t, err, tc.kind, tc.fix)
		})
	}
	t.Run("WrongUser", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.source("nobody", "").Tables(context.Background())
		wantErr(t, err, engines.ErrSourceUnavailable, "refused the login of nobody")
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("the password shows in %v", err)
		}
	})
}

// TestTableErrors: a table that is not captured, one the user may not
// read the changes of (the gating role), and one that does not exist.
func TestTableErrors(t *testing.T) {
	f := newFixture(t)
	f.exec("CREATE TABLE plain (id INT PRIMARY KEY)", "CREATE TABLE gated (id INT PRIMARY KEY)")
	f.exec("EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'gated', @role_name = N'cdc_reader'")
	f.table("CREATE TABLE open_t (id INT PRIMARY KEY)")
	reader := &fakeUser{name: "reader", selectAll: true, viewState: true}
	f.srv.addUser(reader)
	ctx := context.Background()
	src := f.source("reader", "")

	_, err := src.Table(ctx, "plain")
	wantErr(t, err, engines.ErrMisconfigured, "EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'plain'")
	_, err = src.Table(ctx, "gated")
	wantErr(t, err, engines.ErrMisconfigured, "ALTER ROLE <role_name> ADD MEMBER [reader]")
	_, err = src.Table(ctx, "missing")
	wantErr(t, err, engines.ErrTableNotFound, "dbo.missing")
	if ts, err := src.Tables(ctx); err != nil || strings.Join(ts, ",") != "open_t" {
		t.Fatalf("tables the reader may stream: %q, %v (want only open_t)", ts, err)
	}
	f.srv.addUser(&fakeUser{name: "blind", viewState: true})
	_, err = f.source("blind", "").Table(ctx, "open_t")
	wantErr(t, err, engines.ErrTableNotFound, "GRANT SELECT ON [dbo].[open_t] TO [blind]")
	reader.roles["cdc_reader"] = true
	if ts, err := src.Tables(ctx); err != nil || strings.Join(ts, ",") != "gated,open_t" {
		t.Fatalf("tables once in the gating role: %q, %v", ts, err)
	}
	if _, err := src.Table(ctx, "gated"); err != nil {
		t.Fatal(err)
	}
}

// TestAgentStopped: with SQL Server Agent stopped the capture job does not
// run: the change tables stay empty while the table changes. The stream
// says so after agent_timeout instead of reporting no changes.
func TestAgentStopped(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY)")
	f.capture()
	f.exec("EXEC sys.sp_cdc_stop_job @job_type = N'capture'")
	src := f.source("sa", "&agent_timeout=200ms")
	c := f.stream(src, current(t, src), "t")
	f.exec("INSERT INTO t (id) VALUES (1)")
	f.capture() // does nothing: the job is stopped
	err, done := c.ended(5 * time.Second)
	if !done {
		t.Fatal("the stream went on without the capture job")
	}
	wantErr(t, err, engines.ErrMisconfigured, "SQL Server Agent")
	wantErr(t, err, engines.ErrMisconfigured, "EXEC sys.sp_cdc_start_job @job_type = N'capture'")
	var pe *engines.PositionError
	if !errors.As(err, &pe) {
		t.Fatalf("%v does not name the stream's position", err)
	}
}

// TestAgentIdle: a running capture job on an idle database is no alarm,
// however long the stream waits.
func TestAgentIdle(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY)")
	f.srv.runAgent(20 * time.Millisecond)
	src := f.source("sa", "&agent_timeout=150ms")
	c := f.stream(src, current(t, src), "t")
	if err, done := c.ended(600 * time.Millisecond); done {
		t.Fatalf("an idle stream ended: %v", err)
	}
	f.exec("INSERT INTO t (id) VALUES (1)")
	c.until(t, "the insert", func(evs []engines.Event) bool { return len(rowsOnly(evs)) == 1 })
}

// TestRetention: a position the cleanup job has passed is refused when
// the stream starts (before any batch), and a stream the cleanup job
// overtakes ends with the position it reached.
func TestRetention(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY)")
	f.capture()
	src := f.source("sa", "")
	old := current(t, src)
	f.exec("INSERT INTO t (id) VALUES (1)", "INSERT INTO t (id) VALUES (2)")
	f.capture()
	cleanup := func() {
		t.Helper()
		var max []byte
		if err := f.admin.QueryRow("SELECT sys.fn_cdc_get_max_lsn()").Scan(&max); err != nil {
			t.Fatal(err)
		}
		f.exec("EXEC sys.sp_cdc_cleanup_change_table @capture_instance = N'dbo_t', @low_water_mark = 0x" + strings.ReplaceAll(lsnOf(max).String(), ":", "") + ", @threshold = 5000")
	}
	cleanup()
	sent := false
	err := src.Stream(context.Background(), old, []string{"t"}, func([]engines.Event) error { sent = true; return nil })
	wantErr(t, err, engines.ErrPositionUnavailable, "start afresh with pos > ''")
	if sent {
		t.Fatal("a batch was sent before the stream failed")
	}

	// A stream that stops reading while the cleanup job moves on.
	from := current(t, src)
	f.exec("INSERT INTO t (id) VALUES (3)")
	f.capture()
	hold, resume := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		n := 0
		done <- src.Stream(context.Background(), from, []string{"t"}, func(evs []engines.Event) error {
			if n++; n == 2 {
				close(hold)
				<-resume
			}
			return nil
		})
	}()
	<-hold
	f.exec("INSERT INTO t (id) VALUES (4)", "INSERT INTO t (id) VALUES (5)")
	f.capture()
	cleanup()
	close(resume)
	select {
	case err := <-done:
		wantErr(t, err, engines.ErrPositionUnavailable, "capture instance dbo_t holds changes from")
		var pe *engines.PositionError
		if !errors.As(err, &pe) || pe.Pos == "" {
			t.Fatalf("%v does not name the stream's position", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not notice the cleanup")
	}
}

func lsnOf(b []byte) lsn {
	l, _ := lsnFromBytes(b)
	return l
}
