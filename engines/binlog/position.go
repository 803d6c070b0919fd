package binlog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/vstreamd/vstreamd/engines"
)

// Flavors, as go-mysql names them.
const (
	flavorMySQL   = mysql.MySQLFlavor
	flavorMariaDB = mysql.MariaDBFlavor
)

// Position prefixes, as vtgate writes them.
const (
	prefixMySQL   = "MySQL56/"
	prefixMariaDB = "MariaDB/"
	prefixFilePos = "FilePos/"
)

// position is a binlog position: a GTID set, or a file and offset when the
// server has no GTIDs.
type position struct {
	gtid   mysql.GTIDSet // nil for file positions
	flavor string
	file   string
	offset uint32
}

// String is the canonical text: MySQL56/…, MariaDB/… or FilePos/file:offset.
func (p position) String() string {
	switch {
	case p.gtid == nil:
		return fmt.Sprintf("%s%s:%d", prefixFilePos, p.file, p.offset)
	case p.flavor == flavorMariaDB:
		return prefixMariaDB + p.gtid.String()
	default:
		return prefixMySQL + p.gtid.String()
	}
}

func (p position) engine() engines.Position { return engines.Position(p.String()) }

// clone returns a copy that does not share the GTID set.
func (p position) clone() position {
	if p.gtid != nil {
		p.gtid = p.gtid.Clone()
	}
	return p
}

// parsePosition reads a position of a server of the given flavor. Besides
// the canonical forms it accepts a bare GTID set of that flavor and a bare
// file:offset.
func parsePosition(s, flavor string) (position, error) {
	bad := func(why string) (position, error) {
		return position{}, fmt.Errorf("%w: %q is not a position of this %s server (%s); want %s<gtid set> or %s<file>:<offset>",
			engines.ErrBadPosition, s, flavorName(flavor), why, flavorPrefix(flavor), prefixFilePos)
	}
	body := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(body, prefixFilePos):
		return parseFilePos(strings.TrimPrefix(body, prefixFilePos), flavor, bad)
	case strings.HasPrefix(body, prefixMySQL):
		if flavor != flavorMySQL {
			return bad("a MySQL GTID set, but the server is MariaDB")
		}
		body = strings.TrimPrefix(body, prefixMySQL)
	case strings.HasPrefix(body, prefixMariaDB):
		if flavor != flavorMariaDB {
			return bad("a MariaDB GTID position, but the server is MySQL")
		}
		body = strings.TrimPrefix(body, prefixMariaDB)
	default:
		if i := strings.LastIndexByte(body, ':'); i > 0 && strings.Contains(body[:i], ".") {
			if _, err := strconv.ParseUint(body[i+1:], 10, 32); err == nil {
				return parseFilePos(body, flavor, bad)
			}
		}
	}
	set, err := mysql.ParseGTIDSet(flavor, body)
	if err != nil {
		return bad(err.Error())
	}
	// go-mysql accepts some forms (empty members: ",") that it does not
	// print: the set is what its text says, so that a position and the
	// token showing it compare equal (found by FuzzBinlogPosition).
	if set, err = mysql.ParseGTIDSet(flavor, set.String()); err != nil {
		return bad(err.Error())
	}
	return position{gtid: set, flavor: flavor}, nil
}

func parseFilePos(s, flavor string, bad func(string) (position, error)) (position, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return bad("want <file>:<offset>")
	}
	off, err := strconv.ParseUint(s[i+1:], 10, 32)
	if err != nil {
		return bad("the offset is not a number")
	}
	return position{flavor: flavor, file: s[:i], offset: uint32(off)}, nil
}

// compare orders two positions of one server.
func compare(a, b position) (int, error) {
	switch {
	case a.gtid != nil && b.gtid != nil:
		switch {
		case a.gtid.Equal(b.gtid):
			return 0, nil
		case a.gtid.Contain(b.gtid):
			return 1, nil
		case b.gtid.Contain(a.gtid):
			return -1, nil
		}
		return 0, fmt.Errorf("%w: GTID sets %s and %s cannot be ordered (diverged histories?)", engines.ErrBadPosition, a, b)
	case a.gtid == nil && b.gtid == nil:
		if c := compareFiles(a.file, b.file); c != 0 {
			return c, nil
		}
		switch {
		case a.offset < b.offset:
			return -1, nil
		case a.offset > b.offset:
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%w: %s and %s: a GTID position and a file position cannot be compared", engines.ErrBadPosition, a, b)
}

// compareFiles orders binlog file names by their numeric extension.
func compareFiles(a, b string) int {
	na, ea := splitFile(a)
	nb, eb := splitFile(b)
	if na != nb {
		return strings.Compare(na, nb)
	}
	switch {
	case ea < eb:
		return -1
	case ea > eb:
		return 1
	}
	return 0
}

func splitFile(f string) (string, uint64) {
	i := strings.LastIndexByte(f, '.')
	if i < 0 {
		return f, 0
	}
	n, err := strconv.ParseUint(f[i+1:], 10, 64)
	if err != nil {
		return f, 0
	}
	return f[:i], n
}

func flavorName(f string) string {
	if f == flavorMariaDB {
		return "MariaDB"
	}
	return "MySQL"
}

func flavorPrefix(f string) string {
	if f == flavorMariaDB {
		return prefixMariaDB
	}
	return prefixMySQL
}
