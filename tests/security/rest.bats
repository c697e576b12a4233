#!/usr/bin/env bats
# Red team, the rest of issue 15: time, damaged stores, memory, tokens, PR
# bodies, byte-order marks.  Each attack must fail with a clear message;
# no tool may end on a signal.

load ../helper
load ../helpers/gitops.sh

# A store with three incidents' worth of records in it, as sre-curate
# writes them.
make_store() {
	local i
	for i in 1 2 3; do
		sed "s/inc-/r$i-inc-/g; s/\"id\":\"01HZYC/\"id\":\"0${i}HZYC/" \
		    "$FIXTURES/curate/stream.ndjson" |
		    sre-curate --state-dir "$1" > /dev/null 2>&1
	done
	[ -s "$1/store/data.mdb" ]
}

# damage MODE SEED FILE: truncate it, or scribble over bytes or one
# page's header.
damage() {
	python3 - "$@" <<'PY'
import random, sys
mode, seed, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(seed)
with open(path, 'r+b') as f:
    d = bytearray(f.read())
    if mode == 'trunc':
        f.truncate(4096 * (1 + seed * 3 % (len(d) // 4096 - 1)))
        sys.exit(0)
    if mode == 'bytes':
        for _ in range(50):
            d[random.randrange(8192, len(d))] = random.randrange(256)
    else:
        pg = random.randrange(2, len(d) // 4096)
        for _ in range(16):
            d[pg * 4096 + random.randrange(64)] = random.randrange(256)
    f.seek(0)
    f.write(d)
PY
}

@test "a truncated or damaged store: every tool exits 74 or 78 with a message, never on a signal" {
	src=$BATS_TEST_TMPDIR/src
	make_store "$src"
	make_repo
	in=$FIXTURES/curate/stream.ndjson
	bad=0 runs=0
	for mode in trunc bytes page; do
		for seed in 1 2 3 4 5 6; do
			d=$BATS_TEST_TMPDIR/d
			rm -rf "$d"
			cp -R "$src" "$d"
			damage "$mode" "$seed" "$d/store/data.mdb"
			for cmd in "sre-curate report" "sre-curate export" \
			    "sre-curate search db" "sre-curate" "sre-guard --repo $WORK" \
			    "sre-cag" "sre-brain --no-llm" "sre-jules" \
			    "sre-escalate" "sre-fix --repo $WORK --dry-run"; do
				runs=$((runs + 1))
				rc=0
				# shellcheck disable=SC2086 # words of cmd
				timeout 20 $cmd --state-dir "$d" < "$in" \
				    > /dev/null 2> "$BATS_TEST_TMPDIR/err" || rc=$?
				check_sanitizers "$BATS_TEST_TMPDIR/err"
				case $rc in
				0|65) ;;
				74|78)
					grep -q "store" "$BATS_TEST_TMPDIR/err" || {
						echo "$mode $seed [$cmd]: $rc without a message"
						bad=$((bad + 1)); };;
				*)
					echo "$mode $seed [$cmd]: exit $rc"
					head -3 "$BATS_TEST_TMPDIR/err"
					bad=$((bad + 1));;
				esac
			done
		done
	done
	echo "$runs runs, $bad bad"
	[ "$bad" -eq 0 ]
}

@test "a truncated store is refused at open, naming the file and the sizes" {
	make_store "$STATE"
	truncate -s 16384 "$STATE/store/data.mdb"
	run -74 --separate-stderr sre-curate report --state-dir "$STATE"
	[[ $stderr == *"store is damaged: data.mdb has 16384 bytes"* ]]
	run -74 --separate-stderr sre-guard --state-dir "$STATE" < /dev/null
	[[ $stderr == *"store is damaged"* ]]
}
