#!/usr/bin/env bats
# tests/doctest, the runner of the documentation's examples: it finds the
# blocks, honours the markers, and fails what fails.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

@test "Markdown: blocks run, exit codes and output checked, markers honoured" {
	cat > doc.md <<'MD'
# A document

    echo hello; true

<!-- doctest: exit=3 match=^bye$ -->

    echo bye
    exit 3

<!-- doctest: text -->

    {"not": "a command"}

<!-- doctest: skip needs a moon -->

    fly-to-the-moon

A block that fails:

    false

<!-- doctest: match=nowhere -->

    echo somewhere

<!-- doctest: skip this marker has no block -->
<!-- doctest: text -->

    echo merged

<!-- doctest-setup: echo hidden > hidden.txt -->

    grep -q hidden hidden.txt
    sre-bus --version
MD
	run -0 sh "$SRE_ROOT/tests/doctest" "$PWD/doc.md"
	[[ $output == *"ok 1 - $PWD/doc.md:3"$'\n'* ]]
	[[ $output == *"ok 2 - $PWD/doc.md:7"$'\n'* ]]
	[[ $output == *"ok 3 - $PWD/doc.md:12 # SKIP text, not a command"* ]]
	[[ $output == *"ok 4 - $PWD/doc.md:16 # SKIP needs a moon"* ]]
	[[ $output == *"not ok 5 - $PWD/doc.md:20: exit 1 (want 0)"* ]]
	[[ $output == *"not ok 6 - $PWD/doc.md:24: exit 0 (want 0), output must match nowhere"* ]]
	[[ $output == *"not ok 7 - $PWD/doc.md:29: markers of two blocks"* ]]
	[[ $output == *"ok 8 - $PWD/doc.md:33"$'\n'* ]]
	[[ $output == *"1..8" ]]
}

@test "mdoc: .Bd -literal blocks unescaped and run; a background job does not outlive its block" {
	cat > page.1 <<MAN
.Sh EXAMPLES
.\\" doctest: match=a.b
.Bd -literal -offset indent
printf '%s\\en' 'a\\eb'
.Ed
.Bd -literal -offset indent
sleep 300 &
echo \$! > $BATS_TEST_TMPDIR/sleeper.pid
.Ed
MAN
	run -0 sh "$SRE_ROOT/tests/doctest" "$PWD/page.1"
	[[ $output == *"ok 1 - $PWD/page.1:3"$'\n'* ]]
	[[ $output == *"ok 2 - $PWD/page.1:6"$'\n'* ]]
	[[ $output != *"not ok"* ]]
	grep -qF "printf '%s\\en' 'a\\eb'" page.1
	# the sleeper the block left behind was stopped with it
	pid=$(cat sleeper.pid)
	[ -n "$pid" ]
	sleep 0.2
	# gone, or a zombie that a subreaper has not reaped yet
	state=$(ps -o stat= -p "$pid" || true)
	[ -z "$state" ] || [[ $state == Z* ]]
}
