// Command altervault-dev runs vaulttest, the in-memory Alter Vault, on 127.0.0.1 for local
// development: seeded with a demo App key, agent, user, grants and a local echo upstream. It
// prints the shell exports a program needs to connect on stdout, a "ready" line on stderr, and
// stops cleanly on SIGINT or SIGTERM.
//
//	go run ./cmd/altervault-dev            # 127.0.0.1:8370
//	go run ./cmd/altervault-dev -addr 127.0.0.1:0
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/altersdk/alter-go/vaulttest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "altervault-dev:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("altervault-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8370", "listen address (127.0.0.1:0 picks a free port)")
	verbose := fs.Bool("v", false, "log every request to stderr")
	noValidate := fs.Bool("no-validate", false, "turn off openapi.yaml contract validation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	opts := []vaulttest.Option{vaulttest.WithAddr(*addr), vaulttest.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))}
	if *noValidate {
		opts = append(opts, vaulttest.WithoutContractValidation())
	}
	s, err := vaulttest.Start(opts...)
	if err != nil {
		return err
	}
	defer s.Close()
	demo := vaulttest.SeedDemo(s) // its echo upstream stops with s

	if err := demo.WriteEnv(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "altervault-dev: ready on %s (Ctrl-C to stop)\n", s.URL())
	<-ctx.Done()
	for _, v := range s.Violations() {
		fmt.Fprintln(stderr, "altervault-dev: contract violation:", v)
	}
	fmt.Fprintln(stderr, "altervault-dev: stopped")
	return nil
}
