/*
 * serve-pb.h: what sre-serve receives in protobuf, as the lines the rest of
 * SRE-Space reads.
 *
 *   - OTLP/HTTP protobuf requests (ExportTrace/Metrics/LogsServiceRequest)
 *     become one OTLP/JSON line each, as the OpenTelemetry Collector's file
 *     exporter writes them: lowerCamelCase keys, trace and span ids in hex,
 *     64-bit integers and times as decimal strings, enums as integers,
 *     fields at their default value left out.  sre-scout reads such a line
 *     exactly as it reads the same request sent as JSON.
 *   - Prometheus remote write 1.0 WriteRequests (snappy-compressed
 *     protobuf) become plain metric points, one line per sample:
 *     {"ts_ms":T,"metric":NAME,"value":V,"labels":{...}} where labels are
 *     the series' labels but __name__, and "service" is set from a
 *     "service" label, else "job", when there is one.
 *
 * Output goes into a struct sre_sbuf (sbuf.h).  Invalid
 * UTF-8 in protobuf strings is replaced by U+FFFD; bytes values are
 * written in base64.
 */
#ifndef SRE_SERVE_PB_H
#define SRE_SERVE_PB_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

enum sre_pb_kind { SRE_PB_TRACES, SRE_PB_METRICS, SRE_PB_LOGS };

/*
 * Decode an OTLP protobuf request of kind k (len bytes at body) and append
 * its OTLP/JSON form, without a newline, to out.  *records gets the number
 * of spans, data points or log records.  Returns 0, or -1 with a message
 * in err (not a request of that kind, or out of memory: out->oom).
 */
int sre_pb_otlp_json(enum sre_pb_kind k, const uint8_t *body, size_t len,
    struct sre_sbuf *out, size_t *records, char *err, size_t errlen);

/*
 * Encode the OTLP Export*ServiceResponse of kind k with a partial success
 * of rejected records and msg (none when rejected is 0 and msg NULL) into
 * out.  Returns 0, or -1 when out of memory.
 */
int sre_pb_otlp_response(enum sre_pb_kind k, int64_t rejected,
    const char *msg, struct sre_sbuf *out);

/*
 * Decode a remote-write body (snappy block format around a protobuf
 * WriteRequest) of len bytes, at most max_raw bytes once uncompressed, and
 * append one point line per sample, each ending in a newline, to out.
 * Samples whose value is not finite (stale markers) are counted in
 * *skipped and left out.  *points gets the lines written.  Returns 0, or
 * -1 with a message in err; 1 when the uncompressed body is over max_raw.
 */
int sre_pb_remote_write(const uint8_t *body, size_t len, size_t max_raw,
    struct sre_sbuf *out, size_t *points, size_t *skipped, char *err,
    size_t errlen);

#endif
