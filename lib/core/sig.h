/*
 * sig.h: SIGTERM and SIGINT ask a tool to stop after the line in hand.
 *
 * The handlers only set a flag.  They are installed without SA_RESTART,
 * so a blocking read(2) or poll(2) returns EINTR and the reader of line.h
 * reports SRE_READ_STOP; the tool then flushes, acknowledges and exits 0.
 * SIGPIPE is ignored: a closed stdout shows up as EPIPE from write(2),
 * which the writer turns into a quiet end.
 */
#ifndef SRE_SIG_H
#define SRE_SIG_H

/* Install the handlers (sre_init() does it). */
void sre_signals_init(void);

/* Non-zero once SIGTERM or SIGINT has arrived. */
int sre_stopping(void);

/* The signal that asked to stop, 0 if none. */
int sre_stop_signal(void);

/* Ask the loop to stop, as a signal would (tests, fatal paths). */
void sre_request_stop(void);

#endif
