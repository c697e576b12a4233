// otel-send.js: spans, metrics and logs made by the real OpenTelemetry JS
// SDK and sent by its OTLP/HTTP exporters (JSON or protobuf) to sre-serve.
//
//   node otel-send.js URL json|proto
//
// Prints on stdout, one per line, what the SDK made, as sre-scout should see
// it: {"traceId","spanId","parentSpanId","name","kind","start","end",
// "status"} per span.  Exits 1 if an export failed.
'use strict';

const { SpanKind, SpanStatusCode, context, trace } =
    require('@opentelemetry/api');
const { Resource } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base');
const { MeterProvider, PeriodicExportingMetricReader } =
    require('@opentelemetry/sdk-metrics');
const { LoggerProvider, SimpleLogRecordProcessor } =
    require('@opentelemetry/sdk-logs');

const [url, proto] = process.argv.slice(2);
if (!url || !['json', 'proto'].includes(proto)) {
	console.error('usage: node otel-send.js URL json|proto');
	process.exit(64);
}
const pkg = (kind) => proto === 'json' ?
    `@opentelemetry/exporter-${kind}-otlp-http` :
    `@opentelemetry/exporter-${kind}-otlp-proto`;
const { OTLPTraceExporter } = require(pkg('trace'));
const { OTLPMetricExporter } = require(pkg('metrics'));
const { OTLPLogExporter } = require(pkg('logs'));
const headers = process.env.SRE_INGEST_TOKEN ?
    { Authorization: `Bearer ${process.env.SRE_INGEST_TOKEN}` } : {};

const resource = new Resource({
	'service.name': 'checkout',
	'service.version': '1.4.2',
	'host.name': 'node-a',
});

let failed = false;
const ns = (hr) => (BigInt(hr[0]) * 1000000000n + BigInt(hr[1])).toString();

class Recorder {
	onStart() {}
	onEnd(span) {
		const c = span.spanContext();
		process.stdout.write(JSON.stringify({
			traceId: c.traceId,
			spanId: c.spanId,
			parentSpanId: span.parentSpanId || '',
			name: span.name,
			kind: span.kind + 1,	// OTLP numbers kinds from 1
			start: ns(span.startTime),
			end: ns(span.endTime),
			status: span.status.code,
		}) + '\n');
	}
	forceFlush() { return Promise.resolve(); }
	shutdown() { return Promise.resolve(); }
}

async function main() {
	const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces`,
	    headers });
	const tp = new BasicTracerProvider({ resource, spanProcessors: [
	    new Recorder(), new BatchSpanProcessor(exporter,
	    { maxExportBatchSize: 1000, scheduledDelayMillis: 60000 })] });
	const tracer = tp.getTracer('sre-serve-test', '0.1');

	for (let i = 0; i < 5; i++) {
		const root = tracer.startSpan('POST /checkout',
		    { kind: SpanKind.SERVER, attributes: {
		    'http.request.method': 'POST', 'http.route': '/checkout',
		    'http.response.status_code': i === 3 ? 500 : 200,
		    'retries': i, 'ratio': 0.25 * i, 'cached': i % 2 === 0,
		    'tags': ['a', 'b'] } });
		const ctx = trace.setSpan(context.active(), root);
		const child = tracer.startSpan('SELECT orders',
		    { kind: SpanKind.CLIENT, attributes: {
		    'db.system': 'postgresql', 'peer.service': 'orders-db',
		    'db.statement': 'SELECT * FROM orders WHERE id = "1"\n' } },
		    ctx);
		if (i === 3) {
			child.recordException(new Error('connection reset'));
			child.setStatus({ code: SpanStatusCode.ERROR,
			    message: 'connection reset' });
			root.setStatus({ code: SpanStatusCode.ERROR });
		}
		child.addEvent('rows', { count: 12 });
		child.end();
		root.end();
	}
	await tp.forceFlush().catch(() => { failed = true; });

	const reader = new PeriodicExportingMetricReader({
	    exporter: new OTLPMetricExporter({ url: `${url}/v1/metrics`,
	    headers }), exportIntervalMillis: 600000 });
	const mp = new MeterProvider({ resource, readers: [reader] });
	const meter = mp.getMeter('sre-serve-test');
	meter.createCounter('orders_total').add(7, { region: 'eu' });
	meter.createHistogram('order_ms', { unit: 'ms' }).record(42.5);
	meter.createUpDownCounter('queue_depth').add(-3);
	await mp.forceFlush().catch(() => { failed = true; });

	const lp = new LoggerProvider({ resource });
	const logExporter = new OTLPLogExporter({ url: `${url}/v1/logs`,
	    headers });
	const orig = logExporter.export.bind(logExporter);
	logExporter.export = (items, cb) => orig(items, (r) => {
		if (r.code !== 0)
			failed = true;
		cb(r);
	});
	lp.addLogRecordProcessor(new SimpleLogRecordProcessor(logExporter));
	lp.getLogger('sre-serve-test').emit({ severityNumber: 17,
	    severityText: 'ERROR', body: 'payment failed: card declined',
	    attributes: { 'order.id': 'o-17' } });
	await lp.forceFlush();

	const wrap = exporter.export.bind(exporter);
	void wrap;
	await Promise.all([tp.shutdown(), mp.shutdown(), lp.shutdown()]);
	process.exit(failed ? 1 : 0);
}

// A failed export is reported through the diagnostic logger and the
// export callback; make both fatal for the test.
const { diag, DiagLogLevel } = require('@opentelemetry/api');
diag.setLogger({ error: (...a) => { failed = true; console.error(...a); },
    warn: (...a) => console.error(...a), info() {}, debug() {},
    verbose() {} }, DiagLogLevel.WARN);

main().catch((e) => { console.error(e); process.exit(1); });
