#!/usr/bin/env bats
# Each tool's --help and its man page agree: the same long options, and
# every numeric default the help states (a number, with a unit or not) is
# in the page's item for that option.  Defaults in words are not compared.

load helper
. "$BATS_TEST_DIRNAME/helpers/optdefaults.sh"

# check TOOL: the comparison, every disagreement printed
check() {
	local t=$1 page=$SRE_ROOT/man/$1.1 bad=0 opt def item
	[ -f "$page" ] || { echo "$t: no man page"; return 1; }
	help_defaults "$SRE_BIN/bin/$t" > help.txt
	man_items "$page" > man.txt
	cut -d' ' -f1 help.txt | sort -u > h.opts
	cut -f1 man.txt | sort -u > m.opts
	if ! diff -u h.opts m.opts > opts.diff; then
		echo "$t: --help (-) and $t(1) (+) list different options:"
		sed -n '/^[-+]--/p' opts.diff
		bad=1
	fi
	while read -r opt def; do
		[[ $def =~ ^[0-9][0-9.]*[a-zA-Z%]*$ ]] || continue
		item=$(awk -F'\t' -v o="$opt" '$1 == o { print $2 }' man.txt)
		[ -n "$item" ] || continue
		if ! grep -qE "(^|[^0-9.])${def//./\\.}($|[^0-9.]|\.($|[^0-9]))" <<< "$item"; then
			echo "$t: $opt: --help says default $def, $t(1) says:$item"
			bad=1
		fi
	done < help.txt
	return "$bad"
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

@test "the comparison finds a disagreement when there is one" {
	printf '#!/bin/sh\necho "  -t, --threshold N  cut-off (default 0.6)"\necho "      --extra      x"\n' > fake
	chmod +x fake
	printf '.Sh OPTIONS\n.Bl -tag\n.It Fl t , Fl Fl threshold Ar N\nThe cut-off; default 0.8.\n.El\n' > fake.1
	help_defaults ./fake > help.txt
	man_items fake.1 > man.txt
	[ "$(cat help.txt)" = "--extra -
--threshold 0.6" ]
	[[ $(cat man.txt) == "--threshold"$'\t'*"default 0.8."* ]]
}

@test "sre-brain: --help and sre-brain(1) agree" { check sre-brain; }
@test "sre-bus: --help and sre-bus(1) agree" { check sre-bus; }
@test "sre-cag: --help and sre-cag(1) agree" { check sre-cag; }
@test "sre-curate: --help and sre-curate(1) agree" { check sre-curate; }
@test "sre-escalate: --help and sre-escalate(1) agree" { check sre-escalate; }
@test "sre-fix: --help and sre-fix(1) agree" { check sre-fix; }
@test "sre-govern: --help and sre-govern(1) agree" { check sre-govern; }
@test "sre-guard: --help and sre-guard(1) agree" { check sre-guard; }
@test "sre-jules: --help and sre-jules(1) agree" { check sre-jules; }
@test "sre-logmine: --help and sre-logmine(1) agree" { check sre-logmine; }
@test "sre-replay: --help and sre-replay(1) agree" { check sre-replay; }
@test "sre-scout: --help and sre-scout(1) agree" { check sre-scout; }
@test "sre-serve: --help and sre-serve(1) agree" { check sre-serve; }
@test "sre-tail: --help and sre-tail(1) agree" { check sre-tail; }

@test "every tool of bin/ has its test above" {
	for t in "$SRE_ROOT"/bin/sre-*.c; do
		n=${t##*/}; n=${n%.c}
		grep -q "^@test \"$n: " "$BATS_TEST_FILENAME" || { echo "no test for $n"; false; }
	done
}
