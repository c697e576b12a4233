# sre-marketplace: the synthetic insurance marketplace traffic generator
# (examples/marketplace/README.md).  Stands alone: libm only, no libsre.
# Built in place for every variant (the ASan test run reaches examples/
# through a link to the source tree).
MP_SRC = examples/marketplace/marketplace.c examples/marketplace/gen.c \
         examples/marketplace/topo.c examples/marketplace/live.c \
         examples/marketplace/util.c
EXTRA_PROGS += examples/marketplace/sre-marketplace

examples/marketplace/sre-marketplace: $(MP_SRC) examples/marketplace/mp.h
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(MP_SRC) -lm
