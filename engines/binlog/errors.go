package binlog

import (
	"errors"
	"fmt"
	"io"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/engines"
)

// classify turns a server error into one of the engines sentinels, with a
// message that names the fix.
func (s *Source) classify(err error) error {
	if err == nil {
		return nil
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045:
			return fmt.Errorf("%w: %s refused user %q (%v): check the user and password of the source URL", engines.ErrSourceUnavailable, s.cfg.Addr(), s.cfg.User, me.Message)
		case 1049:
			return fmt.Errorf("%w: %s has no database %q: fix the database in the source URL", engines.ErrMisconfigured, s.cfg.Addr(), s.cfg.Database)
		case 1044, 1142, 1143:
			return fmt.Errorf("%w: %s: %v: GRANT SELECT ON %s.* TO %q", engines.ErrMisconfigured, s.cfg.Addr(), me.Message, quoteName(s.cfg.Database), s.cfg.User)
		case 1227:
			return fmt.Errorf("%w: %s: %v: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO %q", engines.ErrMisconfigured, s.cfg.Addr(), me.Message, s.cfg.User)
		}
		return err
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) || errors.Is(err, mysql.ErrInvalidConn) || strings.Contains(err.Error(), "connect:") ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "EOF") {
		return fmt.Errorf("%w: cannot reach %s: %v", engines.ErrSourceUnavailable, s.cfg.Addr(), err)
	}
	return err
}

// classifyStream turns a replication error into an engines sentinel.
func (s *Source) classifyStream(err error) error {
	if err == nil {
		return nil
	}
	var me *gomysql.MyError
	if errors.As(err, &me) {
		msg := strings.ToLower(me.Message)
		switch {
		case me.Code == 1236 && (strings.Contains(msg, "same server_uuid") || strings.Contains(msg, "same server_id") || strings.Contains(msg, "same server id")):
			return fmt.Errorf("%w: %s: %s: another replica uses the same server_id; give this keyspace's source URL a free range with ?server_id=N", engines.ErrMisconfigured, s.cfg.Addr(), me.Message)
		case me.Code == 1236:
			return fmt.Errorf("%w: %s: %s", engines.ErrPositionUnavailable, s.cfg.Addr(), me.Message)
		case me.Code == 1227:
			return fmt.Errorf("%w: %s: %s: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO %q", engines.ErrMisconfigured, s.cfg.Addr(), me.Message, s.cfg.User)
		case me.Code == 1047 || me.Code == 1235:
			return fmt.Errorf("%w: %s does not serve the binary log (%s): is a proxy in front of the database? point the source URL at the database server itself", engines.ErrMisconfigured, s.cfg.Addr(), me.Message)
		}
		return s.classify(err)
	}
	if errors.Is(err, replication.ErrSyncClosed) || errors.Is(err, replication.ErrNeedSyncAgain) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "connection") || strings.Contains(err.Error(), "i/o timeout") || strings.Contains(err.Error(), "EOF") {
		return fmt.Errorf("%w: replication connection to %s: %v", engines.ErrSourceUnavailable, s.cfg.Addr(), err)
	}
	return s.classify(err)
}
