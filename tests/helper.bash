# tests/helper.bash: loaded by every bats suite (load helper).
#
# SRE_BIN is the build whose tools are under test: the repository root
# (bin/sre-*) or build/asan.  SRE_ROOT is the repository root (fixtures,
# examples).  Both default to this checkout.
bats_require_minimum_version 1.5.0

if [ -z "${SRE_ROOT:-}" ]; then
	# tests/NAME.bats or tests/security/NAME.bats: the root holds Makefile.
	SRE_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	[ -f "$SRE_ROOT/Makefile" ] || SRE_ROOT=$(cd "$SRE_ROOT/.." && pwd)
fi
SRE_BIN=${SRE_BIN:-$SRE_ROOT}
PATH=$SRE_BIN/bin:$PATH
FIXTURES=$SRE_ROOT/tests/fixtures
export LC_ALL=C SRE_NOW=1700000000000 SRE_SEED=1
unset SRE_STATE_DIR

# A sanitizer report means a failed test even when the tool's exit code
# happened to be the one expected.
check_sanitizers() {
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \
	    "$1" 2>/dev/null; then
		echo "sanitizer report:" >&2
		cat "$1" >&2
		return 1
	fi
}

# assert_stderr_clean: no sanitizer output in the last run's stderr.
assert_no_sanitizer() {
	if printf '%s' "${stderr:-}${output:-}" |
	    grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:'; then
		echo "sanitizer report:" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	fi
}

# diff_expected FILE: compare $output with the file, showing a diff.
diff_expected() {
	diff -u "$1" <(printf '%s\n' "$output")
}

# Run "$@" with stdout to $BATS_TEST_TMPDIR/out and stderr to .../err;
# sets $status.  Never put the command under test upstream in a pipe.
run_to_files() {
	"$@" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err"
	status=$?
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}

# Control events (diagnosis, verdict, action) carry a MAC (SECURITY.md).
# Every tool of a test signs and verifies with this one key; sign_events
# signs hand-written control events on their way into a tool, as an
# operator with the key would.
export SRE_CONTROL_KEY=5eb1e5ca1ab1e0c0ffee5eb1e5ca1ab1e0c0ffee5eb1e5ca1ab1e0c0ffee0001
sign_events() {
	sre-bus --sign
}
