/*
 * kafka-mock: a Kafka cluster for tests, from librdkafka's own mock
 * cluster (rdkafka_mock.h), which speaks the real Kafka protocol on
 * loopback to any client.
 *
 *	kafka-mock [-Dh] [-b brokers] [-p partitions] [topic ...]
 *
 * `make install' installs it as sre-kafka-mock, for trying the Kafka
 * URLs of sre-bus(1) without a broker (its section "Kafka without a
 * broker").  -h prints the usage.
 * Creates the topics, prints the bootstrap servers ("127.0.0.1:PORT") on
 * one line of stdout, then serves until SIGTERM or SIGINT.  SIGUSR1 takes
 * every broker down (connections dropped, none accepted), SIGUSR2 brings
 * them up again; -D starts them down.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t done, down, up;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		down = 1;
	else if (sig == SIGUSR2)
		up = 1;
	else
		done = 1;
}

static void
set_all(rd_kafka_mock_cluster_t *mc, int brokers, int isup)
{
	int b;

	for (b = 1; b <= brokers; b++)
		if (isup)
			rd_kafka_mock_broker_set_up(mc, b);
		else
			rd_kafka_mock_broker_set_down(mc, b);
}

static void
quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

int
main(int argc, char *argv[])
{
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_conf_t *conf;
	struct sigaction sa;
	int ch, brokers = 1, parts = 1, i, startdown = 0;
	char err[256];
	rd_kafka_t *rk;

	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
	    argv[0];

	while ((ch = getopt(argc, argv, "Db:hp:")) != -1) {
		switch (ch) {
		case 'h':
			printf("usage: %s [-Dh] [-b brokers] [-p partitions] "
			    "[topic ...]\n", name);
			return 0;
		case 'D':
			startdown = 1;
			break;
		case 'b':
			brokers = (int)strtol(optarg, NULL, 10);
			break;
		case 'p':
			parts = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: %s [-Dh] [-b brokers] "
			    "[-p partitions] [topic ...]\n", name);
			return 64;
		}
	}
	if (brokers < 1 || brokers > 5 || parts < 1 || parts > 64) {
		fprintf(stderr, "kafka-mock: 1-5 brokers, 1-64 partitions\n");
		return 64;
	}
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, quiet);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "kafka-mock: %s\n", err);
		return 70;
	}
	if ((mc = rd_kafka_mock_cluster_new(rk, brokers)) == NULL) {
		fprintf(stderr, "kafka-mock: cannot start the mock cluster\n");
		return 70;
	}
	for (i = optind; i < argc; i++)
		rd_kafka_mock_topic_create(mc, argv[i], parts, 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	if (startdown)
		set_all(mc, brokers, 0);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!done) {
		pause();
		if (down) {
			down = 0;
			set_all(mc, brokers, 0);
		}
		if (up) {
			up = 0;
			set_all(mc, brokers, 1);
		}
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
