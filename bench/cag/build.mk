# bench/cag: what sre-cag adds per event, and CAG lookups per second.
EXTRA_PROGS += $(O)/bench/cag/cag-bench

$(O)/bench/cag/cag-bench: bench/cag/cag-bench.c $(LIBSRE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSRE) $(L_LMDB) $(L_BASE)
