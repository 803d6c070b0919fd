package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/viper"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/server"
)

const defaultConfigPath = "config.toml"

// demoConfig is served when there is no config file: the embedded keyspace
// "commerce" with the tables of Vitess's example.
const demoConfig = `
[keyspaces.commerce]
source = "embedded:"
init_sql = """
CREATE TABLE product (sku VARBINARY(128), description VARBINARY(128), price BIGINT, PRIMARY KEY (sku));
CREATE TABLE customer (customer_id BIGINT NOT NULL AUTO_INCREMENT, email VARBINARY(128), PRIMARY KEY (customer_id));
CREATE TABLE corder (order_id BIGINT NOT NULL AUTO_INCREMENT, customer_id BIGINT, sku VARBINARY(128), price BIGINT, PRIMARY KEY (order_id));
"""
`

// loadConfig reads the TOML config (or the demo when the default file does
// not exist), applies VSTREAMD_* environment overrides and resolves
// secrets given by environment variable or file.
func loadConfig(path string, explicit bool, getenv func(string) string) (server.Config, slog.Level, error) {
	v := viper.New()
	v.SetConfigType("toml")
	v.SetEnvPrefix("VSTREAMD")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	v.SetDefault("server.listen", server.DefaultListen)
	v.SetDefault("server.default_limit", server.DefaultLimit)
	v.SetDefault("server.chunk_rows", 0)
	v.SetDefault("server.retain_changes", 0)
	v.SetDefault("server.tls_cert", "")
	v.SetDefault("server.tls_key", "")
	v.SetDefault("server.require_secure_transport", false)
	v.SetDefault("server.max_sessions", server.DefaultMaxSessions)
	v.SetDefault("server.max_streams_per_user", 0)
	v.SetDefault("server.max_statement_bytes", server.DefaultMaxStatementBytes)
	v.SetDefault("server.handshake_timeout", server.DefaultHandshakeTimeout)
	v.SetDefault("server.gc_percent", server.DefaultGCPercent)
	v.SetDefault("server.gc_headroom", strconv.Itoa(server.DefaultGCHeadroom>>20)+"MiB")
	v.SetDefault("server.memory_limit", strconv.Itoa(server.DefaultMemoryLimit>>20)+"MiB")
	v.SetDefault("log.level", "info")

	f, err := os.Open(path)
	switch {
	case err == nil:
		defer f.Close()
		if err := v.ReadConfig(f); err != nil {
			return server.Config{}, 0, fmt.Errorf("config %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		if err := v.ReadConfig(strings.NewReader(demoConfig)); err != nil {
			return server.Config{}, 0, err
		}
	default:
		return server.Config{}, 0, fmt.Errorf("config: %w", err)
	}

	cfg := server.Config{
		Listen:        v.GetString("server.listen"),
		DefaultLimit:  v.GetInt64("server.default_limit"),
		ChunkRows:     v.GetInt("server.chunk_rows"),
		RetainChanges: v.GetInt("server.retain_changes"),

		TLSCert:                v.GetString("server.tls_cert"),
		TLSKey:                 v.GetString("server.tls_key"),
		RequireSecureTransport: v.GetBool("server.require_secure_transport"),
		MaxSessions:            v.GetInt("server.max_sessions"),
		MaxStreamsPerUser:      v.GetInt("server.max_streams_per_user"),
		MaxStatementBytes:      v.GetInt("server.max_statement_bytes"),
		HandshakeTimeout:       v.GetDuration("server.handshake_timeout"),
		GCPercent:              v.GetInt("server.gc_percent"),
	}
	if cfg.GCHeadroom, err = parseBytes(v.GetString("server.gc_headroom")); err != nil {
		return cfg, 0, fmt.Errorf("server.gc_headroom: %w", err)
	}
	if cfg.MemoryLimit, err = parseBytes(v.GetString("server.memory_limit")); err != nil {
		return cfg, 0, fmt.Errorf("server.memory_limit: %w", err)
	}
	if cfg.GCPercent < 0 {
		return cfg, 0, fmt.Errorf("server.gc_percent: %d: want a percentage above 0 (or 0 for Go's default, 100)", cfg.GCPercent)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(v.GetString("log.level"))); err != nil {
		return cfg, 0, fmt.Errorf("log.level: %w", err)
	}

	names := make([]string, 0)
	for name := range v.GetStringMap("keyspaces") {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		key := "keyspaces." + name
		src, err := secret(v, key, "source", getenv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cfg.Keyspaces = append(cfg.Keyspaces, catalog.KeyspaceConfig{
			Name: name, Source: src, InitSQL: v.GetString(key + ".init_sql"),
		})
	}

	var users []map[string]any
	if err := v.UnmarshalKey("users", &users); err != nil {
		errs = append(errs, fmt.Errorf("users: %w", err))
	}
	for i := range users {
		key := fmt.Sprintf("users.%d", i)
		sub := viper.New()
		for k, val := range users[i] {
			sub.Set(k, val)
		}
		u := server.User{Name: sub.GetString("name")}
		pw, err := secret(sub, "", "password", getenv)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", key, u.Name, err))
		}
		u.Password = pw
		u.PasswordHash = sub.GetString("password_hash")
		u.AuthPlugin = sub.GetString("auth_plugin")
		u.Keyspaces = sub.GetStringSlice("keyspaces")
		u.Tables = sub.GetStringSlice("tables")
		cfg.Users = append(cfg.Users, u)
	}
	return cfg, level, errors.Join(errs...)
}

// secret reads NAME, NAME_env (an environment variable holding the value)
// or NAME_file (a file holding it), so that no secret has to be written in
// the config file.
func secret(v *viper.Viper, prefix, name string, getenv func(string) string) (string, error) {
	k := name
	if prefix != "" {
		k = prefix + "." + name
	}
	if s := v.GetString(k); s != "" {
		return s, nil
	}
	if env := v.GetString(k + "_env"); env != "" {
		s := getenv(env)
		if s == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is empty or not set", k, env)
		}
		return s, nil
	}
	if file := v.GetString(k + "_file"); file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", k, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if name == "source" {
		return "", fmt.Errorf("%s: set source, source_env or source_file", prefix)
	}
	return "", nil
}

// parseBytes reads a size: bytes, or a number with a unit KiB, MiB, GiB
// (KB, MB, GB mean the same); 0 is none.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	shift := 0
	for _, u := range []struct {
		suffixes []string
		shift    int
	}{{[]string{"KiB", "KB"}, 10}, {[]string{"MiB", "MB"}, 20}, {[]string{"GiB", "GB"}, 30}} {
		for _, suf := range u.suffixes {
			if len(t) > len(suf) && strings.EqualFold(t[len(t)-len(suf):], suf) {
				t, shift = strings.TrimSpace(t[:len(t)-len(suf)]), u.shift
			}
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q: want a size in bytes, or such as 512MiB or 2GiB (0: none)", s)
	}
	return n << shift, nil
}
