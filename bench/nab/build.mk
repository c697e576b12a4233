# bench/nab: the Numenta Anomaly Benchmark run for lib/tsad (bench/nab/run).
EXTRA_PROGS += $(O)/bench/nab/nab-run

$(O)/bench/nab/nab-run: bench/nab/nab-run.c $(LIBSRE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSRE) $(L_BASE)
