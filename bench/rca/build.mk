# bench/rca: root-cause accuracy, calibration and time to diagnosis of
# sre-brain's built-in reasoner on cases from sre-marketplace
# (bench/rca/run, bench/rca/README).
EXTRA_PROGS += $(O)/bench/rca/rca-bench

$(O)/bench/rca/rca-bench: bench/rca/rca-bench.c $(LIBSRE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSRE) $(L_BASE)
