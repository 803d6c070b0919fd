//go:build !linux

package testdb

import "syscall"

// doltProcAttr puts the server in a process group of its own.
func doltProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
