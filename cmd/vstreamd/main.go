// Command vstreamd serves the change streams of database tables over the
// MySQL protocol: SET WORKLOAD=OLAP; VSTREAM * FROM keyspace.table.
//
// Usage:
//
//	vstreamd [--config PATH] [--listen ADDR]
//
// With no config file it serves the embedded demo keyspace "commerce".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"os"
	"os/signal"
	"syscall"

	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/server"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "vstreamd:", err)
		os.Exit(1)
	}
}

// run parses the flags, loads the configuration and serves until SIGINT or
// SIGTERM. Usage, flag errors and logs go to stderr. --help returns
// flag.ErrHelp.
func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("vstreamd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defaultConfigPath, "config file (TOML); the embedded demo keyspace is served when the default file does not exist")
	listen := fs.String("listen", "", "address to listen on (default "+server.DefaultListen+"; overrides [server] listen)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: vstreamd [--config PATH] [--listen ADDR]\n\n"+
			"Serves the change streams of database tables over the MySQL protocol:\n"+
			"  mysql -h127.0.0.1 -P15306 -e 'SET WORKLOAD=OLAP; VSTREAM * FROM commerce.corder'\n\n"+
			"Every config key can be set by an environment variable VSTREAMD_<SECTION>_<KEY>,\n"+
			"e.g. VSTREAMD_SERVER_LISTEN=127.0.0.1:3306.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "config" {
			explicit = true
		}
	})

	cfg, logLevel, err := loadConfig(*configPath, explicit, os.Getenv)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	// What libraries log (through slog or the log package) is redacted as
	// the server's own records are; so is what the MySQL driver logs (to
	// stderr of its own otherwise).
	slog.SetDefault(srv.Logger())
	_ = mysql.SetLogger(slog.NewLogLogger(srv.Logger().Handler(), slog.LevelWarn))
	srv.Logger().Info("garbage collector", "settings", server.TuneRuntime(cfg, os.Getenv))
	return srv.Serve(ctx)
}
