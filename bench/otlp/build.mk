# bench/otlp: speed of the OTLP/JSON reader (lib/otlp.c, lib/json.c).
EXTRA_PROGS += bench/otlp/otlp-bench

bench/otlp/otlp-bench: bench/otlp/otlp-bench.c $(LIBSRE)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSRE) $(L_BASE)
