package integration

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/server"
)

// testCA is a certificate authority made for one test, and a server
// certificate it signed for 127.0.0.1 and localhost, as PEM files.
type testCA struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vstreamd test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCA{
		caFile: write("ca.pem", "CERTIFICATE", caDER), certFile: write("cert.pem", "CERTIFICATE", der),
		keyFile: write("key.pem", "PRIVATE KEY", keyDER), pool: x509.NewCertPool(),
	}
	c.pool.AddCert(caCert)
	return c
}

var tlsConfigs atomic.Int64

// registerTLS registers a go-sql-driver TLS configuration trusting the CA
// and returns its name (the DSN's tls= value).
func (c *testCA) registerTLS(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("vstreamd-test-%d", tlsConfigs.Add(1))
	if err := mysql.RegisterTLSConfig(name, &tls.Config{RootCAs: c.pool, ServerName: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mysql.DeregisterTLSConfig(name) })
	return name
}

// tlsConn opens a session with the DSN's tls parameter set to mode ("":
// none).
func tlsConn(t *testing.T, s *Server, user, password, mode string) (*sql.Conn, error) {
	t.Helper()
	params := map[string]string{}
	if mode != "" {
		params["tls"] = mode
	}
	h, err := sql.Open("mysql", s.DSN(user, password, "", params))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	c, err := h.Conn(context.Background())
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// TestTLS: a server with a certificate serves TLS clients (go-sql-driver
// verifying the certificate, and the mariadb CLI with --ssl);
// caching_sha2_password users log in over TLS only; with
// require_secure_transport, clients without TLS are refused with 3159.
func TestTLS(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	users := []server.User{
		{Name: "native", Password: "native-pw", Keyspaces: []string{"commerce"}},
		{Name: "sha2", Password: "sha2-pw", AuthPlugin: server.PluginSHA2, Keyspaces: []string{"commerce"}},
	}
	start := func(require bool) *Server {
		cfg := Embedded(DemoSchema, "commerce")
		cfg.Users, cfg.TLSCert, cfg.TLSKey, cfg.RequireSecureTransport = users, ca.certFile, ca.keyFile, require
		s := Start(t, cfg)
		c, err := tlsConn(t, s, "native", "native-pw", ca.registerTLS(t))
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, c, "INSERT INTO commerce.corder (order_id, customer_id, sku, price) VALUES (1, 2, 'tls', 30)")
		return s
	}
	optional, required := start(false), start(true)
	verified := ca.registerTLS(t)

	for _, tc := range []struct {
		name       string
		s          *Server
		user, mode string
		code       uint16 // 0: logs in
		parts      []string
	}{
		{name: "native with TLS", s: optional, user: "native", mode: verified},
		{name: "native without TLS", s: optional, user: "native"},
		{name: "native, TLS preferred", s: optional, user: "native", mode: "preferred"},
		{name: "sha2 with TLS", s: optional, user: "sha2", mode: verified},
		{name: "sha2 without TLS", s: optional, user: "sha2", code: 1045, parts: []string{"sha2"}},
		{name: "required, with TLS", s: required, user: "native", mode: verified},
		{name: "required, sha2 with TLS", s: required, user: "sha2", mode: verified},
		{name: "required, without TLS", s: required, user: "native", code: 3159, parts: []string{"insecure transport", "require_secure_transport"}},
		{name: "required, TLS not verified", s: required, user: "native", mode: "skip-verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tlsConn(t, tc.s, tc.user, tc.user+"-pw", tc.mode)
			if tc.code != 0 {
				wantErr(t, tc.name, err, tc.code, tc.parts...)
				return
			}
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			mustExec(t, c, "SET WORKLOAD=OLAP")
			equalLines(t, "stream", queryLines(t, c, "VSTREAM * FROM commerce.corder WHERE pos <= 'current'"), "+ 1 2 tls 30")
		})
	}

	t.Run("a certificate for another host is refused by a verifying client", func(t *testing.T) {
		name := "vstreamd-test-wrong-host"
		if err := mysql.RegisterTLSConfig(name, &tls.Config{RootCAs: ca.pool, ServerName: "db.example"}); err != nil {
			t.Fatal(err)
		}
		defer mysql.DeregisterTLSConfig(name)
		if _, err := tlsConn(t, optional, "native", "native-pw", name); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("login with a certificate for 127.0.0.1 verified as db.example: %v, want a certificate error", err)
		}
	})

	t.Run("mariadb CLI", func(t *testing.T) {
		mariadb := NeedCommand(t, "mariadb")
		_, port, _ := net.SplitHostPort(required.Addr)
		run := func(user string, args ...string) (string, error) {
			args = append([]string{"--no-defaults", "--batch", "-h127.0.0.1", "-P" + port, "-u" + user, "-p" + user + "-pw"}, args...)
			cmd := exec.Command(mariadb, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return string(out) + stderr.String(), err
			}
			return string(out), nil
		}
		for _, user := range []string{"native", "sha2"} {
			out, err := run(user, "--ssl", "--ssl-ca="+ca.caFile, "--ssl-verify-server-cert",
				"-e", "SET WORKLOAD=OLAP; VSTREAM * FROM commerce.corder WHERE pos <= 'current'")
			if err != nil {
				t.Fatalf("mariadb --ssl as %s: %v\n%s", user, err, out)
			}
			if want := "op\torder_id\tcustomer_id\tsku\tprice\n+\t1\t2\ttls\t30\n"; out != want {
				t.Fatalf("mariadb --ssl as %s:\n%s\nwant\n%s", user, out, want)
			}
			out, err = run(user, "--ssl", "--ssl-ca="+ca.caFile, "-e", "status")
			if err != nil || !strings.Contains(out, "Cipher in use is") {
				t.Fatalf("mariadb --ssl status as %s: %v\n%s\nwant a cipher in use", user, err, out)
			}
		}
		out, err := run("native", "--skip-ssl", "-e", "SELECT 1")
		if err == nil || !strings.Contains(out, "3159") {
			t.Fatalf("mariadb --skip-ssl on a server requiring TLS: %v\n%s\nwant ERROR 3159", err, out)
		}
	})
}
