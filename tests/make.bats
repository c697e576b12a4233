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
	run -0 make -s -C "$SRE_ROOT" uninstall DESTDIR="$d" PREFIX=/opt/sre
	[ -z "$(find "$d" -type f)" ]
}

@test "make deps is a no-op when every package is there" {
	command -v dpkg-query > /dev/null || skip "not a Debian system"
	run -0 sh "$SRE_ROOT/deps/install.sh" "$SRE_ROOT/deps/build.txt"
	[ -z "$output" ]
}
