/* subproc.c: posix_spawn with pipes, an environment and a time limit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "subproc.h"

extern char **environ;

#define OUT_MAX_DEFAULT (16u * 1024 * 1024)

struct cap {
	char *buf;
	size_t len, cap, max;
};

static int
cap_add(struct cap *c, const char *p, size_t n)
{
	if (c->len + n > c->max)
		n = c->max - c->len;	/* keep the head, drain the rest */
	if (n == 0)
		return 0;
	if (c->len + n + 1 > c->cap) {
		size_t nc = c->cap ? c->cap : 4096;
		char *nb;

		while (nc < c->len + n + 1)
			nc *= 2;
		if ((nb = realloc(c->buf, nc)) == NULL)
			return -1;
		c->buf = nb;
		c->cap = nc;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return 0;
}

static char *
cap_take(struct cap *c, size_t *len)
{
	char *b = c->buf;

	if (b == NULL && (b = calloc(1, 1)) == NULL)
		return NULL;
	*len = c->len;
	c->buf = NULL;
	return b;
}

static int
name_matches(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static int
listed(const char *entry, const char *const *names, int with_value)
{
	size_t n;

	if (names == NULL)
		return 0;
	for (; *names != NULL; names++) {
		if (!with_value) {
			if (name_matches(entry, *names))
				return 1;
			continue;
		}
		n = strcspn(*names, "=");
		if (strncmp(entry, *names, n) == 0 && entry[n] == '=')
			return 1;
	}
	return 0;
}

/*
 * Secrets our tools read from the environment.  No child needs them (git
 * is given no credential through the environment, sendmail none), so
 * none inherits them unless the caller sets one on purpose.
 */
static const char *const secrets[] = {
	"GITHUB_PERSONAL_ACCESS_TOKEN", "GITHUB_TOKEN", "GH_TOKEN",
	"OPENAI_API_KEY", "SRE_CONTROL_KEY", "SRE_API_TOKEN",
	"SRE_INGEST_TOKEN", "SRE_WEBHOOK_URL", NULL
};

/* The child's environment: ours, minus secrets and what is unset or
 * replaced. */
static char **
child_env(const struct sre_subproc *sp)
{
	size_t n = 0, k = 0, i;
	char **env;

	for (i = 0; environ != NULL && environ[i] != NULL; i++)
		n++;
	for (i = 0; sp->env_set != NULL && sp->env_set[i] != NULL; i++)
		n++;
	if ((env = calloc(n + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; environ != NULL && environ[i] != NULL; i++)
		if (!listed(environ[i], secrets, 0) &&
		    !listed(environ[i], sp->env_unset, 0) &&
		    !listed(environ[i], sp->env_set, 1))
			env[k++] = environ[i];
	for (i = 0; sp->env_set != NULL && sp->env_set[i] != NULL; i++)
		env[k++] = (char *)sp->env_set[i];
	env[k] = NULL;
	return env;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

int
sre_subproc_run(const struct sre_subproc *sp, struct sre_subproc_result *r,
    char *err, size_t errlen)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct cap co = { 0 }, ce = { 0 };
	sigset_t none, dfl;
	char **env = NULL;
	size_t inoff = 0;
	int64_t deadline = 0;
	pid_t pid;
	int rc, st, ret = -1, fa_ok = 0, at_ok = 0;

	memset(r, 0, sizeof(*r));
	co.max = ce.max = sp->out_max ? sp->out_max : OUT_MAX_DEFAULT;
	if (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
	    (sp->in != NULL && pipe2(pin, O_CLOEXEC) < 0)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto done;
	}
	if ((env = child_env(sp)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto spawn_failed;
	fa_ok = 1;
	if (sp->in != NULL)
		rc = posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	else
		rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
		    O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	/* Descriptors of ours without close-on-exec stay out of git. */
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	if (rc == 0 && sp->cwd != NULL)
		rc = posix_spawn_file_actions_addchdir_np(&fa, sp->cwd);
	if (rc != 0)
		goto spawn_failed;
	if ((rc = posix_spawnattr_init(&at)) != 0)
		goto spawn_failed;
	at_ok = 1;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	if ((rc = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&at, &dfl)) != 0 ||
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF)) != 0)
		goto spawn_failed;
	rc = posix_spawnp(&pid, sp->argv[0], &fa, &at,
	    (char *const *)sp->argv, env);
	if (rc != 0) {
spawn_failed:
		snprintf(err, errlen, "%s: %s", sp->argv[0], strerror(rc));
		goto done;
	}
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	if (pin[1] >= 0) {
		fcntl(pin[1], F_SETFL, O_NONBLOCK);
		if (sp->inlen == 0)
			close_fd(&pin[1]);
	}
	if (sp->timeout_ms > 0)
		deadline = sre_mono_ms() + sp->timeout_ms;

	while (pout[0] >= 0 || perr[0] >= 0) {
		struct pollfd pfd[3];
		int n = 0, wait_ms = -1, i;
		char buf[8192];
		ssize_t got;

		if (pout[0] >= 0)
			pfd[n++] = (struct pollfd){ pout[0], POLLIN, 0 };
		if (perr[0] >= 0)
			pfd[n++] = (struct pollfd){ perr[0], POLLIN, 0 };
		if (pin[1] >= 0)
			pfd[n++] = (struct pollfd){ pin[1], POLLOUT, 0 };
		if (deadline) {
			int64_t left = deadline - sre_mono_ms();

			if (left <= 0) {
				kill(pid, SIGKILL);
				r->timed_out = 1;
				break;
			}
			wait_ms = (int)left;
		}
		if (poll(pfd, (nfds_t)n, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			goto done;
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == pin[1]) {
				got = write(pin[1], sp->in + inoff,
				    sp->inlen - inoff);
				if (got > 0)
					inoff += (size_t)got;
				if ((got < 0 && errno != EAGAIN &&
				    errno != EINTR) || inoff == sp->inlen)
					close_fd(&pin[1]);
				continue;
			}
			got = read(pfd[i].fd, buf, sizeof(buf));
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0) {
				if (pfd[i].fd == pout[0])
					close_fd(&pout[0]);
				else
					close_fd(&perr[0]);
				continue;
			}
			if (cap_add(pfd[i].fd == pout[0] ? &co : &ce, buf,
			    (size_t)got) < 0) {
				snprintf(err, errlen, "out of memory");
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
				goto done;
			}
		}
	}
	close_fd(&pin[1]);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			goto done;
		}
	}
	if (WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		r->status = 128 + WTERMSIG(st);
	else
		r->status = 255;
	ret = 0;
done:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	free(env);
	close_fd(&pin[0]);
	close_fd(&pin[1]);
	close_fd(&pout[0]);
	close_fd(&pout[1]);
	close_fd(&perr[0]);
	close_fd(&perr[1]);
	r->out = cap_take(&co, &r->outlen);
	r->err = cap_take(&ce, &r->errlen);
	free(co.buf);
	free(ce.buf);
	if (r->out == NULL || r->err == NULL) {
		sre_subproc_result_free(r);
		if (ret == 0)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	return ret;
}

void
sre_subproc_result_free(struct sre_subproc_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->outlen = r->errlen = 0;
}

char *
sre_subproc_firstline(const char *text, char *out, size_t outlen)
{
	size_t n;

	if (outlen == 0)
		return out;
	if (text == NULL)
		text = "";
	while (*text == '\n' || *text == ' ')
		text++;
	n = strcspn(text, "\n");
	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\r'))
		n--;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, text, n);
	out[n] = '\0';
	return out;
}
