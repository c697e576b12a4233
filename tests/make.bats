#!/usr/bin/env bats
# The Makefile's install, uninstall and deps targets.

load helper

@test "make install honours DESTDIR and PREFIX: binaries and man pages" {
	d=$BATS_TEST_TMPDIR/root
	run -0 make -s -C "$SRE_ROOT" install DESTDIR="$d" PREFIX=/opt/sre
	for t in "$SRE_ROOT"/bin/sre-*.c; do
		n=$(basename "$t" .c)
		[ -x "$d/opt/sre/bin/$n" ]
	done
	for m in "$SRE_ROOT"/man/*.[0-9]; do
		s=${m##*.}
		[ -f "$d/opt/sre/share/man/man$s/${m##*/}" ]
	done
	"$d/opt/sre/bin/sre-bus" --version
	# the Kafka mock, for trying kafka:// URLs without a broker
	run -0 "$d/opt/sre/bin/sre-kafka-mock" -h
	[[ $output == "usage: sre-kafka-mock "* ]]
	run -0 make -s -C "$SRE_ROOT" uninstall DESTDIR="$d" PREFIX=/opt/sre
	[ -z "$(find "$d" -type f)" ]
}

@test "make deps is a no-op when every package is there" {
	command -v dpkg-query > /dev/null || skip "not a Debian system"
	run -0 sh "$SRE_ROOT/deps/install.sh" "$SRE_ROOT/deps/build.txt"
	[ -z "$output" ]
}

@test "the image: its packages hold what the pipelines run, its state is a volume, .dockerignore keeps build output out" {
	# the programs pipelines/*.sh require (their `for t in ...' checks),
	# other than the tools: each is a package of deps/runtime.txt
	for p in "$SRE_ROOT"/pipelines/*.sh; do
		for t in $(sed -n 's/^for t in \(.*\); do$/\1/p' "$p" | tr -d '\\'); do
			case $t in sre-*) continue;; esac
			grep -qx "$t" "$SRE_ROOT/deps/runtime.txt" ||
			    { echo "$p needs $t, not in deps/runtime.txt"; false; }
		done
	done
	# the state directory the image sets is a volume
	state=$(sed -n 's/^ENV SRE_STATE_DIR=\([^ ]*\).*/\1/p' "$SRE_ROOT/Dockerfile")
	[ -n "$state" ]
	grep -qF "VOLUME [\"$state\"]" "$SRE_ROOT/Dockerfile"
	for x in .git build/ .sre/ demo/; do
		grep -qxF "$x" "$SRE_ROOT/.dockerignore"
	done
	# nothing the build stage's `make check' reads is left out
	! grep -qxE '(tests|deps|lib|bin|man|examples|fuzz|proto|share)/?' "$SRE_ROOT/.dockerignore"
}
