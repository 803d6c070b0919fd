//go:build linux

package testdb

import "syscall"

// doltProcAttr puts the server in a process group of its own and kills it
// when the test binary dies without its cleanup (a go test -timeout panic).
func doltProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
