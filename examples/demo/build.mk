# examples/demo: the narrator of `make demo` (examples/demo/run).  A small
# program of the demo, not a tool of sre(7): it follows files of events
# and says what the loop does in plain lines.
EXTRA_PROGS += examples/demo/narrate

examples/demo/narrate: examples/demo/narrate.c $(LIBSRE)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ examples/demo/narrate.c \
	    $(LIBSRE) $(L_BASE)

-include examples/demo/narrate.d
