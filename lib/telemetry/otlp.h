/*
 * otlp.h: read one input line of sre-scout and call back once per record,
 * without building a DOM.
 *
 * A line is one of:
 *   - an OTLP/JSON ExportTraceServiceRequest, ExportMetricsServiceRequest
 *     or ExportLogsServiceRequest (the Collector file exporter's format):
 *     one callback per span, per metric data point, per log record;
 *   - a plain metric point {"ts_ms":..., "metric":"...", "value":...,
 *     "labels":{...}}: one point callback;
 *   - a `journalctl -o json` entry: one log callback;
 *   - any other JSON value (an sre event, say): classified
 *     SRE_OTLP_UNKNOWN, no callback, so the caller can pass it on;
 *   - a blank line (SRE_OTLP_EMPTY) or something that is not JSON
 *     (SRE_OTLP_MALFORMED).
 *
 * Classification, by the keys of the top-level object: resourceSpans,
 * resourceMetrics or resourceLogs make an OTLP request; otherwise "metric"
 * and "value" without "type" make a plain point; otherwise
 * __REALTIME_TIMESTAMP or __CURSOR, or MESSAGE with PRIORITY,
 * _SYSTEMD_UNIT or SYSLOG_IDENTIFIER, make a journal entry; anything else
 * is unknown.  Plain points and journal entries are delivered only once
 * the whole line is known to be valid JSON.
 *
 * Tolerance.  OTLP/JSON is read as the spec writes it (lowerCamelCase keys,
 * 64-bit integers as strings, ids in hex, enums as integers) and as real
 * producers bend it: 64-bit integers as numbers, enums by name, keys in any
 * order, nulls for absent fields, unknown fields, invalid UTF-8 (replaced
 * by U+FFFD), the pre-1.0 instrumentationLibrary* names.  A record with a
 * problem that has a reasonable reading is delivered with a SRE_OTLP_Q_*
 * bit in its quirks; one without (e.g. a timestamp that is not a number,
 * status.code "banana", no timestamp at all on a span) is rejected: the
 * reject callback gets a message naming the record and the field, and the
 * line goes on with its other records.  A JSON syntax error ends the line
 * (SRE_OTLP_MALFORMED); records before it have been delivered unless the
 * reader was made with SRE_OTLP_ATOMIC.
 *
 * Borrowing.  Every struct passed to a callback, and every slice in it,
 * is valid only during that callback: slices point into the caller's line
 * buffer (which must not change during sre_otlp_read) or into the reader's
 * scratch memory (decoded strings, histogram arrays), which the next
 * sre_otlp_read reuses.  Copy what must outlive the callback.  Slices are
 * unescaped UTF-8 text and not NUL-terminated, except the fields said to be
 * "raw JSON" (attribute lists), which are the JSON text as it appears in
 * the line and can be walked with sre_otlp_attr_next.  An absent field is
 * an empty slice whose p may be NULL (mind memcpy(dst, NULL, 0)).
 *
 * Typical use:
 *
 *	static int on_span(void *arg, const struct sre_otlp_span *s)
 *	{
 *		struct agg *a = arg;
 *		agg_add(a, s->res->service, s->name, s->duration_ns,
 *		    s->status == SRE_OTLP_STATUS_ERROR);
 *		return 0;
 *	}
 *	...
 *	struct sre_otlp *r = sre_otlp_new(0);
 *	struct sre_otlp_handler h = { .span = on_span, .arg = &agg };
 *	struct sre_otlp_result res;
 *	while ((n = getline(&line, &cap, stdin)) > 0)
 *		if (sre_otlp_read(r, line, n, &h, &res) == SRE_OTLP_EJSON)
 *			warnx("line %zu: %s", lineno, res.msg);
 *	sre_otlp_free(r);
 */
#ifndef SRE_OTLP_H
#define SRE_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

enum sre_otlp_format {
	SRE_OTLP_EMPTY = 0,	/* blank line */
	SRE_OTLP_TRACES,	/* ExportTraceServiceRequest */
	SRE_OTLP_METRICS,	/* ExportMetricsServiceRequest */
	SRE_OTLP_LOGS,		/* ExportLogsServiceRequest */
	SRE_OTLP_POINT,		/* plain metric point */
	SRE_OTLP_JOURNAL,	/* journalctl -o json */
	SRE_OTLP_UNKNOWN,	/* valid JSON, none of the above */
	SRE_OTLP_MALFORMED	/* not JSON */
};

/* Return values of sre_otlp_read. */
#define SRE_OTLP_OK	0	/* line read (some records may be rejected) */
#define SRE_OTLP_EJSON	(-1)	/* not valid JSON: res->msg, res->err_off */
#define SRE_OTLP_ENOMEM	(-2)	/* out of memory for scratch space */
#define SRE_OTLP_STOP	1	/* a callback returned non-zero: res->stop */

/* sre_otlp_new flags. */
#define SRE_OTLP_ATOMIC	0x1	/* check the whole line's syntax first, so a
				   malformed line delivers no record at all
				   (costs one fast extra pass) */

/* Quirks: tolerated problems of a delivered record (bit set). */
#define SRE_OTLP_Q_CONVERTED	0x01	/* a field had the wrong type or form
					   and was converted (intValue in a
					   stringValue, "200" for 200, ...) */
#define SRE_OTLP_Q_IGNORED	0x02	/* an optional field was unreadable
					   and was ignored */
#define SRE_OTLP_Q_NO_START	0x04	/* span: no start time; start = end */
#define SRE_OTLP_Q_NO_END	0x08	/* span: no end time; end = start */
#define SRE_OTLP_Q_END_BEFORE_START 0x10 /* span: end < start; duration 0 */
#define SRE_OTLP_Q_NO_TIME	0x20	/* point/log: no timestamp; time 0 */
#define SRE_OTLP_Q_BAD_UTF8	0x40	/* invalid UTF-8 replaced by U+FFFD */
#define SRE_OTLP_Q_TRUNCATED	0x80	/* a rendering was cut short, or the
					   journal withheld a value (null) */

/* Span kinds and status codes, as OTLP numbers them. */
#define SRE_OTLP_KIND_UNSPECIFIED 0
#define SRE_OTLP_KIND_INTERNAL	1
#define SRE_OTLP_KIND_SERVER	2
#define SRE_OTLP_KIND_CLIENT	3
#define SRE_OTLP_KIND_PRODUCER	4
#define SRE_OTLP_KIND_CONSUMER	5
#define SRE_OTLP_STATUS_UNSET	0
#define SRE_OTLP_STATUS_OK	1
#define SRE_OTLP_STATUS_ERROR	2

/* Where a record comes from: resource and instrumentation scope. */
struct sre_otlp_resource {
	struct sre_json_str service;	/* service.name; empty if absent
					   (OTel: read it as unknown_service);
					   journal: the unit without
					   ".service", else SYSLOG_IDENTIFIER,
					   else _COMM */
	struct sre_json_str service_version;	/* service.version */
	struct sre_json_str service_namespace;	/* service.namespace */
	struct sre_json_str host;	/* host.name; journal: _HOSTNAME */
	struct sre_json_str attrs;	/* raw JSON: resource.attributes */
	struct sre_json_str scope;	/* scope.name (empty for records
					   that come before their scope) */
	struct sre_json_str scope_version;	/* scope.version */
	size_t index;			/* resource's index in the line */
	unsigned quirks;		/* SRE_OTLP_Q_* of the resource and
					   scope objects themselves */
};

/* One span.  Empty slices and zeros mean "absent". */
struct sre_otlp_span {
	const struct sre_otlp_resource *res;
	struct sre_json_str trace_id;	/* as sent: 32 hex digits expected */
	struct sre_json_str span_id;	/* as sent: 16 hex digits expected */
	struct sre_json_str parent_span_id;	/* empty for a root span */
	struct sre_json_str name;	/* the operation */
	int kind;			/* SRE_OTLP_KIND_* */
	int status;			/* SRE_OTLP_STATUS_* */
	struct sre_json_str status_message;
	uint64_t start_ns, end_ns;	/* unix epoch nanoseconds, exact */
	uint64_t duration_ns;		/* end - start, 0 if end < start */
	int http_status;		/* http.response.status_code, else
					   http.status_code; 0 if absent */
	struct sre_json_str http_method;	/* http.request.method,
						   http.method */
	struct sre_json_str http_route;	/* http.route */
	struct sre_json_str server_address;	/* server.address, else
						   net.peer.name */
	struct sre_json_str peer_service;	/* peer.service */
	struct sre_json_str db_system;	/* db.system.name, db.system */
	struct sre_json_str rpc_service;	/* rpc.service */
	struct sre_json_str error_type;	/* error.type */
	struct sre_json_str exception_type;	/* first "exception" event's
						   exception.type (or the
						   span attribute) */
	struct sre_json_str exception_message;	/* ... exception.message */
	size_t n_events;
	struct sre_json_str attrs;	/* raw JSON: the span's attributes */
	struct sre_json_str events;	/* raw JSON: the span's events */
	unsigned quirks;		/* SRE_OTLP_Q_* */
	size_t index;			/* span's index in its scopeSpans */
};

enum sre_otlp_metric_type {
	SRE_OTLP_GAUGE = 1,	/* plain points are gauges */
	SRE_OTLP_SUM,
	SRE_OTLP_HISTOGRAM,
	SRE_OTLP_EXP_HISTOGRAM,
	SRE_OTLP_SUMMARY
};

/* Which optional point fields are set. */
#define SRE_OTLP_HAS_VALUE	0x01	/* gauge/sum: value (else the point
					   carries the no-recorded-value flag) */
#define SRE_OTLP_HAS_INT	0x02	/* value came from asInt: ivalue exact */
#define SRE_OTLP_HAS_SUM	0x04
#define SRE_OTLP_HAS_MIN	0x08
#define SRE_OTLP_HAS_MAX	0x10
#define SRE_OTLP_HAS_START	0x20	/* start_ns */

/* One metric data point (OTLP) or one plain metric point. */
struct sre_otlp_point {
	const struct sre_otlp_resource *res;	/* plain: all empty */
	struct sre_json_str metric;	/* metric name */
	struct sre_json_str unit;
	enum sre_otlp_metric_type type;
	int temporality;		/* 0 unspecified, 1 delta, 2 cumulative */
	int monotonic;			/* sum: isMonotonic */
	uint64_t time_ns;		/* timeUnixNano; plain: ts_ms * 10^6 */
	uint64_t start_ns;		/* startTimeUnixNano */
	double value;			/* gauge, sum: asDouble or asInt */
	int64_t ivalue;			/* exact asInt (SRE_OTLP_HAS_INT) */
	uint64_t count;			/* histograms, summary */
	double sum, min, max;		/* see SRE_OTLP_HAS_* */
	const uint64_t *bucket_counts;	/* histogram: n_bounds + 1 counts
					   (both dropped, Q_IGNORED, if
					   they do not fit) */
	size_t n_bucket_counts;
	const double *bounds;		/* histogram: explicitBounds */
	size_t n_bounds;
	int scale;			/* exponential histogram */
	uint64_t zero_count;
	int pos_offset, neg_offset;
	const uint64_t *pos_counts, *neg_counts;
	size_t n_pos, n_neg;
	const double *quantiles;	/* summary: quantile and value pairs */
	const double *quantile_values;
	size_t n_quantiles;
	struct sre_json_str attrs;	/* raw JSON: OTLP attributes (array)
					   or plain labels (object) */
	unsigned has;			/* SRE_OTLP_HAS_* */
	unsigned quirks;		/* SRE_OTLP_Q_* */
};

/* Value types of OTLP AnyValue (attributes, log bodies). */
enum sre_otlp_vtype {
	SRE_OTLP_V_NONE = 0,	/* absent, null or empty */
	SRE_OTLP_V_STRING,
	SRE_OTLP_V_BOOL,
	SRE_OTLP_V_INT,
	SRE_OTLP_V_DOUBLE,
	SRE_OTLP_V_BYTES,	/* .s is the base64 text */
	SRE_OTLP_V_ARRAY,	/* .s is the raw JSON of arrayValue */
	SRE_OTLP_V_KVLIST	/* .s is the raw JSON of kvlistValue */
};

/* One log record (OTLP) or one journal entry. */
struct sre_otlp_log {
	const struct sre_otlp_resource *res;
	uint64_t time_ns;		/* timeUnixNano, else observed; journal:
					   __REALTIME_TIMESTAMP * 1000 */
	uint64_t observed_ns;		/* observedTimeUnixNano */
	int severity;			/* severityNumber 1..24, 0 unspecified */
	struct sre_json_str severity_text;
	struct sre_json_str body;	/* string body as text; other kinds
					   rendered: numbers and booleans as
					   JSON text, bytes as base64, arrays
					   and kvlists as raw JSON cut at 512
					   bytes */
	enum sre_otlp_vtype body_type;
	struct sre_json_str trace_id, span_id;
	struct sre_json_str event_name;	/* eventName */
	struct sre_json_str attrs;	/* raw JSON: attributes */
	int priority;			/* journal: PRIORITY 0..7; -1 if absent
					   (OTLP: always -1) */
	struct sre_json_str unit;	/* journal: _SYSTEMD_UNIT */
	struct sre_json_str identifier;	/* journal: SYSLOG_IDENTIFIER */
	unsigned quirks;		/* SRE_OTLP_Q_* */
};

/* A rejected record (or list): msg names the record and the field. */
struct sre_otlp_reject {
	enum sre_otlp_format format;
	const char *msg;	/* NUL-terminated, e.g. "resourceSpans[0].
				   scopeSpans[0].spans[2]: startTimeUnixNano:
				   not an unsigned 64-bit integer" */
	size_t off;		/* byte offset of the field in the line */
};

/*
 * Callbacks: return 0 to go on, anything else to stop reading the line
 * (sre_otlp_read then returns SRE_OTLP_STOP with the value in res->stop).
 * A NULL callback ignores those records (they are still read and counted).
 * arg is passed through.  The record is borrowed (see above).
 */
struct sre_otlp_handler {
	int (*span)(void *arg, const struct sre_otlp_span *s);
	int (*point)(void *arg, const struct sre_otlp_point *p);
	int (*log)(void *arg, const struct sre_otlp_log *l);
	int (*reject)(void *arg, const struct sre_otlp_reject *rj);
	void *arg;
};

struct sre_otlp_result {
	enum sre_otlp_format format;
	size_t records;		/* records delivered (or ignored: NULL cb) */
	size_t rejected;	/* records or lists rejected */
	size_t err_off;		/* SRE_OTLP_EJSON: byte offset of the error */
	int stop;		/* SRE_OTLP_STOP: the callback's value */
	char msg[256];		/* EJSON/ENOMEM: what went wrong and where;
				   else the first rejection, or "" */
};

/*
 * A reader: its scratch memory, reused line after line.  flags: 0 or
 * SRE_OTLP_ATOMIC.  NULL if out of memory.  Free with sre_otlp_free
 * (NULL is fine).
 */
struct sre_otlp *sre_otlp_new(unsigned flags);
void sre_otlp_free(struct sre_otlp *r);

/*
 * Read one line: len bytes at line (borrowed; not NUL-terminated; a
 * trailing newline is fine), calling h's callbacks for each record, and
 * fill *res.  Returns SRE_OTLP_OK, SRE_OTLP_EJSON, SRE_OTLP_ENOMEM or
 * SRE_OTLP_STOP (see above).  Never prints; never keeps a pointer to line
 * past its return.
 */
int sre_otlp_read(struct sre_otlp *r, const char *line, size_t len,
    const struct sre_otlp_handler *h, struct sre_otlp_result *res);

/* "traces", "metrics", "logs", "point", "journal", "unknown", ... */
const char *sre_otlp_format_name(enum sre_otlp_format f);

/* A decoded AnyValue.  Slices borrowed as the record's. */
struct sre_otlp_value {
	enum sre_otlp_vtype type;
	struct sre_json_str s;		/* STRING: text; BYTES: base64;
					   ARRAY, KVLIST: raw JSON;
					   INT, DOUBLE, BOOL: the JSON text */
	int64_t i;			/* INT; BOOL: 0 or 1 */
	double d;			/* INT, DOUBLE */
};

struct sre_otlp_attr {
	struct sre_json_str key;
	struct sre_otlp_value v;
};

/* Iterator over a raw attribute list: contents private. */
struct sre_otlp_attr_iter {
	struct sre_json j;
	int state;
};

/*
 * Walk a raw JSON attribute list (an attrs field of a record: an OTLP
 * KeyValue array, or a plain point's labels object).  Call
 * sre_otlp_attr_begin, then sre_otlp_attr_next until it returns 0.
 * sre_otlp_attr_next returns 1 with *a set, 0 at the end, -1 if the list
 * is not a list.  It may only be called during the callback that got the
 * record, with that callback's reader: decoded strings live in the
 * reader's scratch memory until the callback returns.  Entries whose key
 * is not a string are skipped.
 */
void sre_otlp_attr_begin(struct sre_otlp_attr_iter *it,
    struct sre_json_str attrs);
int sre_otlp_attr_next(struct sre_otlp *r, struct sre_otlp_attr_iter *it,
    struct sre_otlp_attr *a);

/*
 * Find the first attribute named key (NUL-terminated) in a raw attribute
 * list: 1 and *v set if found, 0 if not, -1 as above.  Same borrowing.
 */
int sre_otlp_attr_find(struct sre_otlp *r, struct sre_json_str attrs,
    const char *key, struct sre_otlp_value *v);

/*
 * Decode a hex id (trace or span id) into at most outsz bytes: returns the
 * number of bytes, or -1 if id is not an even number of hex digits or too
 * long.  An empty id gives 0.
 */
int sre_otlp_id_bytes(struct sre_json_str id, uint8_t *out, size_t outsz);

#endif
