#!/bin/sh
# pipelines/redis.sh: the loop over Redis Streams, each tool its own
# process (pipelines/bus.sh says how; sre(7) lists the streams).
#
#   SRE_BUS=redis://127.0.0.1:6379 SRE_GITOPS_REPO=/srv/gitops \
#       pipelines/redis.sh
#
# SRE_BUS defaults to redis://127.0.0.1:6379.
SRE_BUS=${SRE_BUS:-redis://127.0.0.1:6379}
export SRE_BUS
exec "$(dirname "$0")/bus.sh" "$@"
