# bench/serve: request bodies for the sre-serve benchmark (bench/serve/run).
EXTRA_PROGS += bench/serve/serve-gen

bench/serve/serve-gen: bench/serve/serve-gen.c $(LIBSRE) $(O)/proto/otlp.pb-c.o
	$(CC) $(ALL_CFLAGS) -I$(O)/proto $(LDFLAGS) -o $@ $< $(LIBSRE) \
	    $(O)/proto/otlp.pb-c.o -lprotobuf-c -lsnappy $(L_BASE)
