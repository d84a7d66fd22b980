# Sourced by scripts/demo.sh and conformance/run.sh: the one wait for a started altervault-dev.
# wait_ready NAME PID STDERR_FILE: returns once the server has printed "ready on" (after its
# export block); fails with the server's stderr if it exits first or is not ready within 30 s.
wait_ready() {
	local name=$1 pid=$2 log=$3
	for _ in $(seq 1 300); do
		grep -q 'ready on' "$log" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$log" >&2
			echo "$name: altervault-dev exited before it was ready" >&2
			return 1
		fi
		sleep 0.1
	done
	cat "$log" >&2
	echo "$name: altervault-dev not ready after 30 s" >&2
	return 1
}
