package server

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/vstream"
)

// bound is a start or end argument: absent (NULL), or a text: ” (start:
// fresh copy), 'current', or a token or source position.
type bound struct {
	set  bool
	text string
}

// openStream opens the stream of a resolved table for this session, as
// VSTREAM's pos conditions and vstream()'s arguments describe it:
//
//	from absent   continue this session's stream (or copy afresh)
//	from ''       copy afresh (the session forgets the stream)
//	from current  start now, no copy
//	from token    start right after it
//	to absent     stream on in OLAP; end at the current position otherwise
//	to current    end at the position read when the stream opens
//	to token      end right after it
//
// The stream holds one of the user's stream slots (max_streams_per_user)
// until it is closed.
func (s *Server) openStream(ctx *sql.Context, entry *catalog.Entry, shard string, from, to bound) (*heldStream, *vstream.StreamState, error) {
	release, err := s.takeStream(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, state, err := s.open(ctx, entry, shard, from, to)
	if err != nil {
		release()
		return nil, nil, err
	}
	return &heldStream{Stream: st, release: release}, state, nil
}

func (s *Server) open(ctx *sql.Context, entry *catalog.Entry, shard string, from, to bound) (*vstream.Stream, *vstream.StreamState, error) {
	key := vstream.StreamKey{Keyspace: entry.Keyspace.Name, Shard: shard, Table: entry.Table.Name}
	state := streamsOf(ctx).Stream(key)
	if from.set && from.text == "" {
		state.Reset() // before the source is held: a fresh copy holds afresh
	}
	src, err := state.Source(ctx, s.streams[strings.ToLower(entry.Keyspace.Name)])
	if err != nil {
		return nil, nil, err
	}

	var opts vstream.Options
	switch {
	case !from.set:
		if t, ok := state.Resume(); ok {
			opts.From = t
		} else {
			opts.From = vstream.Fresh(key.Keyspace, key.Shard, key.Table)
		}
	case from.text == "":
		opts.From = vstream.Fresh(key.Keyspace, key.Shard, key.Table)
	case strings.EqualFold(from.text, "current"):
		cur, err := src.Current(ctx)
		if err != nil {
			return nil, nil, err
		}
		opts.From = vstream.Token{Keyspace: key.Keyspace, Shard: key.Shard, Table: key.Table, Pos: cur}
	default:
		if opts.From, err = parseToken(entry, key, from.text); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case to.set && strings.EqualFold(to.text, "current"):
		opts.UntilCurrent = true
	case to.set && to.text == "":
		return nil, nil, engines.Errorf(vstream.ErrBadToken, "the end position cannot be '': use 'current' or a token")
	case to.set:
		t, err := parseToken(entry, key, to.text)
		if err != nil {
			return nil, nil, err
		}
		if opts.Until, err = vstream.BoundOf(t); err != nil {
			return nil, nil, err
		}
	case workload(ctx) != workloadOLAP:
		opts.UntilCurrent = true // a tool that only sends SELECT must not hang
	}

	st, err := vstream.Open(ctx, vstream.Config{
		Keyspace: key.Keyspace, Shard: key.Shard, Table: entry.Table,
		Source: src, ChunkRows: s.cfg.ChunkRows, State: state,
	}, opts)
	if err != nil {
		return nil, nil, err
	}
	return st, state, nil
}

// parseToken parses a token, or a position in the source's own form.
func parseToken(entry *catalog.Entry, key vstream.StreamKey, s string) (vstream.Token, error) {
	if vstream.IsToken(s) {
		return vstream.ParseToken(s)
	}
	p, err := entry.Keyspace.Source.ParsePosition(s)
	if err != nil {
		return vstream.Token{}, engines.Errorf(vstream.ErrBadToken,
			"pos '%s' is neither a token (as the pos column and vstream_positions() show) nor a position of keyspace %s: %v",
			s, key.Keyspace, err)
	}
	return vstream.Token{Keyspace: key.Keyspace, Shard: key.Shard, Table: key.Table, Pos: p}, nil
}
