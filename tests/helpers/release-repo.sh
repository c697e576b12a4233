# shellcheck shell=bash
# tests/helpers/release-repo.sh: the GitOps checkout the release recording
# (examples/traces/release.ndjson.gz) is fixed against, for the pipeline
# suites (load helpers/release-repo.sh after helper).
#
#   gitops_repo   $REPO, a checkout of examples/gitops with quote-api
#                 1.4.0 deployed on top, pushed to the bare remote $REMOTE

# shellcheck disable=SC2034 # REPO and REMOTE are for the suites
gitops_repo() {
	REMOTE=$BATS_TEST_TMPDIR/remote.git
	REPO=$BATS_TEST_TMPDIR/gitops
	git init -q --bare -b main "$REMOTE"
	mkdir -p "$REPO"
	cp -R "$SRE_ROOT/examples/gitops/." "$REPO/"
	git -C "$REPO" init -q -b main
	git -C "$REPO" add -A
	git -C "$REPO" -c user.name=t -c user.email=t@localhost commit -q -m initial
	sed -i 's|/quote-api:1\.3\.4$|/quote-api:1.4.0|' \
	    "$REPO/services/quote-api/deployment.yaml"
	git -C "$REPO" -c user.name=t -c user.email=t@localhost commit -q -a \
	    -m 'quote-api 1.4.0'
	git -C "$REPO" remote add origin "$REMOTE"
	git -C "$REPO" push -q origin main
}
