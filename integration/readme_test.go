package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReadmeTranscript replays the two-terminal transcript of README.md
// with the real mariadb CLI, each session interactive under a
// pseudo-terminal (util-linux script), and checks that every terminal
// shows exactly what the README shows, after normalisation (see
// normalizeTerminal).
//
// The README marks each part of the transcript with
// <!-- transcript: terminal N --> before a fenced block. A terminal's first
// block starts with "$ mariadb ..." (run with the test server's port and
// --no-defaults; the client's welcome banner before its first prompt is
// not compared). The blocks are replayed in README order: the statement
// after each prompt is typed once the terminal shows everything up to that
// prompt, and a block is done when the terminal shows all of it, so
// terminal 2 has printed the copy rows before terminal 1 changes anything.
// A block that starts at the bare prompt its terminal's previous block
// ended with continues on that prompt line; otherwise it continues on the
// next line.
func TestReadmeTranscript(t *testing.T) {
	NeedCommand(t, "mariadb")
	NeedCommand(t, "script")
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := transcriptBlocks(string(readme))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	s := Start(t, Embedded(DemoSchema, "commerce"))
	_, port, _ := net.SplitHostPort(s.Addr)

	terms := map[string]*terminal{}
	for i, b := range blocks {
		where := fmt.Sprintf("README.md transcript block %d (terminal %s)", i+1, b.terminal)
		tm := terms[b.terminal]
		lines := b.lines
		if strings.HasPrefix(lines[0], "$ ") {
			if tm != nil {
				t.Fatalf("%s starts terminal %s again", where, b.terminal)
			}
			args, err := clientArgs(strings.TrimPrefix(lines[0], "$ "), port)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			tm = startTerminal(t, "terminal "+b.terminal, args)
			terms[b.terminal] = tm
			lines = lines[1:]
		} else if tm == nil {
			t.Fatalf("%s: the terminal's first block must start with the command line, $ mariadb ...", where)
		}
		if len(lines) == 0 {
			continue
		}
		// A block that resumes at the bare prompt the previous one ended with.
		if i := strings.LastIndexByte(tm.want, '\n'); i >= 0 && isBarePrompt(tm.want[i+1:]) &&
			strings.HasPrefix(lines[0], tm.want[i+1:]) {
			tm.want = tm.want[:i]
		}
		for _, line := range lines {
			if tm.want != "" {
				tm.want += "\n"
			}
			if m := promptLine.FindStringSubmatch(line); m != nil && m[2] != "" {
				tm.waitFor(t, tm.want+m[1], where)
				tm.typeLine(t, m[2])
			}
			tm.want += line
		}
		tm.waitFor(t, tm.want, where)
	}
	if len(terms) < 2 {
		t.Fatalf("README.md transcript uses %d terminal(s), want two", len(terms))
	}
	// Nothing more may appear: each transcript ends at an idle prompt.
	time.Sleep(200 * time.Millisecond)
	for _, tm := range terms {
		if got := tm.screen(); got != tm.want {
			t.Errorf("%s shows more than README.md:\n%s", tm.name, diffText(tm.want, got))
		}
	}
}

// transcriptBlock is one fenced block of the README transcript.
type transcriptBlock struct {
	terminal string
	lines    []string
}

var transcriptRE = regexp.MustCompile("(?s)<!-- transcript: terminal (\\w+) -->\\s*\n```[a-z]*\n(.*?)\n```")

func transcriptBlocks(readme string) ([]transcriptBlock, error) {
	var blocks []transcriptBlock
	for _, m := range transcriptRE.FindAllStringSubmatch(readme, -1) {
		text := normalizeTerminal(m[2])
		if strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("empty transcript block for terminal %s", m[1])
		}
		blocks = append(blocks, transcriptBlock{terminal: m[1], lines: strings.Split(text, "\n")})
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("no transcript: want blocks marked <!-- transcript: terminal N -->")
	}
	return blocks, nil
}

// clientArgs turns the README's command line into the command to run:
// the mariadb client, with --no-defaults (no option files of whoever runs
// the test) and the test server's port instead of 15306.
func clientArgs(cmdline, port string) ([]string, error) {
	f := strings.Fields(cmdline)
	if len(f) == 0 || f[0] != "mariadb" {
		return nil, fmt.Errorf("command %q: want a mariadb command line", cmdline)
	}
	args := []string{f[0], "--no-defaults"}
	found := false
	for i := 1; i < len(f); i++ {
		switch a := f[i]; {
		case (a == "-P" || a == "--port") && i+1 < len(f):
			args = append(args, a, port)
			i++
			found = true
		case strings.HasPrefix(a, "--port="):
			args = append(args, "--port="+port)
			found = true
		case strings.HasPrefix(a, "-P") && len(a) > 2:
			args = append(args, "-P"+port)
			found = true
		default:
			args = append(args, a)
		}
	}
	if !found {
		return nil, fmt.Errorf("command %q names no port (-P 15306)", cmdline)
	}
	return args, nil
}

// promptLine matches a line that starts with the client's prompt; group 1
// is the prompt (without its trailing blank), group 2 what was typed.
var promptLine = regexp.MustCompile(`^((?:MySQL|MariaDB) \[[^\]\n]*\]>)(?: (.*))?$`)

func isBarePrompt(line string) bool {
	m := promptLine.FindStringSubmatch(line)
	return m != nil && m[2] == ""
}

var (
	// terminalEscape matches the control sequences a client writes to a
	// terminal: CSI (colours, cursor), OSC, charset selection, keypad modes.
	terminalEscape = regexp.MustCompile(`\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()*+][0-9A-Za-z]|[=>78])|[\x07]`)
	// clientTiming matches the client's timings: (0.001 sec), (1 min 2.345 sec).
	clientTiming = regexp.MustCompile(`\((?:\d+ (?:hours?|min) )*\d+\.\d+ sec\)`)
)

// normalizeTerminal makes terminal output comparable with the README:
// escape sequences removed, CRLF as LF, timings as (N sec), no trailing
// blanks on any line.
func normalizeTerminal(s string) string {
	s = terminalEscape.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "")
	s = clientTiming.ReplaceAllString(s, "(N sec)")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

// terminal is one interactive client session under a pseudo-terminal.
type terminal struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	raw   bytes.Buffer
	done  chan struct{}
	want  string // what the terminal must show so far (normalised)
}

func (tm *terminal) Write(b []byte) (int, error) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.raw.Write(b)
}

// startTerminal runs args under a pseudo-terminal of 250 columns (so that
// no statement wraps), with stdin and stdout as pipes.
func startTerminal(t *testing.T, name string, args []string) *terminal {
	t.Helper()
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	shell := "stty cols 250 rows 50; exec " + strings.Join(quoted, " ")
	tm := &terminal{name: name, cmd: exec.Command("script", "-qfec", shell, "/dev/null"), done: make(chan struct{})}
	tm.cmd.Env = append(os.Environ(), "TERM=xterm", "MYSQL_HISTFILE=/dev/null", "SHELL=/bin/sh")
	tm.cmd.Stdout, tm.cmd.Stderr = tm, tm
	var err error
	if tm.stdin, err = tm.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := tm.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		tm.cmd.Wait()
		close(tm.done)
	}()
	t.Cleanup(func() {
		io.WriteString(tm.stdin, "exit\n")
		tm.stdin.Close()
		select {
		case <-tm.done:
		case <-time.After(3 * time.Second):
			tm.cmd.Process.Kill()
			<-tm.done
		}
	})
	return tm
}

// screen returns what the terminal shows from the client's first prompt
// on, normalised.
func (tm *terminal) screen() string {
	tm.mu.Lock()
	s := normalizeTerminal(tm.raw.String())
	tm.mu.Unlock()
	if loc := firstPrompt.FindStringIndex(s); loc != nil {
		return s[loc[0]:]
	}
	return ""
}

var firstPrompt = regexp.MustCompile(`(?m)^(?:MySQL|MariaDB) \[[^\]\n]*\]>`)

// waitFor waits until the terminal shows want (and possibly more). It fails
// at once when a complete line differs, or after 15 s.
func (tm *terminal) waitFor(t *testing.T, want, where string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := tm.screen()
		if strings.HasPrefix(got, want) {
			return
		}
		// Complete lines must agree; so must a prompt the client waits at.
		last := strings.LastIndexByte(got, '\n')
		complete := got[:last+1]
		if !strings.HasPrefix(want, complete) || isBarePrompt(got[last+1:]) && !strings.HasPrefix(want, got) {
			t.Fatalf("%s: %s differs from README.md:\n%s", where, tm.name, diffText(want, got))
		}
		select {
		case <-tm.done:
			t.Fatalf("%s: %s: the client exited\n%s\nraw output:\n%q", where, tm.name, diffText(want, got), tm.rawString())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s does not show the README's text after 15 s:\n%s\nraw output:\n%q", where, tm.name, diffText(want, got), tm.rawString())
		}
	}
}

func (tm *terminal) rawString() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.raw.String()
}

// typeLine types one line into the terminal, once the client reads it
// character by character: libedit prints its prompt before it switches the
// terminal out of cooked mode, and a line typed in between would be echoed
// twice (once by the terminal, once by libedit).
func (tm *terminal) typeLine(t *testing.T, line string) {
	t.Helper()
	tm.waitRaw(t)
	if _, err := io.WriteString(tm.stdin, line+"\n"); err != nil {
		t.Fatalf("%s: typing %q: %v", tm.name, line, err)
	}
}

// waitRaw waits until the client has put its terminal in raw mode (no echo,
// no line editing by the terminal), for up to 15 s.
func (tm *terminal) waitRaw(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		raw, err := tm.rawMode()
		if raw {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the client did not put its terminal in raw mode within 15 s (%v)", tm.name, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawMode reports whether the pseudo-terminal of the client (the child of
// script that reads it) has ECHO and ICANON off.
func (tm *terminal) rawMode() (bool, error) {
	pid := tm.cmd.Process.Pid
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return false, err
	}
	for _, child := range strings.Fields(string(children)) {
		tty, err := os.Readlink("/proc/" + child + "/fd/0")
		if err != nil || !strings.HasPrefix(tty, "/dev/pts/") {
			continue
		}
		fd, err := unix.Open(tty, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
		if err != nil {
			return false, err
		}
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		unix.Close(fd)
		if err != nil {
			return false, err
		}
		return tio.Lflag&(unix.ECHO|unix.ICANON) == 0, nil
	}
	return false, fmt.Errorf("no client process on a pseudo-terminal under script (pid %d)", pid)
}

// diffText shows want and got line by line, marking the first difference.
func diffText(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	b.WriteString("--- README.md\n+++ terminal\n")
	first := true
	for i := 0; i < len(w) || i < len(g); i++ {
		switch {
		case i < len(w) && i < len(g) && w[i] == g[i]:
			b.WriteString("  " + w[i] + "\n")
		default:
			if first {
				b.WriteString("  ^^^ first difference below\n")
				first = false
			}
			if i < len(w) {
				b.WriteString("- " + w[i] + "\n")
			}
			if i < len(g) {
				b.WriteString("+ " + g[i] + "\n")
			}
		}
	}
	return b.String()
}
