package vstream

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	tests := []Token{
		Fresh("ks", "", "t"),
		{Keyspace: "ks", Table: "t", Pos: "42"},
		{Keyspace: "ks", Table: "t", Pos: "42", Skip: 3},
		{Keyspace: "commerce", Shard: "-80", Table: "corder", Copying: true, Pos: "MySQL56/3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", LastKey: []any{int64(-7)}},
		{Keyspace: "ks", Table: "t", Copying: true, Pos: "0/16B3748", LastKey: []any{
			int64(math.MinInt64), uint64(math.MaxUint64), 1.5, float32(2.25), "é'\"\\", []byte{0, 1, 255},
			time.Date(2024, 2, 29, 23, 59, 59, 123456000, time.UTC), true, nil,
		}},
	}
	for _, tok := range tests {
		s := tok.String()
		if !IsToken(s) || strings.ContainsAny(s, "'\"\\ ") {
			t.Fatalf("token %q is not safe inside a SQL string", s)
		}
		if got := string(tok.AppendTo([]byte("x"))); got != "x"+s {
			t.Fatalf("AppendTo = %q, want %q after the prefix", got, s)
		}
		back, err := ParseToken(s)
		if err != nil {
			t.Fatalf("%+v: %v", tok, err)
		}
		if !reflect.DeepEqual(back, tok) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", back, tok)
		}
	}
}

func TestParseTokenRejects(t *testing.T) {
	good := Token{Keyspace: "ks", Table: "t", Pos: "42"}.String()
	for _, s := range []string{"", "42", "vs1.", "vs1.!!!", good[:len(good)-3], good + "AA", "vs2." + good[4:]} {
		if _, err := ParseToken(s); !errors.Is(err, ErrBadToken) {
			t.Errorf("ParseToken(%q) = %v, want ErrBadToken", s, err)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(Fresh("ks", "", "t").String())
	f.Add(Token{Keyspace: "ks", Table: "t", Copying: true, Pos: "9", LastKey: []any{int64(1), "a", []byte("b")}}.String())
	f.Add("vs1.AAA")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrBadToken) {
				t.Fatalf("error %v does not wrap ErrBadToken", err)
			}
			return
		}
		again, err := ParseToken(tok.String())
		if err != nil || again.String() != tok.String() {
			t.Fatalf("re-encoding %q: %v", s, err)
		}
	})
}
