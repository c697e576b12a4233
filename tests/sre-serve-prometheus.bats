#!/usr/bin/env bats
# sre-serve with the real Prometheus stack of Debian: prometheus scrapes a
# prometheus-node-exporter and sre-serve's /metrics, remote-writes to
# sre-serve, and fires a rule whose alert prometheus-alertmanager routes to
# /v1/alertmanager.  Each binary runs directly, with its own configuration,
# on free loopback ports and temporary directories; each wait is bounded.

load helper
load serve

PIDS=

setup() {
	cd "$BATS_TEST_TMPDIR" || exit 1
	SERVE_PID=
	for b in prometheus prometheus-alertmanager prometheus-node-exporter; do
		command -v "$b" >/dev/null ||
		    skip "$b (Debian package) is not installed"
	done
}

teardown() {
	for p in $PIDS $SERVE_PID; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	[ -z "$SERVE_PID" ] || kill -KILL "$SERVE_PID" 2>/dev/null || true
}

# wait_for SECONDS COMMAND...: poll every 0.2 s until COMMAND succeeds.
# (About 10 s in all on an idle machine; the bounds leave room for a
# loaded one and the sanitizer build.)
wait_for() {
	local n=$(($1 * 5))
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.2
	done
	echo "timed out waiting for: $*" >&2
	return 1
}

has_point() { grep -q "\"metric\":\"$1\"" out; }
# grep, not jq: the last line of out may be half written while we look.
# Events begin with their version and type; points never do.
has_event() { grep -q "^{\"v\":1,\"type\":\"$1\"" out; }
sre_serve_up() {
	curl -sS -m 2 -G "http://127.0.0.1:$PROM/api/v1/query" \
	    --data-urlencode 'query=up{job="sre-serve"} == 1' |
	    jq -e '.data.result | length == 1' >/dev/null
}

@test "Prometheus scrapes node-exporter and sre-serve, remote-writes, and its alert arrives through Alertmanager" {
	serve_start
	NODE=$(free_port)
	AM=$(free_port)
	PROM=$(free_port)
	prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE" \
	    --collector.disable-defaults --collector.loadavg \
	    --collector.meminfo > node.log 2>&1 3>&- &
	NODE_PID=$!
	PIDS="$PIDS $NODE_PID"
	cat > am.yml <<-YML
	route:
	  receiver: sre
	  group_by: [alertname]
	  group_wait: 1s
	  group_interval: 1s
	  repeat_interval: 1h
	receivers:
	  - name: sre
	    webhook_configs:
	      - url: $URL/v1/alertmanager
	        send_resolved: true
	YML
	prometheus-alertmanager --config.file=am.yml --storage.path=amdata \
	    --web.listen-address="127.0.0.1:$AM" --cluster.listen-address= \
	    > am.log 2>&1 3>&- &
	PIDS="$PIDS $!"
	cat > rules.yml <<-'YML'
	groups:
	  - name: sre
	    interval: 1s
	    rules:
	      - alert: NodeUp
	        expr: up{job="node"} == 1
	        labels:
	          severity: warning
	          service: node-exporter
	        annotations:
	          summary: the node exporter answers
	YML
	cat > prom.yml <<-YML
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	rule_files: [rules.yml]
	alerting:
	  alertmanagers:
	    - static_configs:
	        - targets: ["127.0.0.1:$AM"]
	scrape_configs:
	  - job_name: node
	    static_configs:
	      - targets: ["127.0.0.1:$NODE"]
	  - job_name: sre-serve
	    static_configs:
	      - targets: ["127.0.0.1:$PORT"]
	remote_write:
	  - url: $URL/api/v1/write
	    queue_config:
	      batch_send_deadline: 1s
	      min_backoff: 100ms
	      max_backoff: 1s
	YML
	prometheus --config.file=prom.yml --storage.tsdb.path=data \
	    --web.listen-address="127.0.0.1:$PROM" > prom.log 2>&1 3>&- &
	PIDS="$PIDS $!"

	wait_for 60 has_point node_load1 || { tail -20 prom.log; false; }
	wait_for 60 sre_serve_up
	wait_for 60 has_point sre_serve_requests_total
	wait_for 60 has_event anomaly || { tail -20 am.log; false; }
	# The node exporter goes away: the rule stops, the alert resolves.
	kill -TERM "$NODE_PID"
	wait_for 60 has_event recovery || { tail -20 am.log; false; }
	# Prometheus stops first: it flushes its remote-write queue on the
	# way out, and would wait a minute for a server that is gone.
	kill -TERM $PIDS 2>/dev/null || true
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	PIDS=
	serve_stop

	# Points: the scraped series, their job as the service.
	jq -se 'map(select(.metric == "node_load1")) | length > 0 and all(.labels.service == "node" and (.value | type) == "number" and .ts_ms > 1600000000000)' out >/dev/null
	jq -se 'map(select(.metric == "sre_serve_requests_total")) | length > 0 and all(.labels.service == "sre-serve")' out >/dev/null
	# The alert: an anomaly, then a recovery of the same incident.
	jq -c 'select(.type)' out > events.ndjson
	run -0 --separate-stderr sre-bus < events.ndjson
	jq -c 'select(.type == "anomaly" or .type == "recovery") | [.type, .service, .operation, .fingerprint, .incident]' out | sort -u > events
	[ "$(cut -d, -f1-3 events | sort -u | paste -sd' ')" = '["anomaly","node-exporter","NodeUp" ["recovery","node-exporter","NodeUp"' ]
	[ "$(jq -r '.[4]' events | sort -u | wc -l)" -eq 1 ]
	# Everything sre-scout reads from it is readable.
	run -0 --separate-stderr sre-scout -v < out
	[[ $stderr == *" 0 rejected lines"* ]]
}
