/*
 * main.c: run a fuzz target without libFuzzer, once per file named on the
 * command line (the seed corpus, or a crash to reproduce), so the corpus
 * can be replayed under ASan/UBSan by any compiler in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	int i, bad = 0;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf = NULL;
		size_t n = 0, cap = 0, r;

		if (f == NULL) {
			fprintf(stderr, "%s: cannot open\n", argv[i]);
			bad = 1;
			continue;
		}
		do {
			if (n == cap) {
				uint8_t *nb;

				cap = cap ? cap * 2 : 65536;
				if ((nb = realloc(buf, cap)) == NULL) {
					fprintf(stderr, "out of memory\n");
					return 70;
				}
				buf = nb;
			}
			r = fread(buf + n, 1, cap - n, f);
			n += r;
		} while (r > 0);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		free(buf);
	}
	printf("%s: %d inputs\n", argv[0], argc - 1);
	return bad;
}
