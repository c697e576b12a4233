/*
 * fuzz-pb: libFuzzer target for lib/telemetry/serve-pb.c, sre-serve's decoders of
 * untrusted protobuf: OTLP requests to OTLP/JSON, and remote write (snappy
 * around a WriteRequest) to metric points.
 *
 * The first byte picks the decoder (traces, metrics, logs, remote write);
 * the rest is the body.  Checked: a decoded OTLP request is one line that
 * lib/telemetry/otlp.c reads as JSON of the same kind; every remote-write point is
 * one line that lib/telemetry/otlp.c reads as a plain point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.h"
#include "sbuf.h"
#include "serve-pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum sre_otlp_format want[] = { SRE_OTLP_TRACES,
	    SRE_OTLP_METRICS, SRE_OTLP_LOGS };
	struct sre_otlp_handler h = { 0 };
	struct sre_otlp_result res;
	struct sre_sbuf out = { 0 };
	size_t records, points, skipped;
	struct sre_otlp *r;
	char err[256], *p, *nl;
	int kind, rc;

	if (size < 1)
		return 0;
	kind = data[0] % 4;
	if ((r = sre_otlp_new(0)) == NULL)
		abort();
	if (kind < 3) {
		rc = sre_pb_otlp_json((enum sre_pb_kind)kind, data + 1,
		    size - 1, &out, &records, err, sizeof(err));
		if (rc == 0) {
			if (memchr(out.p, '\n', out.n) != NULL)
				abort();
			if (sre_otlp_read(r, out.p, out.n, &h, &res) !=
			    SRE_OTLP_OK || res.format != want[kind])
				abort();
		}
	} else {
		rc = sre_pb_remote_write(data + 1, size - 1, 1 << 20, &out,
		    &points, &skipped, err, sizeof(err));
		if (rc == 0) {
			for (p = out.p; p != NULL && p < out.p + out.n;
			    p = nl + 1) {
				if ((nl = memchr(p, '\n', (size_t)(out.p +
				    out.n - p))) == NULL)
					abort();
				if (sre_otlp_read(r, p, (size_t)(nl - p), &h,
				    &res) != SRE_OTLP_OK ||
				    res.format != SRE_OTLP_POINT)
					abort();
				points--;
			}
			if (points != 0)
				abort();
		}
	}
	sre_sbuf_free(&out);
	sre_otlp_free(r);
	return 0;
}
