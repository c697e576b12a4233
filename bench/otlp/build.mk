# bench/otlp: speed of the OTLP/JSON reader (lib/telemetry/otlp.c, lib/core/json.c).
EXTRA_PROGS += bench/otlp/otlp-bench

bench/otlp/otlp-bench: bench/otlp/otlp-bench.c $(LIBSRE)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSRE) $(L_BASE)
