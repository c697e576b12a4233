/*
 * kafka-mock: a Kafka cluster for tests, from librdkafka's own mock
 * cluster (rdkafka_mock.h), which speaks the real Kafka protocol on
 * loopback to any client.
 *
 *	kafka-mock [-b brokers] [-p partitions] [topic ...]
 *
 * Creates the topics, prints the bootstrap servers ("127.0.0.1:PORT") on
 * one line of stdout, then serves until SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t done;

static void
on_signal(int sig)
{
	(void)sig;
	done = 1;
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
	int ch, brokers = 1, parts = 1, i;
	char err[256];
	rd_kafka_t *rk;

	while ((ch = getopt(argc, argv, "b:p:")) != -1) {
		switch (ch) {
		case 'b':
			brokers = (int)strtol(optarg, NULL, 10);
			break;
		case 'p':
			parts = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: kafka-mock [-b brokers] "
			    "[-p partitions] [topic ...]\n");
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
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!done)
		pause();
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
