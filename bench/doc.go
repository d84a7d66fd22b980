// Package bench measures what the SDK costs a program, per call, against two references: the
// floor, the same retrieve-mode exchange written by hand with net/http, encoding/json and
// internal/signing (the signed credential retrieval POST /sdk/token, the upstream call with the
// credential injected, the signed audit post POST /sdk/oauth/audit/api-call; and
// GET /sdk/agents/me), with the same headers; and the official Python SDK (alter-sdk, as pinned
// for conformance), whose App.request() by grant a program in that language would call.
//
// `make bench` (run.sh) runs, in one run, each figure from a process of its own:
//
//   - facade and floor on the lean pair (lean.go): loopback handlers that do the least a server
//     can, in a process of their own, so that what differs is the client (the SDK's own
//     overhead, #12's bars), in A B B A rounds of client processes; the same calls over
//     in-memory transports; connections; heap over 100k calls;
//   - the three clients on altervault-dev, the real binary, and its echo upstream, across
//     concurrencies 1 to 256 and answers of 1 KB, 64 KB and 8 MB: client CPU time (getrusage of
//     the client process), wall time p50/p99, throughput, allocations, connections, max RSS, heap
//     and goroutines after Close. The Go clients run in cmd/benchdriver (driver.go), the Python
//     one in pydriver.py;
//   - extra sections a file of the package registers (addSection);
//
// and writes the tables to the terminal and to bench/out/ (bench.md, bench.txt, clients.svg and
// clients.png), ending with one summary line. ALTER_BENCH_QUICK=1 makes a short run. A module of
// its own: its chart library is no requirement of the SDK's module.
package bench
