# bench/logmine: grouping accuracy and speed of lib/logmine on Loghub 2k
# (bench/logmine/run).
EXTRA_PROGS += $(O)/bench/logmine/logmine-bench

$(O)/bench/logmine/logmine-bench: bench/logmine/logmine-bench.c $(LIBSRE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSRE) $(L_BASE)
