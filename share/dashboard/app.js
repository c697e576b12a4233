// SRE-Space dashboard: plain JavaScript, no build step, no dependencies.
// Reads sre-serve's API and follows /events (Server-Sent Events) to update
// without reloading.  Everything shown comes from telemetry and events,
// which are untrusted: text goes in with textContent, links only when they
// are http(s).
'use strict';

const state = { anomalies: [], services: new Map(), lastId: 0 };
const COLORS = ['#58a6ff', '#f85149', '#3fb950', '#d29922', '#bc8cff',
	'#39c5cf', '#ff7b72', '#e3b341'];

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
	const e = document.createElement(tag);
	if (text !== undefined && text !== null)
		e.textContent = String(text);
	if (cls)
		e.className = cls;
	return e;
}

async function getJSON(path) {
	const r = await fetch(path, { cache: 'no-store' });
	if (!r.ok && r.status !== 503)
		throw new Error(`${path}: ${r.status}`);
	return r.json();
}

function duration(ms) {
	if (typeof ms !== 'number' || !isFinite(ms))
		return '–';
	if (ms < 1000)
		return `${Math.round(ms)} ms`;
	if (ms < 120000)
		return `${(ms / 1000).toFixed(1)} s`;
	if (ms < 7200000)
		return `${(ms / 60000).toFixed(1)} min`;
	return `${(ms / 3600000).toFixed(1)} h`;
}

function percent(x) {
	return typeof x === 'number' && isFinite(x) ?
	    `${Math.round(x * 100)}%` : '–';
}

function safeLink(url, text) {
	if (typeof url === 'string' && /^https?:\/\//.test(url)) {
		const a = el('a', text);
		a.href = url;
		a.rel = 'noopener noreferrer';
		a.target = '_blank';
		return a;
	}
	return el('span', text);
}

// ---- health and governor ------------------------------------------------

async function refreshHealth() {
	try {
		const h = await getJSON('/system/health');
		const hp = $('health');
		hp.textContent = `health: ${h.status}`;
		hp.className = `pill ${h.status === 'ok' ? 'ok' : 'bad'}`;
		const g = $('governor');
		g.textContent = `governor: ${h.governor}`;
		g.className = `pill ${h.governor === 'degraded' ? 'warn' :
		    h.governor === 'normal' ? 'ok' : 'muted'}`;
	} catch (e) {
		$('health').textContent = 'health: unreachable';
		$('health').className = 'pill bad';
	}
}

// ---- reliability metrics -----------------------------------------------

async function refreshReport() {
	let r;
	try {
		const resp = await fetch('/reports/metrics', { cache: 'no-store' });
		if (!resp.ok)
			return;	// no store yet
		r = await resp.json();
	} catch (e) {
		return;
	}
	$('m-mttr').textContent = duration(r.mttr_ms && r.mttr_ms.p50);
	$('m-mttr-n').textContent = r.mttr_ms ?
	    `p90 ${duration(r.mttr_ms.p90)}, ${r.mttr_ms.n} recovered` : '';
	$('m-auto').textContent = percent(r.autonomous_success_rate);
	$('m-auto-n').textContent = `${r.closed || 0} closed of ${r.incidents || 0}`;
	$('m-acc').textContent = percent(r.cognitive_accuracy);
	const res = r.resource || {};
	$('m-res').textContent = typeof res.cpu_seconds_per_incident === 'number' ?
	    `${res.cpu_seconds_per_incident.toFixed(2)} CPU s` : '–';
	$('m-res-n').textContent = typeof res.peak_rss_bytes_per_incident === 'number' ?
	    `peak ${(res.peak_rss_bytes_per_incident / 1048576).toFixed(0)} MiB` : '';
}

// ---- incidents ---------------------------------------------------------

function incidentRow(rec) {
	const tr = el('tr');
	tr.dataset.incident = rec.incident;
	tr.appendChild(el('td', rec.incident));
	const st = rec.status === 'closed' ? (rec.outcome || 'closed') : 'open';
	tr.appendChild(el('td', st, st === 'open' ? 'warn' :
	    st === 'auto_resolved' ? 'ok' : 'bad'));
	const an = rec.anomaly || {};
	tr.appendChild(el('td', [an.service, an.operation].filter(Boolean).join(' ')));
	const rc = rec.root_cause;
	const rcTd = el('td', rc ? [rc.service, rc.operation].filter(Boolean).join(' ') : '–');
	if (rc && rc.reason)
		rcTd.appendChild(el('div', rc.reason, 'reason'));
	tr.appendChild(rcTd);
	const conf = rec.diagnosis && rec.diagnosis.confidence;
	tr.appendChild(el('td', percent(conf)));
	const v = rec.verdict;
	tr.appendChild(el('td', v ? v.decision : '–', v ?
	    (v.decision === 'approve' ? 'ok' : 'warn') : ''));
	const act = rec.action || rec.fix;
	const actTd = el('td');
	if (act) {
		const what = rec.proposal ? rec.proposal.action : '';
		actTd.appendChild(el('span', `${what} ${act.status || ''}`.trim()));
		if (act.commit) {
			actTd.appendChild(el('span', ' '));
			actTd.appendChild(safeLink(act.pr_url || act.url,
			    String(act.commit).slice(0, 12)));
		}
	} else
		actTd.textContent = '–';
	tr.appendChild(actTd);
	tr.appendChild(el('td', rec.recovered_ms ?
	    `recovered in ${duration(rec.mttr_ms)}` : rec.status === 'open' ?
	    'waiting' : '–'));
	return tr;
}

async function refreshIncidents() {
	let data;
	try {
		data = await getJSON('/incidents?limit=50');
	} catch (e) {
		return;
	}
	const tbody = $('incidents').querySelector('tbody');
	tbody.replaceChildren(...(data.incidents || []).map(incidentRow));
	$('no-incidents').hidden = (data.incidents || []).length > 0;
	$('open-count').textContent = `${data.open || 0} open`;
}

// ---- the chart ---------------------------------------------------------

function colorOf(service) {
	if (!state.services.has(service))
		state.services.set(service,
		    COLORS[state.services.size % COLORS.length]);
	return state.services.get(service);
}

function drawChart() {
	const c = $('chart');
	const ctx = c.getContext('2d');
	const W = c.width, H = c.height, pad = 28;
	ctx.clearRect(0, 0, W, H);
	ctx.strokeStyle = '#26303a';
	ctx.beginPath();
	ctx.moveTo(pad, H - pad);
	ctx.lineTo(W - 8, H - pad);
	ctx.stroke();
	const pts = state.anomalies;
	if (pts.length === 0) {
		ctx.fillStyle = '#8a96a3';
		ctx.font = '13px system-ui, sans-serif';
		ctx.fillText('no anomalies yet', pad + 8, H / 2);
		return;
	}
	const t0 = Math.min(...pts.map((p) => p.t));
	const t1 = Math.max(...pts.map((p) => p.t));
	// About 40 buckets over the span seen, at least a minute each.
	const width = Math.max(60000, Math.ceil((t1 - t0 + 1) / 40));
	const n = Math.floor((t1 - t0) / width) + 1;
	const counts = new Map();
	for (const p of pts) {
		const b = Math.floor((p.t - t0) / width);
		if (!counts.has(p.service))
			counts.set(p.service, new Array(n).fill(0));
		counts.get(p.service)[b]++;
	}
	let max = 1;
	for (const arr of counts.values())
		max = Math.max(max, ...arr);
	const x = (i) => pad + (n === 1 ? (W - pad - 8) / 2 :
	    i * (W - pad - 8) / (n - 1));
	const y = (v) => H - pad - v * (H - 2 * pad) / max;
	ctx.fillStyle = '#8a96a3';
	ctx.font = '11px system-ui, sans-serif';
	ctx.fillText(String(max), 4, y(max) + 4);
	ctx.fillText('0', 4, y(0) + 4);
	ctx.fillText(new Date(t0).toISOString().slice(11, 19), pad, H - 8);
	ctx.fillText(new Date(t1).toISOString().slice(11, 19) + ' UTC', W - 110, H - 8);
	for (const [svc, arr] of counts) {
		ctx.strokeStyle = ctx.fillStyle = colorOf(svc);
		ctx.lineWidth = 2;
		ctx.beginPath();
		arr.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
		ctx.stroke();
		arr.forEach((v, i) => {
			if (v > 0)
				ctx.fillRect(x(i) - 2, y(v) - 2, 4, 4);
		});
	}
	const legend = $('legend');
	legend.replaceChildren(...[...counts.keys()].map((svc) => {
		const li = el('li');
		const sw = el('span');
		sw.style.background = colorOf(svc);
		li.appendChild(sw);
		li.appendChild(document.createTextNode(
		    `${svc} (${counts.get(svc).reduce((a, b) => a + b, 0)})`));
		return li;
	}));
}

// ---- live events -------------------------------------------------------

let pending = null;
function soon() {
	if (pending)
		return;
	pending = setTimeout(() => {
		pending = null;
		refreshIncidents();
		refreshReport();
		refreshHealth();
	}, 300);
}

function onEvent(msg) {
	let ev;
	try {
		ev = JSON.parse(msg.data);
	} catch (e) {
		return;
	}
	if (!ev || typeof ev !== 'object')
		return;
	if (ev.type === 'anomaly' && typeof ev.ts_ms === 'number') {
		state.anomalies.push({ t: ev.ts_ms,
		    service: String(ev.service || 'unknown') });
		if (state.anomalies.length > 5000)
			state.anomalies.splice(0, state.anomalies.length - 5000);
		drawChart();
	}
	if (ev.incident || ev.type === 'governor')
		soon();
}

function follow() {
	// since=0 replays what the server's ring still holds: the chart
	// starts with the recent past; the browser resumes with
	// Last-Event-ID by itself after a reconnect.
	const es = new EventSource('/events?since=0');
	es.addEventListener('sre', onEvent);
	es.onopen = () => {
		$('live').textContent = 'events: live';
		$('live').className = 'pill ok';
	};
	es.onerror = () => {
		$('live').textContent = 'events: reconnecting';
		$('live').className = 'pill warn';
	};
}

function start() {
	drawChart();
	refreshHealth();
	refreshReport();
	refreshIncidents();
	follow();
	setInterval(refreshHealth, 5000);
	setInterval(refreshIncidents, 15000);
}

document.addEventListener('DOMContentLoaded', start);
