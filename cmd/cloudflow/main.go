// Command cloudflow provisions cloud resources as durable Temporal workflows:
// it starts and watches runs, and runs the worker, the cloud simulator and a
// complete local environment.
package main

import (
	"context"
	"os"

	"golang.org/x/term"
)

func main() {
	f := newFactory(&iostreams{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		InTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		Width: func() int {
			if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
				return w
			}
			return 0
		},
	})
	os.Exit(execute(context.Background(), f, os.Args[1:]))
}
