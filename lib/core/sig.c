/* sig.c: stop flags for SIGTERM/SIGINT; SIGPIPE ignored. */
#include <signal.h>
#include <string.h>

#include "sig.h"

static volatile sig_atomic_t stop_sig;

static void
on_stop(int sig)
{
	stop_sig = sig;
}

void
sre_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sa.sa_flags = 0;	/* no SA_RESTART: blocking reads see EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int
sre_stopping(void)
{
	return stop_sig != 0;
}

int
sre_stop_signal(void)
{
	return stop_sig;
}

void
sre_request_stop(void)
{
	stop_sig = -1;
}
