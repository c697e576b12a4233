#!/bin/sh
# Install the Debian packages listed in the given files that are not
# installed yet.  A no-op when everything is present; apt-get runs only
# when something is missing.
set -eu
missing=
for f in "$@"; do
	for p in $(grep -v '^#' "$f"); do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed'; then
			missing="$missing $p"
		fi
	done
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
