// dashboard.js: load sre-serve's dashboard in headless Chromium, driven
// over the DevTools protocol (Node's WebSocket), and check it.
//
//   node --experimental-websocket dashboard.js URL SCREENSHOT.png
//
// Fails (exit 1, reasons on stderr) on any console error or uncaught
// exception, when the incidents already in the store are not shown, or
// when an incident injected through the API after the page loaded does
// not appear without a reload.  Saves a screenshot.  Bounded: 60 s.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [url, shot] = process.argv.slice(2);
if (!url || !shot) {
	console.error('usage: node dashboard.js URL SCREENSHOT.png');
	process.exit(64);
}
const chromium = process.env.CHROMIUM || 'chromium';
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-dash-'));
const problems = [];
let browser;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function finish(code) {
	if (browser && browser.exitCode === null) {
		// Chromium is a tree of processes in its own group: all of it
		// goes, and is gone, before its profile is removed.
		const gone = new Promise((r) => browser.once('exit', r));
		try {
			process.kill(-browser.pid, 'SIGKILL');
		} catch (e) {
			browser.kill('SIGKILL');
		}
		await Promise.race([gone, sleep(5000)]);
	}
	try {
		fs.rmSync(profile, { recursive: true, force: true,
		    maxRetries: 10, retryDelay: 100 });
	} catch (e) {
		console.error(`dashboard: warning: ${profile} left behind: ${e.code}`);
	}
	for (const p of problems)
		console.error(`dashboard: ${p}`);
	process.exit(problems.length ? 1 : code);
}
setTimeout(() => { problems.push('timed out after 60 s'); finish(1); },
    60000).unref();


function launch() {
	browser = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu',
	    '--disable-quic', '--no-first-run', '--disable-background-networking',
	    '--disable-component-update', '--disable-sync',
	    '--disable-dev-shm-usage', '--window-size=1280,900',
	    `--user-data-dir=${profile}`, '--remote-debugging-port=0',
	    'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'],
	    detached: true });
	return new Promise((resolve, reject) => {
		let err = '';
		browser.stderr.on('data', (d) => {
			err += d;
			const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
			if (m)
				resolve(m[1]);
		});
		browser.on('exit', (c) => reject(new Error(
		    `chromium exited ${c}: ${err.slice(-500)}`)));
	});
}

async function main() {
	const wsBrowser = await launch();
	const port = new URL(wsBrowser).port;
	let targets = [];
	for (let i = 0; i < 50 && !targets.some((t) => t.type === 'page'); i++) {
		targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
		await sleep(100);
	}
	const page = targets.find((t) => t.type === 'page');
	const ws = new WebSocket(page.webSocketDebuggerUrl);
	await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
	let seq = 0;
	const waiting = new Map();
	ws.onmessage = (m) => {
		const msg = JSON.parse(m.data);
		if (msg.id && waiting.has(msg.id)) {
			waiting.get(msg.id)(msg);
			waiting.delete(msg.id);
			return;
		}
		if (msg.method === 'Runtime.consoleAPICalled' &&
		    (msg.params.type === 'error' || msg.params.type === 'assert'))
			problems.push(`console.${msg.params.type}: ${msg.params.args.map((a) => a.value ?? a.description).join(' ')}`);
		else if (msg.method === 'Runtime.exceptionThrown')
			problems.push(`exception: ${msg.params.exceptionDetails.exception?.description ?? msg.params.exceptionDetails.text}`);
		else if (msg.method === 'Log.entryAdded' &&
		    msg.params.entry.level === 'error')
			problems.push(`log: ${msg.params.entry.text} ${msg.params.entry.url ?? ''}`);
	};
	const send = (method, params = {}) => new Promise((r) => {
		const id = ++seq;
		waiting.set(id, r);
		ws.send(JSON.stringify({ id, method, params }));
	});
	const evaluate = async (expr) => (await send('Runtime.evaluate',
	    { expression: expr, returnByValue: true })).result?.result?.value;
	const until = async (what, expr, ms) => {
		for (let t = 0; t < ms; t += 100) {
			if (await evaluate(expr))
				return true;
			await sleep(100);
		}
		problems.push(`never saw ${what}`);
		return false;
	};

	await send('Runtime.enable');
	await send('Log.enable');
	await send('Page.enable');
	await send('Page.navigate', { url });
	await until('the page load', 'document.readyState === "complete"', 10000);
	const before = await evaluate('document.querySelectorAll("#incidents tbody tr").length');
	await until('the event stream open', 'document.getElementById("live").textContent === "events: live"', 10000);

	// An incident through the API, after the page loaded: an alert.
	const now = new Date().toISOString();
	const fp = Date.now().toString(16).padStart(16, '0').slice(-16);
	const r = await fetch(`${new URL(url).origin}/v1/alertmanager`, {
		method: 'POST', headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ version: '4', status: 'firing', alerts: [{
		    status: 'firing', labels: { alertname: 'CheckoutErrors',
		    service: 'checkout', severity: 'critical' },
		    annotations: { value: '0.3' }, startsAt: now,
		    fingerprint: fp }] }) });
	if (r.status !== 200)
		problems.push(`injecting the alert: HTTP ${r.status}`);
	await until('the injected incident without a reload',
	    `[...document.querySelectorAll("#incidents tbody tr")].some((tr) => tr.dataset.incident.startsWith("am-${fp}-"))`,
	    20000);
	await until('the anomaly in the chart',
	    '[...document.querySelectorAll("#legend li")].some((li) => li.textContent.startsWith("checkout "))', 10000);
	const after = await evaluate('document.querySelectorAll("#incidents tbody tr").length');
	const nav = await evaluate('performance.getEntriesByType("navigation").length');
	if (nav !== 1)
		problems.push('the page was reloaded');
	await sleep(300);
	const png = await send('Page.captureScreenshot', { format: 'png' });
	fs.mkdirSync(path.dirname(shot), { recursive: true });
	fs.writeFileSync(shot, Buffer.from(png.result.data, 'base64'));
	const text = await evaluate('document.querySelector("main").innerText');
	process.stdout.write(JSON.stringify({ before, after, text }) + '\n');
	ws.close();
	finish(0);
}

main().catch((e) => { problems.push(String(e && e.stack || e)); finish(1); });
