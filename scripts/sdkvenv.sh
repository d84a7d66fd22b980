# Sourced by conformance/run.sh and bench/run.sh (from the repo root): the one venv holding the
# official Python SDK, pinned in conformance/requirements.txt. sdk_venv makes conformance/.venv
# when it is missing, reinstalls when the requirements changed, and sets SDK_PYTHON to its python.
sdk_venv() {
	local venv=conformance/.venv req=conformance/requirements.txt
	local stamp="$venv/.requirements.sha256" want
	want="$(sha256sum "$req" | cut -d' ' -f1)"
	if [[ ! -x "$venv/bin/python" ]]; then
		python3 -m venv "$venv"
	fi
	if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
		"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
		echo "$want" >"$stamp"
	fi
	SDK_PYTHON="$PWD/$venv/bin/python"
}
