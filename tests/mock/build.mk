# tests/mock: servers that tests start on loopback.
EXTRA_PROGS += tests/mock/kafka-mock
tests/mock/kafka-mock: tests/mock/kafka-mock.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(L_KAFKA)
