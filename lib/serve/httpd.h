/*
 * httpd.h: sre-serve over libmicrohttpd.  One thread per connection (a
 * slow client holds only its own), the writer thread for the output and,
 * with an input bus, the reader thread for /events.  Each request's first
 * call is checked (route.h), its body gathered up to conf.max_body, and
 * its answer built by the route's module (ingest, api, sse, metrics,
 * static) and sent with the headers every answer carries.
 */
#ifndef SRE_SERVE_HTTPD_H
#define SRE_SERVE_HTTPD_H

#include <sys/socket.h>

#include "srv.h"

/* What the daemon is given beyond the server's conf. */
struct sre_httpd_opts {
	struct sockaddr_storage addr;	/* from sre_parse_listen */
	socklen_t addrlen;
	unsigned max_conn;	/* clients at once */
	unsigned timeout_s;	/* idle connections are closed */
	size_t max_header;	/* memory for a request's headers */
};

/*
 * Parse ADDR:PORT (an IPv4 address, or [IPv6]; port 0 to 65535) into ss
 * and *len.  0, or -1 when it is not one.
 */
int sre_parse_listen(const char *s, struct sockaddr_storage *ss,
    socklen_t *len);

/*
 * Listen as o says and start the writer (s->out must be open) and, when
 * s->in is set, the reader.  EX_OK; EX_UNAVAILABLE when it cannot listen,
 * EX_OSERR when a thread cannot start (err says which).
 */
int sre_srv_start(struct sre_srv *s, const struct sre_httpd_opts *o,
    char *err, size_t errlen);

/* The port the daemon listens on (the system's pick for port 0); 0 when
 * unknown. */
unsigned sre_srv_port(struct sre_srv *s);

/*
 * Drain: stop listening, let the requests in hand finish (streams see
 * sre_stopping() and end), write out what was queued and join the
 * threads.  Returns EX_OK, or EX_IOERR when the output failed.
 */
int sre_srv_stop(struct sre_srv *s);

#endif
