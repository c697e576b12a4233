#!/usr/bin/env bats
# The include rule of lib/ (lib/LAYERS, tests/layers): a folder includes
# only itself and the folders below it.

load helper

@test "the tree keeps the include rule" {
	run -0 sh "$BATS_TEST_DIRNAME/layers"
	[[ $output == "layers: "*" files clean" ]]
}

@test "an upward include is named by file, line and layers" {
	root=$BATS_TEST_TMPDIR/tree
	mkdir -p "$root/tests"
	cp -R "$BATS_TEST_DIRNAME/../lib" "$root/lib"
	rm -f "$root"/lib/*/*.o "$root"/lib/*/*.d
	printf '#include "store.h"\n' >> "$root/lib/core/diag.c"
	run -1 sh "$BATS_TEST_DIRNAME/layers" "$root"
	[[ $output == *"lib/core/diag.c:"*": includes store.h (store is above core)"* ]]
	[[ $output != *"files clean"* ]]
}

@test "a folder missing from lib/LAYERS is refused" {
	root=$BATS_TEST_TMPDIR/tree
	mkdir -p "$root/lib/core" "$root/lib/extra"
	printf 'core\n' > "$root/lib/LAYERS"
	printf '#include "x.h"\n' > "$root/lib/core/a.c"
	printf 'int x;\n' > "$root/lib/extra/x.h"
	run -1 sh "$BATS_TEST_DIRNAME/layers" "$root"
	[[ $output == *"lib/extra/x.h: folder extra is not in lib/LAYERS"* ]]
}

@test "the Makefile builds the folders lib/LAYERS lists, in its order" {
	want=$(sed 's/#.*//' "$BATS_TEST_DIRNAME/../lib/LAYERS" | tr -s ' \t' '\n\n' | grep -v '^$' | tr '\n' ' ')
	got=$(make -s -C "$BATS_TEST_DIRNAME/.." -f Makefile -f - print-lib-dirs <<< 'print-lib-dirs: ; @echo $(LIB_DIRS)')
	[ "$got " = "$want" ]
}

@test "tests/funclen: the tree is clean; a long function is named, unless a comment says why" {
	run -0 sh "$BATS_TEST_DIRNAME/funclen"
	[ "$output" = "funclen: clean" ]
	root=$BATS_TEST_TMPDIR/tree
	mkdir -p "$root/lib/core" "$root/bin"
	{ printf 'static int\nlong_one(void)\n{\n'
	  for i in $(seq 125); do printf '\tx();\n'; done
	  printf '}\n'; } > "$root/lib/core/a.c"
	run -1 sh "$BATS_TEST_DIRNAME/funclen" "$root"
	[[ $output == *"lib/core/a.c:2: long_one is 125 lines"* ]]
	{ printf '/* Long on purpose: one table. */\nstatic int\nlong_one(void)\n{\n'
	  for i in $(seq 125); do printf '\tx();\n'; done
	  printf '}\n'; } > "$root/lib/core/a.c"
	run -0 sh "$BATS_TEST_DIRNAME/funclen" "$root"
}
