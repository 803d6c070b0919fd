package integration

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vstreamd/vstreamd/vstream"
)

// The fault matrix's oracle (see faults_test.go): every op row a client
// receives is folded by primary key into an image of the table, and every
// token is checked against the one before it. At the end the image is
// compared with SELECT * on the source: a key missing or different is a
// row lost, and a row delivered twice shows up while folding (an insert of
// a present key, an update or delete of an absent one, a delete whose
// before image is not the current one) or as a token seen twice or out of
// order.

// faultRow is one op row as the client read it: op, the table's values as
// text ("NULL" for NULL) and the pos token.
type faultRow struct {
	op    string
	id    int64
	vals  string // "id v s", as the source's SELECT shows the row
	token string
}

// tokenOrder is the place a token names in a stream: every transaction up
// to pos, then skip rows of the next one, and while copying the rows of
// keys up to lastKey. Tokens of one stream only grow.
type tokenOrder struct {
	pos     string
	skip    int64
	copying bool
	lastKey int64 // while copying; -1 before the first copied row
}

// posCompare orders two engine positions of one source.
type posCompare func(a, b string) (int, error)

// parseTokenOrder decodes a token of the test table (one BIGINT key).
func parseTokenOrder(tok string) (tokenOrder, error) {
	t, err := vstream.ParseToken(tok)
	if err != nil {
		return tokenOrder{}, err
	}
	o := tokenOrder{pos: string(t.Pos), skip: t.Skip, copying: t.Copying, lastKey: -1}
	if t.Copying && t.LastKey != nil {
		if len(t.LastKey) != 1 {
			return o, fmt.Errorf("token %s: copy key %v, want one value", tok, t.LastKey)
		}
		switch k := t.LastKey[0].(type) {
		case int64:
			o.lastKey = k
		case uint64:
			o.lastKey = int64(k)
		default:
			return o, fmt.Errorf("token %s: copy key %v (%T), want an integer", tok, k, k)
		}
	}
	return o, nil
}

// compareOrder orders two tokens: by position, then rows of the next
// transaction, then copy progress (a copy key below the end of the copy).
func compareOrder(a, b tokenOrder, cmp posCompare) (int, error) {
	c, err := cmp(a.pos, b.pos)
	if err != nil || c != 0 {
		return c, err
	}
	if a.skip != b.skip {
		return sign(a.skip - b.skip), nil
	}
	switch {
	case a.copying && b.copying:
		return sign(a.lastKey - b.lastKey), nil
	case a.copying:
		return -1, nil
	case b.copying:
		return 1, nil
	}
	return 0, nil
}

func sign(n int64) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// foldOracle is the image of the table the rows delivered so far make, and
// what was wrong with them. It is not safe for concurrent use.
type foldOracle struct {
	cmp      posCompare
	image    map[int64]string
	tokens   map[string]bool
	last     string // the last token delivered ("" before any)
	lastOrd  tokenOrder
	rows     int // rows folded, over every epoch
	problems []string
	history  map[int64][]string // every row of each key, for reports
	epoch    int
}

func newFoldOracle(cmp posCompare) *foldOracle {
	return &foldOracle{cmp: cmp, image: map[int64]string{}, tokens: map[string]bool{}, history: map[int64][]string{}}
}

// fresh starts a new epoch: a fresh copy (pos > ”) replaces the image.
func (o *foldOracle) fresh() {
	o.image = map[int64]string{}
	o.tokens = map[string]bool{}
	o.last, o.lastOrd = "", tokenOrder{}
	o.epoch++
}

func (o *foldOracle) problem(format string, args ...any) {
	if len(o.problems) < 50 {
		o.problems = append(o.problems, fmt.Sprintf(format, args...))
	}
}

// add folds one row and checks its token.
func (o *foldOracle) add(r faultRow) {
	o.rows++
	o.history[r.id] = append(o.history[r.id], fmt.Sprintf("epoch %d row %d: %s %s %s", o.epoch, o.rows, r.op, r.vals, r.token))
	if o.tokens[r.token] {
		o.problem("token delivered twice: %s %s %s", r.op, r.vals, r.token)
	}
	o.tokens[r.token] = true
	ord, err := parseTokenOrder(r.token)
	if err != nil {
		o.problem("row %s %s: %v", r.op, r.vals, err)
	} else if o.last != "" {
		c, err := compareOrder(ord, o.lastOrd, o.cmp)
		switch {
		case err != nil:
			o.problem("row %s %s: comparing its token with the previous one: %v", r.op, r.vals, err)
		case c <= 0:
			o.problem("token not after the previous one: row %s %s at %+v, previous %+v", r.op, r.vals, ord, o.lastOrd)
		}
	}
	o.last, o.lastOrd = r.token, ord
	old, present := o.image[r.id]
	switch r.op {
	case "+":
		if present {
			o.problem("doubled: %q inserts key %d, present as %q; its rows: %q", r.op+" "+r.vals, r.id, old, o.history[r.id])
		}
		o.image[r.id] = r.vals
	case "*":
		if !present {
			o.problem("doubled or lost: %q updates absent key %d; its rows: %q", r.op+" "+r.vals, r.id, o.history[r.id])
		}
		o.image[r.id] = r.vals
	case "-":
		if !present {
			o.problem("doubled: %q deletes absent key %d; its rows: %q", r.op+" "+r.vals, r.id, o.history[r.id])
		} else if old != r.vals {
			o.problem("lost: %q deletes key %d whose image is %q; its rows: %q", r.op+" "+r.vals, r.id, old, o.history[r.id])
		}
		delete(o.image, r.id)
	default:
		o.problem("bad op in %q", r.op+" "+r.vals)
	}
}

// lastToken is the token of the last row delivered: where the client
// resumes.
func (o *foldOracle) lastToken() string { return o.last }

// diff compares the image with the source's rows ("id v s" lines) and
// returns a description of each difference.
func (o *foldOracle) diff(source []string) []string {
	want := map[int64]string{}
	for _, l := range source {
		f, _, _ := strings.Cut(l, " ")
		id, _ := strconv.ParseInt(f, 10, 64)
		want[id] = l
	}
	var out []string
	for id, l := range want {
		got, ok := o.image[id]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("lost: source has %q, the stream has no row %d; its rows: %q", l, id, o.history[id]))
		case got != l:
			out = append(out, fmt.Sprintf("differs: source has %q, the stream %q; its rows: %q", l, got, o.history[id]))
		}
	}
	for id, l := range o.image {
		if _, ok := want[id]; !ok {
			out = append(out, fmt.Sprintf("extra: the stream has %q, the source no row %d; its rows: %q", l, id, o.history[id]))
		}
	}
	sort.Strings(out)
	return out
}
