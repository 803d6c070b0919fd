package integration

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDemoBinary builds cmd/vstreamd and runs it as a user would, with no
// config file: the demo keyspace is served, the mariadb CLI can use it, and
// SIGTERM stops it cleanly (exit code 0), even with a stream open.
func TestDemoBinary(t *testing.T) {
	mariadb := NeedCommand(t, "mariadb")
	bin := buildVStreamd(t)

	t.Run("help", func(t *testing.T) {
		cmd := exec.Command(bin, "--help")
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("vstreamd --help: %v\n%s", err, out)
		}
		for _, s := range []string{"Usage: vstreamd [--config PATH] [--listen ADDR]", "-config", "-listen"} {
			if !strings.Contains(string(out), s) {
				t.Errorf("vstreamd --help printed\n%s\nwant it to contain %q", out, s)
			}
		}
	})

	addr := freeAddr(t)
	p := startBinary(t, bin, "--listen", addr)
	_, port, _ := net.SplitHostPort(addr)
	sql := func(t *testing.T, query string) string {
		t.Helper()
		cmd := exec.Command(mariadb, "--no-defaults", "--batch", "-h127.0.0.1", "-P"+port, "-uroot", "-e", query)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("mariadb -e %q: %v\n%s%s", query, err, out, stderr.String())
		}
		return string(out)
	}

	if out := sql(t, "SHOW DATABASES"); !containsLine(out, "commerce") {
		t.Errorf("SHOW DATABASES:\n%s\nwant commerce", out)
	}
	if out := sql(t, "SHOW TABLES FROM commerce"); !containsLine(out, "corder") || !containsLine(out, "customer") || !containsLine(out, "product") {
		t.Errorf("SHOW TABLES FROM commerce:\n%s\nwant corder, customer and product", out)
	}
	if out := sql(t, "DESCRIBE commerce.corder"); !containsLine(out, "order_id\tbigint\tNO\tPRI\tNULL\tauto_increment") {
		t.Errorf("DESCRIBE commerce.corder:\n%s\nwant order_id as the auto_increment primary key", out)
	}
	sql(t, "INSERT INTO commerce.corder (customer_id, sku, price) VALUES (7, 'SKU-1007', 70)")
	want := "op\torder_id\tcustomer_id\tsku\tprice\n+\t1\t7\tSKU-1007\t70\n"
	if out := sql(t, "SET WORKLOAD=OLAP; VSTREAM * FROM commerce.corder LIMIT 1"); out != want {
		t.Errorf("VSTREAM * FROM commerce.corder LIMIT 1:\n%s\nwant\n%s", out, want)
	}

	// A client in the middle of a stream does not hold up the shutdown.
	streaming := exec.Command(mariadb, "--no-defaults", "--batch", "-h127.0.0.1", "-P"+port, "-uroot",
		"-e", "SET WORKLOAD=OLAP; VSTREAM * FROM commerce.corder WHERE pos > 'current'")
	if err := streaming.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		streaming.Process.Kill()
		streaming.Wait()
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(sql(t, "SHOW PROCESSLIST"), "VSTREAM"); {
		if time.Now().After(deadline) {
			t.Fatal("the streaming client's VSTREAM does not show in SHOW PROCESSLIST")
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("vstreamd did not exit within 5 s of SIGTERM\n%s", p.output())
	}
	if p.err != nil {
		t.Fatalf("vstreamd exited with %v after SIGTERM, want exit code 0\n%s", p.err, p.output())
	}
	if !strings.Contains(p.output(), "shutting down") {
		t.Errorf("vstreamd's log does not say it shut down:\n%s", p.output())
	}
}

// buildVStreamd builds cmd/vstreamd into a temporary directory.
func buildVStreamd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vstreamd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/vstreamd/vstreamd/cmd/vstreamd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/vstreamd: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// process is a vstreamd binary running in an empty temporary directory.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
	err  error // set before done is closed
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// startBinary runs bin with args in an empty directory (so no config.toml
// is found), without any VSTREAMD_* variable, and waits until it serves.
// The process is killed at the end of the test if it still runs.
func startBinary(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VSTREAMD_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.output(), "msg=serving") {
		select {
		case <-p.done:
			t.Fatalf("vstreamd %s exited: %v\n%s", strings.Join(args, " "), p.err, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("vstreamd %s is not serving after 10 s\n%s", strings.Join(args, " "), p.output())
		}
	}
	return p
}

func containsLine(out, line string) bool {
	for _, l := range strings.Split(out, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
