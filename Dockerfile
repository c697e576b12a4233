# SRE-Space: build and test on Debian 12, ship the tools on a slim image.
# The package lists live in deps/ and are shared with `make deps`.

FROM debian:12 AS build
COPY deps/ /src/deps/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(grep -v '^#' /src/deps/build.txt) \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
WORKDIR /src
RUN make clean && make check && make install DESTDIR=/out PREFIX=/usr/local \
 && mkdir -p /out/usr/local/share/sre \
 && cp -R pipelines examples/policies /out/usr/local/share/sre/

FROM debian:12-slim
COPY deps/runtime.txt /tmp/runtime.txt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(grep -v '^#' /tmp/runtime.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime.txt \
 && useradd --system --create-home --home-dir /var/lib/sre --shell /usr/sbin/nologin sre
COPY --from=build /out/usr/local/ /usr/local/
USER sre
WORKDIR /var/lib/sre
ENV SRE_STATE_DIR=/var/lib/sre/state ENV=local \
    SRE_GITOPS_REPO=/var/lib/sre/gitops
# The state (the LMDB store, the control key, post-mortems) outlives the
# container: a named volume unless one is mounted there.
RUN mkdir -p /var/lib/sre/state
VOLUME ["/var/lib/sre/state"]
# The local pipeline: telemetry in on stdin, the loop's events out on
# stdout, a GitOps checkout mounted at /var/lib/sre/gitops:
#   docker run -i -v $PWD/gitops:/var/lib/sre/gitops sre-space < traces.ndjson
CMD ["sh", "/usr/local/share/sre/pipelines/local.sh"]
