#!/bin/sh
# pipelines/kafka.sh: the loop over Kafka topics, each tool its own process
# (pipelines/bus.sh says how; sre(7) lists the topics).
#
#   SRE_BUS=kafka://127.0.0.1:9092 SRE_SCOUTS=3 pipelines/kafka.sh
#
# SRE_BUS defaults to kafka://127.0.0.1:9092.  Several scouts split the
# telemetry topic's partitions: give it at least SRE_SCOUTS of them.  A
# scout that holds several partitions reads them batch by batch: live
# telemetry stays in time order to within a fetch, but a recording pushed
# into the topic at once does not; replay it at its pace (sre-replay(1))
# or give each scout one partition.
SRE_BUS=${SRE_BUS:-kafka://127.0.0.1:9092}
export SRE_BUS
exec "$(dirname "$0")/bus.sh" "$@"
