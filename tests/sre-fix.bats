#!/usr/bin/env bats
# sre-fix: approved verdicts become GitOps commits, branches and pull
# requests, on real git repositories with a bare remote.

load helper
load helpers/gitops.sh

setup() {
	make_repo
	F=(sre-fix --repo "$WORK" --state-dir "$STATE")
}

teardown() {
	stop_hub
}

actions() {
	printf '%s\n' "$output" | jq -c 'select(.type == "action")'
}

# No branch, worktree or commit of ours anywhere.
assert_nothing_made() {
	[ -z "$(git -C "$WORK" branch --list 'sre/*')" ]
	[ -z "$(git -C "$REMOTE" branch --list 'sre/*')" ]
	[ "$(git -C "$WORK" worktree list | wc -l)" -eq 1 ]
	[ -z "$(git -C "$WORK" status --porcelain)" ]
	[ "$(git -C "$REMOTE" rev-parse main)" = "$(git -C "$WORK" rev-parse main)" ]
	[ -z "$(ls -A "$STATE/worktrees" 2>/dev/null)" ]
}

@test "--help, --version, bad options and a repository that is not one" {
	run -0 --separate-stderr sre-fix --help
	[[ $output == "usage: sre-fix "* ]]
	run -0 --separate-stderr sre-fix --version
	[[ $output =~ ^sre-fix\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run -64 --separate-stderr sre-fix --bogus
	run -64 --separate-stderr sre-fix --verify-window soon
	run -64 --separate-stderr "${F[@]}" --author nobody < /dev/null
	mkdir "$BATS_TEST_TMPDIR/plain"
	run -78 --separate-stderr sre-fix --repo "$BATS_TEST_TMPDIR/plain" --state-dir "$STATE" < /dev/null
	[[ $stderr == *"not a git repository"* ]]
	run -78 --separate-stderr sre-fix --repo "$WORK/services" --state-dir "$STATE" < /dev/null
	[[ $stderr == *"not the top of a git working tree"* ]]
	run -66 --separate-stderr sre-fix --repo /nonexistent --state-dir "$STATE" < /dev/null
}

@test "rollback: branch sre/<incident> on the remote, one commit restoring the old tag, no other byte" {
	v=$(verdict V1 inc-1 rollback quote-api '{}')
	run -0 --separate-stderr "${F[@]}" <<< "$v"
	# The diagnosis and the verdict go on first, unchanged.
	[ "$(printf '%s\n' "$output" | sed -n 1,2p)" = "$v" ]
	a=$(actions)
	[ "$(jq -c '[.status, .branch, .incident, .repo, .pr_url, .source]' <<< "$a")" = \
	    "[\"committed\",\"sre/inc-1\",\"inc-1\",\"$WORK\",null,\"sre-fix\"]" ]
	commit=$(jq -r .commit <<< "$a")
	# On the remote: one commit on top of main, with that id.
	[ "$(git -C "$REMOTE" rev-parse sre/inc-1)" = "$commit" ]
	[ "$(git -C "$REMOTE" rev-list --count main..sre/inc-1)" -eq 1 ]
	[ "$(git -C "$REMOTE" rev-parse sre/inc-1~1)" = "$(git -C "$REMOTE" rev-parse main)" ]
	# It restores the tag of the commit before, byte for byte.
	git -C "$REMOTE" show main~1:services/quote-api/deployment.yaml > "$BATS_TEST_TMPDIR/old"
	git -C "$REMOTE" show sre/inc-1:services/quote-api/deployment.yaml | cmp - "$BATS_TEST_TMPDIR/old"
	[ "$(git -C "$REMOTE" diff --name-only main sre/inc-1)" = services/quote-api/deployment.yaml ]
	[ "$(git -C "$REMOTE" diff --numstat main sre/inc-1)" = "$(printf '1\t1\tservices/quote-api/deployment.yaml')" ]
	git -C "$REMOTE" diff -U0 main sre/inc-1 | grep -x -- '-          image: registry.example.com/marketplace/quote-api:1.4.0'
	git -C "$REMOTE" diff -U0 main sre/inc-1 | grep -x -- '+          image: registry.example.com/marketplace/quote-api:1.3.4'
	# The message: incident, root cause, evidence, trailer.
	git -C "$REMOTE" log -1 --format=%B sre/inc-1 > "$BATS_TEST_TMPDIR/msg"
	grep -x 'Incident: inc-1' "$BATS_TEST_TMPDIR/msg"
	grep -x 'Root cause: quote-api GET /quote (score 0.90): errors since the deploy' "$BATS_TEST_TMPDIR/msg"
	grep -x 'Evidence:' "$BATS_TEST_TMPDIR/msg"
	grep -x -- '- diagnosis D-inc-1, approved by verdict V1 (rules \["default"\])' "$BATS_TEST_TMPDIR/msg"
	grep -x -- "- reverts commit $(git -C "$REMOTE" rev-parse main)" "$BATS_TEST_TMPDIR/msg"
	[ "$(git interpret-trailers --parse < "$BATS_TEST_TMPDIR/msg")" = "SRE-Incident: inc-1" ]
	# The local repository has the branch too, and no worktree is left.
	[ "$(git -C "$WORK" rev-parse sre/inc-1)" = "$commit" ]
	[ "$(git -C "$WORK" worktree list | wc -l)" -eq 1 ]
	[ -z "$(git -C "$WORK" status --porcelain)" ]
	assert_no_sanitizer
}

@test "a scale proposal changes only the replicas value" {
	run -0 --separate-stderr "${F[@]}" < <(verdict V1 inc-1 scale quote-api '{"replicas":4}')
	[ "$(actions | jq -r .status)" = committed ]
	[[ $(actions | jq -r .detail) == "scale quote-api from 2 to 4 replicas; pushed to origin" ]]
	sed 's/^  replicas: 2$/  replicas: 4/' "$WORK/services/quote-api/deployment.yaml" > "$BATS_TEST_TMPDIR/want"
	! cmp -s "$BATS_TEST_TMPDIR/want" "$WORK/services/quote-api/deployment.yaml"
	git -C "$REMOTE" show sre/inc-1:services/quote-api/deployment.yaml | cmp - "$BATS_TEST_TMPDIR/want"
	[ "$(git -C "$REMOTE" diff --name-only main sre/inc-1)" = services/quote-api/deployment.yaml ]
	# delta counts from the current value
	run -0 --separate-stderr "${F[@]}" < <(verdict V2 inc-2 scale pricing-engine '{"delta":2}')
	git -C "$REMOTE" diff -U0 main sre/inc-2 | grep -x -- '+  replicas: 5'
}

@test "config and restart edit one value in place; a missing annotation is added" {
	# NEW_KEY is on no built-in list: this policy allows it for quote-api.
	printf 'services:\n  quote-api:\n    config_keys:\n      - DB_POOL_SIZE\n      - NEW_KEY\n' > "$BATS_TEST_TMPDIR/p.yaml"
	run -0 --separate-stderr "${F[@]}" --policy "$BATS_TEST_TMPDIR/p.yaml" < <(
	    verdict V1 inc-1 config quote-api '{"key":"DB_POOL_SIZE","value":"40"}'
	    verdict V2 inc-2 restart quote-api '{}'
	    verdict V3 inc-3 restart db-policy '{}'
	    verdict V4 inc-4 config quote-api '{"key":"NEW_KEY","value":"on"}')
	[ "$(actions | jq -r .status | sort -u)" = committed ]
	sed 's/^DB_POOL_SIZE="20"$/DB_POOL_SIZE="40"/' "$WORK/services/quote-api/config.env" > "$BATS_TEST_TMPDIR/want"
	git -C "$REMOTE" show sre/inc-1:services/quote-api/config.env | cmp - "$BATS_TEST_TMPDIR/want"
	# SRE_NOW is 2023-11-14T22:13:20Z; the verdict came 1.1 s later.
	sed 's/restartedAt: "2023-11-14T22:13:20Z"/restartedAt: "2023-11-14T22:13:21Z"/' "$WORK/services/quote-api/deployment.yaml" > "$BATS_TEST_TMPDIR/want"
	git -C "$REMOTE" show sre/inc-2:services/quote-api/deployment.yaml | cmp - "$BATS_TEST_TMPDIR/want"
	git -C "$REMOTE" diff -U0 main sre/inc-3 > "$BATS_TEST_TMPDIR/d3"
	grep -x -- '+      annotations:' "$BATS_TEST_TMPDIR/d3"
	grep -x -- '+        sre-space/restartedAt: "2023-11-14T22:13:21Z"' "$BATS_TEST_TMPDIR/d3"
	[ "$(grep -c '^[-+][^-+]' "$BATS_TEST_TMPDIR/d3")" -eq 2 ]
	git -C "$REMOTE" show sre/inc-4:services/quote-api/config.env | tail -1 | grep -x 'NEW_KEY=on'
}

@test "rollback to a version sets the image tag back" {
	run -0 --separate-stderr "${F[@]}" < <(verdict V1 inc-1 rollback quote-api '{"to":"1.3.4"}')
	[[ $(actions | jq -r .detail) == "roll quote-api back to 1.3.4 (image was registry.example.com/marketplace/quote-api:1.4.0)"* ]]
	[ "$(git -C "$REMOTE" diff --numstat main sre/inc-1)" = "$(printf '1\t1\tservices/quote-api/deployment.yaml')" ]
	git -C "$REMOTE" diff -U0 main sre/inc-1 | grep -x -- '+          image: registry.example.com/marketplace/quote-api:1.3.4'
}

@test "the same approval twice gives one branch" {
	v1=$(verdict V1 inc-1 scale quote-api '{"replicas":3}')
	v2=$(verdict V2 inc-1 scale quote-api '{"replicas":3}' 1700000002000)
	run -0 --separate-stderr "${F[@]}" < <(echo "$v1"; echo "$v2")
	[ "$(actions | jq -r .status | tr '\n' ' ')" = "committed skipped " ]
	first=$(actions | head -1)
	[[ $(actions | tail -1 | jq -r .detail) == "the same change is live and being verified" ]]
	# The same verdict delivered again: the same action, not a new one.
	run -0 --separate-stderr "${F[@]}" <<< "$v1"
	[ "$(actions)" = "$first" ]
	# Even without the state, git knows: the branch is there.
	run -0 --separate-stderr sre-fix --repo "$WORK" --state-dir "$BATS_TEST_TMPDIR/fresh" <<< "$(verdict V3 inc-1 scale quote-api '{"replicas":3}')"
	[ "$(actions | jq -r .status)" = skipped ]
	[[ $(actions | jq -r .detail) == "branch sre/inc-1 exists already: not made again" ]]
	# And with neither state nor local branch, the remote knows.
	git -C "$WORK" branch -D sre/inc-1
	run -0 --separate-stderr sre-fix --repo "$WORK" --state-dir "$BATS_TEST_TMPDIR/fresh2" <<< "$(verdict V4 inc-1 scale quote-api '{"replicas":3}')"
	[ "$(actions | jq -r .status)" = skipped ]
	[ "$(git -C "$REMOTE" branch --list 'sre/*' | wc -l)" -eq 1 ]
	[ "$(git -C "$REMOTE" rev-list --count main..sre/inc-1)" -eq 1 ]
}

@test "a revision that differs supersedes the unverified fix: reverted, then the revision; at most max_actions" {
	run -0 --separate-stderr "${F[@]}" --auto-merge < <(
	    verdict V1 inc-1 scale quote-api '{"replicas":3}' 1700000000000
	    verdict V2 inc-1 scale quote-api '{"replicas":4}' 1700000005000
	    verdict V3 inc-1 rollback quote-api '{"to":"1.3.4"}' 1700000009000)
	[ "$(actions | jq -r .status | tr '\n' ' ')" = "committed reverted committed failed " ]
	[[ $(actions | sed -n 2p | jq -r .detail) == "superseded by a revised diagnosis before it was verified: reverted "* ]]
	[ "$(actions | sed -n 2p | jq -r .next)" = true ]
	[ "$(actions | sed -n 3p | jq -r .branch)" = sre/inc-1-2 ]
	[[ $(actions | sed -n 4p | jq -r .detail) == "2 changes made for the incident, the most the policy allows (max_actions): a human takes over" ]]
	# main: the first scale, its revert, the second
	[ "$(git -C "$REMOTE" rev-list --count main)" -eq 5 ]
	git -C "$REMOTE" show main:services/quote-api/deployment.yaml | grep -x '  replicas: 4'
}

@test "a partial recovery is no verification; a scale that helped steps again; a restart is not reverted" {
	# the anomalies came in 5 s windows: verified within 60 s
	an() { jq -cn --arg i "$1" --argjson t "$2" '{v:1,type:"anomaly",id:("A"+($t|tostring)),incident:$i,
	    ts_ms:$t,source:"sre-scout",service:"quote-api",operation:null,signal:"latency",observed:9,
	    baseline:1,score:9,window_start_ms:($t - 5000),window_end_ms:$t,fingerprint:"fp",evidence:{}}'; }
	part() { jq -cn --arg i "$1" --argjson t "$2" '{v:1,type:"recovery",id:("R"+($t|tostring)),incident:$i,
	    ts_ms:$t,source:"sre-scout",service:"quote-api",operation:null,fingerprint:"fp",remaining:3}'; }
	run -0 --separate-stderr "${F[@]}" --auto-merge < <(
	    an inc-1 1700000000000
	    verdict V1 inc-1 scale quote-api '{"delta":1}' 1700000000500
	    part inc-1 1700000010000
	    tick 1700000029000
	    tick 1700000031000
	    recovery R9 inc-1 1700000040000)
	# 4 windows after the first partial recovery, not 60 s: a step
	[ "$(actions | jq -r .status | tr '\n' ' ')" = "committed committed " ]
	[ "$(actions | jq -r .branch | tr '\n' ' ')" = "sre/inc-1 sre/inc-1-2 " ]
	git -C "$REMOTE" show main:services/quote-api/deployment.yaml | grep -x '  replicas: 4'
	# a restart without recovery: nothing to undo, no commit, the next remedy
	run -0 --separate-stderr "${F[@]}" --auto-merge < <(
	    an inc-2 1700000100000
	    verdict V2 inc-2 restart quote-api '{}' 1700000100500
	    part inc-2 1700000110000
	    tick 1700000161000)
	[ "$(actions | jq -r .status | tr '\n' ' ')" = "committed reverted " ]
	[[ $(actions | tail -1 | jq -r .detail) == "no recovery within 1m of the restart: a restart cannot be undone, nothing reverted; the loop tries the next remedy" ]]
	[ "$(actions | tail -1 | jq -r '[.commit, .next] | @tsv')" = "$(printf '\ttrue')" ]
	[[ $(git -C "$REMOTE" log -1 --format=%s main) == "sre-fix: restart quote-api (restartedAt "* ]]
}

@test "a patch is checked with git apply --check, then applied" {
	p=$(printf -- '--- a/services/quote-api/config.env\n+++ b/services/quote-api/config.env\n@@ -2,3 +2,3 @@\n LOG_LEVEL=info\n-HTTP_PORT=8080\n+HTTP_PORT=8081\n REQUEST_TIMEOUT_MS=3000\n')
	run -0 --separate-stderr "${F[@]}" <<< "$(verdict V1 inc-1 patch quote-api "$(jq -cn --arg d "$p" '{diff:$d}')")"
	[ "$(actions | jq -r .status)" = committed ]
	git -C "$REMOTE" diff -U0 main sre/inc-1 | grep -x -- '+HTTP_PORT=8081'
	# A patch that does not apply fails, and leaves nothing.
	bad=$(printf -- '--- a/services/quote-api/config.env\n+++ b/services/quote-api/config.env\n@@ -2,1 +2,1 @@\n-NOT_THERE=1\n+X=2\n')
	run -0 --separate-stderr "${F[@]}" <<< "$(verdict V2 inc-2 patch quote-api "$(jq -cn --arg d "$bad" '{diff:$d}')")"
	[ "$(actions | jq -r .status)" = failed ]
	[[ $(actions | jq -r .detail) == "git apply: error: patch failed: services/quote-api/config.env:2"* ]]
	[ -z "$(git -C "$REMOTE" branch --list sre/inc-2)" ]
}

@test "a patch reaching ../ or .git/hooks fails in sre-fix too, and nothing on disk changes" {
	before=$(tree_sum "$WORK")
	gitbefore=$(cd "$WORK/.git" && find . -type f | sort | xargs sha256sum)
	up=$(printf -- '--- a/services/quote-api/../../../escape.txt\n+++ b/services/quote-api/../../../escape.txt\n@@ -0,0 +1 @@\n+owned\n')
	hook=$(printf -- 'diff --git a/.git/hooks/post-commit b/.git/hooks/post-commit\nnew file mode 100755\n--- /dev/null\n+++ b/.git/hooks/post-commit\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+touch /tmp/owned\n')
	link=$(printf -- 'diff --git a/services/quote-api/x b/services/quote-api/x\nnew file mode 120000\n--- /dev/null\n+++ b/services/quote-api/x\n@@ -0,0 +1 @@\n+/etc\n')
	run -0 --separate-stderr "${F[@]}" < <(
	    verdict V1 inc-1 patch quote-api "$(jq -cn --arg d "$up" '{diff:$d}')"
	    verdict V2 inc-2 patch quote-api "$(jq -cn --arg d "$hook" '{diff:$d}')"
	    verdict V3 inc-3 patch quote-api "$(jq -cn --arg d "$link" '{diff:$d}')")
	actions | jq -r '[.status, .detail] | @tsv' > "$BATS_TEST_TMPDIR/got"
	cat > "$BATS_TEST_TMPDIR/want" <<-'EOF'
	failed	patch refused: services/quote-api/../../../escape.txt reaches outside the repository
	failed	patch refused: .git/hooks/post-commit is inside .git
	failed	patch refused: services/quote-api/x: mode 120000: only regular files (100644, 100755); no symbolic links or submodules
	EOF
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	[ ! -e "$BATS_TEST_TMPDIR/escape.txt" ] && [ ! -e /tmp/owned ]
	[ "$before" = "$(tree_sum "$WORK")" ]
	[ "$gitbefore" = "$(cd "$WORK/.git" && find . -type f | sort | xargs sha256sum)" ]
	assert_nothing_made
}

@test "a symlink leading out of the repository is refused" {
	mkdir -p "$BATS_TEST_TMPDIR/outside"
	echo 'LOG_LEVEL=info' > "$BATS_TEST_TMPDIR/outside/target.env"
	rm "$WORK/services/db-policy/config.env"
	ln -s "$BATS_TEST_TMPDIR/outside/target.env" "$WORK/services/db-policy/config.env"
	git -C "$WORK" add -A && git -C "$WORK" commit -q -m "a link" && git -C "$WORK" push -q origin main
	run -0 --separate-stderr "${F[@]}" <<< "$(verdict V1 inc-1 config db-policy '{"key":"LOG_LEVEL","value":"debug"}')"
	[ "$(actions | jq -r .status)" = failed ]
	[[ $(actions | jq -r .detail) == *"services/db-policy/config.env leads out of the repository through a symbolic link" ]]
	[ "$(cat "$BATS_TEST_TMPDIR/outside/target.env")" = "LOG_LEVEL=info" ]
	assert_nothing_made
}

@test "a failed push leaves no commit, branch or worktree behind" {
	printf '#!/bin/sh\necho "denied by policy" >&2\nexit 1\n' > "$REMOTE/hooks/pre-receive"
	chmod +x "$REMOTE/hooks/pre-receive"
	run -0 --separate-stderr "${F[@]}" <<< "$(verdict V1 inc-1 scale quote-api '{"replicas":3}')"
	a=$(actions)
	[ "$(jq -r .status <<< "$a")" = failed ]
	[[ $(jq -r .detail <<< "$a") == "git push: "* ]]
	[ "$(jq -c '[.branch, .commit]' <<< "$a")" = '[null,null]' ]
	[[ $stderr == *"sre-fix: inc-1: git push: "* ]]
	assert_nothing_made
	# The next approval is not blocked by it.
	rm "$REMOTE/hooks/pre-receive"
	run -0 --separate-stderr "${F[@]}" <<< "$(verdict V2 inc-1 scale quote-api '{"replicas":3}')"
	[ "$(actions | jq -r .status)" = committed ]
}

@test "--dry-run and dry-run verdicts only show the diff" {
	run -0 --separate-stderr "${F[@]}" <<< "$(verdict V1 inc-1 scale quote-api '{"replicas":4}' | jq -c 'if .type == "verdict" then .dry_run = true else . end' | sign_events)"
	a=$(actions)
	[ "$(jq -r .status <<< "$a")" = dry_run ]
	[ "$(jq -r .detail <<< "$a")" = "dry run: would scale quote-api from 2 to 4 replicas" ]
	jq -r .diff <<< "$a" | grep -x -- '+  replicas: 4'
	[[ $stderr == *"+  replicas: 4"* ]]
	run -0 --separate-stderr "${F[@]}" --dry-run <<< "$(verdict V2 inc-2 rollback quote-api '{}')"
	[ "$(actions | jq -r .status)" = dry_run ]
	assert_nothing_made
}

@test "nothing to change, observe, vetoes and bad incident ids" {
	run -0 --separate-stderr "${F[@]}" < <(
	    verdict V1 inc-1 scale quote-api '{"replicas":2}'
	    verdict V2 inc-2 observe quote-api '{}'
	    verdict V3 inc-3 scale quote-api '{"replicas":3}' 1700000001100 veto
	    verdict V4 '../x' scale quote-api '{"replicas":3}'
	    verdict V5 inc-5 scale quote-api '{"replicas":0}')
	actions | jq -r '[.status, .detail] | @tsv' > "$BATS_TEST_TMPDIR/got"
	cat > "$BATS_TEST_TMPDIR/want" <<-'EOF'
	skipped	quote-api already runs 2 replicas
	skipped	observe: no change; watching for recovery within 3m
	failed	the incident id cannot name a branch
	failed	scale quote-api to 0 replicas: never to zero
	EOF
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	assert_nothing_made
}

@test "no recovery within --verify-window: the fix reverts itself" {
	run -0 --separate-stderr "${F[@]}" --verify-window 10m < <(
	    verdict V1 inc-1 scale quote-api '{"replicas":4}' 1700000000000
	    tick 1700000300000)
	[ "$(actions | jq -r .status)" = committed ]
	# A restart keeps the watch; event time passes the window.
	run -0 --separate-stderr "${F[@]}" --verify-window 10m < <(tick 1700000600001)
	a=$(actions)
	[ "$(jq -r .status <<< "$a")" = reverted ]
	[ "$(jq -r .detail <<< "$a")" = "no recovery within 10m of the fix: reverted $(git -C "$WORK" rev-parse sre/inc-1~1 | cut -c1-12); the loop tries the next remedy" ]
	[ "$(git -C "$REMOTE" rev-list --count main..sre/inc-1)" -eq 2 ]
	[ -z "$(git -C "$REMOTE" diff main sre/inc-1)" ]
	git -C "$REMOTE" log -1 --format=%B sre/inc-1 | git interpret-trailers --parse | grep -x 'SRE-Incident: inc-1'
	# Once only.
	run -0 --separate-stderr "${F[@]}" < <(tick 1700009999999)
	[ -z "$(actions)" ]
}

@test "a recovery within the window keeps the fix" {
	run -0 --separate-stderr "${F[@]}" --verify-window 10m < <(
	    verdict V1 inc-1 scale quote-api '{"replicas":4}' 1700000000000
	    recovery R1 inc-1 1700000300000
	    tick 1700009000000)
	[ "$(actions | jq -r .status)" = committed ]
	[ "$(git -C "$REMOTE" rev-list --count main..sre/inc-1)" -eq 1 ]
	# observe: not recovered in time is a failed action, for a human.
	run -0 --separate-stderr "${F[@]}" --verify-window 5m < <(
	    verdict V2 inc-2 observe quote-api '{}' 1700010000000
	    tick 1700010300000)
	[ "$(actions | jq -r .status | tr '\n' ' ')" = "skipped failed " ]
	[ "$(actions | tail -1 | jq -r .detail)" = "observe: incident inc-2 did not recover within 5m" ]
}

@test "--auto-merge without GitHub pushes the fix to the base, and the revert too" {
	run -0 --separate-stderr "${F[@]}" --auto-merge < <(verdict V1 inc-1 scale quote-api '{"replicas":4}' 1700000000000)
	a=$(actions)
	[ "$(jq -r .merged <<< "$a")" = true ]
	[ "$(git -C "$REMOTE" rev-parse main)" = "$(jq -r .commit <<< "$a")" ]
	run -0 --separate-stderr "${F[@]}" --auto-merge < <(tick 1700000700000)
	[ "$(actions | jq -r .status)" = reverted ]
	[ "$(actions | jq -r .branch)" = sre/inc-1-revert ]
	[ "$(git -C "$REMOTE" rev-parse main)" = "$(actions | jq -r .commit)" ]
	git -C "$REMOTE" show main:services/quote-api/deployment.yaml | grep -x '  replicas: 2'
}

@test "concurrent sre-fix processes on one repository and state do not collide" {
	for i in 1 2 3; do
		sre-fix --repo "$WORK" --state-dir "$STATE" --verify-window 1h \
		    < <(verdict V$i inc-$i restart quote-api '{}' $((1700000000000 + i * 60000))) \
		    > "$BATS_TEST_TMPDIR/out.$i" 2> "$BATS_TEST_TMPDIR/err.$i" &
	done
	wait
	for i in 1 2 3; do
		[ "$(jq -r 'select(.type == "action") | .status' "$BATS_TEST_TMPDIR/out.$i")" = committed ]
		check_sanitizers "$BATS_TEST_TMPDIR/err.$i"
	done
	[ "$(git -C "$REMOTE" branch --list 'sre/*' | wc -l)" -eq 3 ]
	# Every fix is watched: all three are in the shared record.
	run -0 --separate-stderr "${F[@]}" --verify-window 1h < <(tick 1700004000000)
	[ "$(actions | jq -r .status | sort | uniq -c | tr -s ' ')" = " 3 reverted" ]
	[ "$(git -C "$WORK" worktree list | wc -l)" -eq 1 ]
}

@test "a repository given as a URL is cloned into the state directory" {
	run -0 --separate-stderr sre-fix --repo "file://$REMOTE" --state-dir "$STATE" <<< "$(verdict V1 inc-1 rollback quote-api '{}')"
	[ "$(actions | jq -r .status)" = committed ]
	[ "$(actions | jq -r .repo)" = "file://$REMOTE" ]
	[ "$(git -C "$REMOTE" rev-list --count main..sre/inc-1)" -eq 1 ]
	ls -d "$STATE"/repos/*.git
}

@test "--no-push and a repository without a remote commit on a local branch" {
	git -C "$WORK" remote remove origin
	run -0 --separate-stderr "${F[@]}" <<< "$(verdict V1 inc-1 scale quote-api '{"replicas":3}')"
	[ "$(actions | jq -r .status)" = committed ]
	[ "$(actions | jq -r .detail)" = "scale quote-api from 2 to 3 replicas" ]
	git -C "$WORK" show sre/inc-1:services/quote-api/deployment.yaml | grep -x '  replicas: 3'
	[ -z "$(git -C "$WORK" status --porcelain)" ]
}

@test "event text cannot forge lines or trailers in the commit message" {
	v=$(verdict V1 inc-1 scale quote-api '{"replicas":3}' | jq -c 'if .type == "verdict" then .root_causes[0].reason = "bad\nSRE-Incident: someone-else\n" else . end' | sign_events)
	run -0 --separate-stderr "${F[@]}" <<< "$v"
	git -C "$REMOTE" log -1 --format=%B sre/inc-1 > "$BATS_TEST_TMPDIR/msg"
	[ "$(git interpret-trailers --parse < "$BATS_TEST_TMPDIR/msg")" = "SRE-Incident: inc-1" ]
	[ "$(grep -c 'SRE-Incident' "$BATS_TEST_TMPDIR/msg")" -eq 2 ]
}

# ---- GitHub ---------------------------------------------------------

hub_env() {
	export GITHUB_PERSONAL_ACCESS_TOKEN=$TOKEN GITHUB_API_URL=$HUB
}

@test "GitHub: an issue and a pull request, every request checked, labels, body" {
	start_hub
	hub_env
	run -0 --separate-stderr "${F[@]}" --github acme/gitops <<< "$(verdict V1 inc-1 rollback quote-api '{}')"
	a=$(actions)
	[ "$(jq -c '[.status, .pr_url, .issue_url, .branch]' <<< "$a")" = \
	    '["pr_opened","https://github.example/acme/gitops/pull/2","https://github.example/acme/gitops/issues/1","sre/inc-1"]' ]
	# Every request authenticated, with the headers GitHub wants.
	[ "$(jq -r '.auth' "$HUB_LOG" | sort -u)" = ok ]
	[ "$(jq -r '.accept' "$HUB_LOG" | sort -u)" = application/vnd.github+json ]
	[[ $(jq -r '.ua' "$HUB_LOG" | sort -u) == sre-fix/* ]]
	jq -r '"\(.method) \(.path)"' "$HUB_LOG" > "$BATS_TEST_TMPDIR/calls"
	printf '%s\n' "POST /repos/acme/gitops/issues" "POST /repos/acme/gitops/pulls" \
	    "POST /repos/acme/gitops/issues/2/labels" | diff -u - "$BATS_TEST_TMPDIR/calls"
	pr=$(jq -c 'select(.path == "/repos/acme/gitops/pulls") | .body' "$HUB_LOG")
	[ "$(jq -c '[.head, .base]' <<< "$pr")" = '["sre/inc-1","main"]' ]
	[[ $(jq -r .title <<< "$pr") == "[sre] roll quote-api back: revert "*"(incident inc-1)" ]]
	jq -r .body <<< "$pr" | grep -x 'Closes #1'
	jq -r .body <<< "$pr" | grep -F '**Root cause:** ` quote-api ` ` GET /quote ` (score 0.90): ` errors since the deploy `'
	jq -r .body <<< "$pr" | grep -x 'SRE-Incident: inc-1'
	[ "$(jq -c 'select(.path == "/repos/acme/gitops/issues") | .body.labels' "$HUB_LOG")" = '["sre-space","incident"]' ]
	[ "$(git -C "$REMOTE" rev-list --count main..sre/inc-1)" -eq 1 ]
}

@test "GitHub: the token is never written anywhere" {
	start_hub
	hub_env
	run_to_files "${F[@]}" -vv --github acme/gitops --verify-window 1m < <(
	    verdict V1 inc-1 scale quote-api '{"replicas":3}' 1700000000000
	    verdict V2 inc-2 scale nope '{"replicas":3}' 1700000000000
	    tick 1700000100000)
	[ "$status" -eq 0 ]
	[ "$(jq -r 'select(.type == "action") | .status' "$BATS_TEST_TMPDIR/out" | tr '\n' ' ')" = "pr_opened failed reverted " ]
	! grep -rF "$TOKEN" "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err" "$STATE" "$WORK" "$REMOTE"
	! git -C "$REMOTE" log --all -p | grep -F "$TOKEN"
	! grep -F "$TOKEN" "$HUB_LOG"
	# Nor does a failing API call show it.
	stop_hub
	run_to_files "${F[@]}" -vv --github acme/gitops < <(verdict V3 inc-3 scale pricing-engine '{"replicas":4}')
	grep -F '"status":"failed"' "$BATS_TEST_TMPDIR/out"
	! grep -F "$TOKEN" "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err"
}

@test "GitHub: the same approval twice finds the pull request and opens no other" {
	start_hub
	hub_env
	run -0 --separate-stderr "${F[@]}" --github acme/gitops <<< "$(verdict V1 inc-1 scale quote-api '{"replicas":3}')"
	url=$(actions | jq -r .pr_url)
	run -0 --separate-stderr sre-fix --repo "$WORK" --state-dir "$BATS_TEST_TMPDIR/fresh" --github acme/gitops <<< "$(verdict V2 inc-1 scale quote-api '{"replicas":3}')"
	[ "$(actions | jq -c '[.status, .pr_url]')" = "[\"skipped\",\"$url\"]" ]
	[ "$(jq -r 'select(.method == "POST" and .path == "/repos/acme/gitops/pulls") | .path' "$HUB_LOG" | wc -l)" -eq 1 ]
	grep -F '"query": {"head": "acme:sre/inc-1", "state": "all"}' "$HUB_LOG"
}

@test "GitHub: a failed pull request undoes the branch and closes the issue" {
	start_hub --fail "POST /pulls" --fail-status 500
	hub_env
	run -0 --separate-stderr "${F[@]}" --github acme/gitops <<< "$(verdict V1 inc-1 scale quote-api '{"replicas":3}')"
	a=$(actions)
	[ "$(jq -r .status <<< "$a")" = failed ]
	[ "$(jq -r .detail <<< "$a")" = "GitHub POST /pulls: HTTP 500: injected failure" ]
	# Retried with backoff before giving up.
	[ "$(jq -r 'select(.path == "/repos/acme/gitops/pulls") | .method' "$HUB_LOG" | wc -l)" -eq 4 ]
	jq -e 'select(.method == "PATCH" and .path == "/repos/acme/gitops/issues/1" and .body.state == "closed")' "$HUB_LOG"
	assert_nothing_made
}

@test "GitHub: rate limits and Retry-After are honoured" {
	start_hub --ratelimit-once
	hub_env
	run -0 --separate-stderr "${F[@]}" --github acme/gitops <<< "$(verdict V1 inc-1 scale quote-api '{"replicas":3}')"
	[ "$(actions | jq -r .status)" = pr_opened ]
	[ "$(jq -r 'select(.path == "/repos/acme/gitops/issues") | .method' "$HUB_LOG" | wc -l)" -eq 2 ]
	stop_hub
	start_hub --retry-after-once
	hub_env
	run -0 --separate-stderr "${F[@]}" --github acme/gitops <<< "$(verdict V2 inc-2 scale pricing-engine '{"replicas":4}')"
	[ "$(actions | jq -r .status)" = pr_opened ]
}

@test "GitHub: --auto-merge merges; an unrecovered merged fix gets a revert pull request" {
	start_hub
	hub_env
	run -0 --separate-stderr "${F[@]}" --github acme/gitops --auto-merge < <(
	    verdict V1 inc-1 scale quote-api '{"replicas":3}' 1700000000000)
	[ "$(actions | jq -c '[.status, .merged]')" = '["pr_opened",true]' ]
	jq -e 'select(.method == "PUT" and .path == "/repos/acme/gitops/pulls/2/merge" and .body.merge_method == "merge")' "$HUB_LOG"
	# The stand-in does not move main: the revert starts from main's tip.
	git -C "$WORK" push -q origin sre/inc-1:main
	run -0 --separate-stderr "${F[@]}" --github acme/gitops --auto-merge < <(tick 1700000700000)
	[ "$(actions | jq -c '[.status, .branch, .pr_url]')" = '["reverted","sre/inc-1-revert","https://github.example/acme/gitops/pull/3"]' ]
	[ "$(jq -c 'select(.path == "/repos/acme/gitops/pulls" and .method == "POST") | .body.head' "$HUB_LOG" | tail -1)" = '"sre/inc-1-revert"' ]
	git -C "$REMOTE" show sre/inc-1-revert:services/quote-api/deployment.yaml | grep -x '  replicas: 2'
}

@test "GitHub: an unmerged fix that did not help is reverted on its branch and its pull request closed" {
	start_hub
	hub_env
	run -0 --separate-stderr "${F[@]}" --github acme/gitops < <(
	    verdict V1 inc-1 scale quote-api '{"replicas":3}' 1700000000000
	    tick 1700000600000)
	[ "$(actions | jq -r .status | tr '\n' ' ')" = "pr_opened reverted " ]
	[ "$(actions | tail -1 | jq -r .pr_url)" = https://github.example/acme/gitops/pull/2 ]
	jq -c 'select(.method == "POST" and (.path | endswith("/comments")))' "$HUB_LOG" | grep -F 'no recovery within 3m'
	jq -e 'select(.method == "PATCH" and .path == "/repos/acme/gitops/pulls/2" and .body.state == "closed")' "$HUB_LOG"
	[ -z "$(git -C "$REMOTE" diff main sre/inc-1)" ]
}

@test "a missing input file exits 66; a full disk exits 74" {
	run -66 --separate-stderr "${F[@]}" --in file:/nonexistent/events.ndjson
	[ -w /dev/full ] || skip "no /dev/full"
	verdict V1 inc-1 scale quote-api '{"replicas":3}' > "$BATS_TEST_TMPDIR/in"
	run -74 --separate-stderr "${F[@]}" --in "file:$BATS_TEST_TMPDIR/in" --out file:/dev/full
}
