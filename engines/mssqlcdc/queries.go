package mssqlcdc

// The statements the engine sends, in one place. Each reads a documented
// system view, function or procedure (Microsoft's reference pages named in
// the comments); the test fake answers exactly these from its simulated
// state.

// qPreflight: sys.databases (is_cdc_enabled, snapshot_isolation_state,
// delayed_durability), SERVERPROPERTY('EngineEdition') (4 = Express, which
// has no CDC), HAS_PERMS_BY_NAME for VIEW DATABASE STATE (SQL Server 2022
// also grants the DMVs read here through VIEW DATABASE PERFORMANCE STATE;
// older versions answer NULL for that name), and the server's offset from
// UTC (cdc.lsn_time_mapping keeps local times).
const qPreflight = `SELECT DB_NAME(), CAST(SERVERPROPERTY('EngineEdition') AS int), CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)),
	d.is_cdc_enabled, d.snapshot_isolation_state, d.delayed_durability,
	HAS_PERMS_BY_NAME(NULL, 'DATABASE', 'VIEW DATABASE STATE'), HAS_PERMS_BY_NAME(NULL, 'DATABASE', 'VIEW DATABASE PERFORMANCE STATE'),
	DATEPART(TZOFFSET, SYSDATETIMEOFFSET())
FROM sys.databases AS d WHERE d.database_id = DB_ID()`

// qCaptureInstances: sys.sp_cdc_help_change_data_capture without
// arguments lists the capture instances the caller may read (SELECT on
// every captured column and membership in the gating role, or db_owner).
const qCaptureInstances = `EXEC sys.sp_cdc_help_change_data_capture`

// qCapturedColumns: sys.sp_cdc_get_captured_columns, the columns a capture
// instance captures (name and column_id constant for its life).
const qCapturedColumns = `EXEC sys.sp_cdc_get_captured_columns @capture_instance = @p1`

// qTable: the table's object id and whether CDC tracks it (sys.tables).
const qTable = `SELECT t.object_id, t.is_tracked_by_cdc FROM sys.tables AS t WHERE t.object_id = OBJECT_ID(@p1)`

// qColumns: sys.columns, types by their base type name.
const qColumns = `SELECT c.column_id, c.name, TYPE_NAME(c.system_type_id), c.max_length, c.precision, c.scale,
	c.is_nullable, c.collation_name, c.is_computed, c.is_identity
FROM sys.columns AS c WHERE c.object_id = @p1 ORDER BY c.column_id`

// qUniqueIndexes and qIndexColumns: the primary key and the other unique,
// unfiltered, enabled indexes (sys.indexes, sys.index_columns).
const qUniqueIndexes = `SELECT i.index_id, i.is_primary_key FROM sys.indexes AS i
WHERE i.object_id = @p1 AND i.is_unique = 1 AND i.has_filter = 0 AND i.is_disabled = 0 AND i.is_hypothetical = 0
ORDER BY i.is_primary_key DESC, i.index_id`

const qIndexColumns = `SELECT ic.index_id, ic.column_id FROM sys.index_columns AS ic
WHERE ic.object_id = @p1 AND ic.key_ordinal > 0 ORDER BY ic.index_id, ic.key_ordinal`

// qRowEstimate: the row count of the heap or clustered index
// (sys.partitions).
const qRowEstimate = `SELECT SUM(p.rows) FROM sys.partitions AS p WHERE p.object_id = OBJECT_ID(@p1) AND p.index_id IN (0, 1)`

// qLogEnd: the LSN of the last record in the transaction log
// (sys.dm_db_log_stats, SQL Server 2016 SP2 and later; VIEW DATABASE STATE).
const qLogEnd = `SELECT log_end_lsn FROM sys.dm_db_log_stats(DB_ID())`

// qScanned: where the capture job's last finished log scan session ended
// (sys.dm_cdc_log_scan_sessions: end_lsn is NULL while a session runs;
// session 0 is the aggregate row).
const qScanned = `SELECT TOP (1) end_lsn FROM sys.dm_cdc_log_scan_sessions WHERE session_id > 0 AND end_lsn IS NOT NULL ORDER BY session_id DESC`

// qProgress (completed with one sys.fn_cdc_get_min_lsn per capture
// instance): the highest LSN the change tables are complete to
// (sys.fn_cdc_get_max_lsn) and the log's end.
const qProgress = `SELECT sys.fn_cdc_get_max_lsn(), log_end_lsn`

// qLock, qSnapshotStart: see snapshot.go.
const (
	qLock          = `SELECT TOP (1) 1 FROM %s WITH (TABLOCK, HOLDLOCK)`
	qSnapshotStart = `SELECT TOP (1) 1 FROM %s`
)
