// Command benchdriver is the Go client process of `make bench`: it reads a bench.DriverConfig
// from ALTER_BENCH_DRIVER, runs it (the facade's or the floor's calls), and prints one
// BENCH-RESULT line. A program of its own, with the SDK and the floor and nothing of the tests,
// so that its RSS is what a client's would be.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/altersdk/alter-go/bench"
)

func main() {
	var cfg bench.DriverConfig
	if err := json.Unmarshal([]byte(os.Getenv(bench.DriverEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "benchdriver: "+bench.DriverEnv+":", err)
		os.Exit(2)
	}
	res, err := bench.Drive(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdriver:", err)
		os.Exit(1)
	}
	b, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdriver:", err)
		os.Exit(1)
	}
	fmt.Printf("%s%s\n", bench.ResultPrefix, b)
}
