/* SPDX-License-Identifier: MIT */
/*
 * bench_mqtt_ref: the reference for tools/bench/bench_mqtt, a plain
 * libmosquitto publisher as anyone would write it: TLS with a client
 * certificate, QoS 1, an in-flight window (default 100), one topic, N
 * payloads of a given size; it waits for every PUBACK. Prints, on stdout,
 * the CONNACK and last-PUBACK wall clock times and the rate in messages/s:
 *
 *   connected 1700000000.123456789
 *   done 1700000002.123456789 100000 messages of 412 B in 2.000 s = 50000 msg/s
 *
 *   bench_mqtt_ref --port P --cafile CA --cert CRT --key KEY [--host H]
 *                  [--topic T] [--count N] [--size BYTES] [--inflight W] [--v311]
 *
 * The payload is JSON of exactly --size bytes carrying the event schema name
 * (the bench's subscriber counts events by it). Not a test; not installed.
 */
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ref {
	const char *topic;
	char *payload;
	int size;
	long count;
	int window;
	long sent;
	long acked;
	bool connected;
	bool failed;
	struct timespec t_conn;
};

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Publishes while the window has room; false on error. */
static bool ref_fill(struct mosquitto *m, struct ref *r)
{
	while (r->sent < r->count && r->sent - r->acked < r->window) {
		int rc = mosquitto_publish(m, NULL, r->topic, r->size, r->payload, 1, false);

		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "bench_mqtt_ref: publish: %s\n", mosquitto_strerror(rc));
			r->failed = true;
			return false;
		}
		r->sent++;
	}
	return true;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
		       const mosquitto_property *props)
{
	struct ref *r = obj;

	(void)flags;
	(void)props;
	if (rc) {
		fprintf(stderr, "bench_mqtt_ref: connection refused: %s\n",
			mosquitto_reason_string(rc));
		r->failed = true;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &r->t_conn);
	r->connected = true;
	printf("connected %lld.%09ld\n", (long long)r->t_conn.tv_sec, r->t_conn.tv_nsec);
	fflush(stdout);
	ref_fill(m, r);
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
		       const mosquitto_property *props)
{
	struct ref *r = obj;

	(void)mid;
	(void)props;
	if (reason >= 0x80) {
		fprintf(stderr, "bench_mqtt_ref: PUBACK: %s\n", mosquitto_reason_string(reason));
		r->failed = true;
		return;
	}
	r->acked++;
	ref_fill(m, r);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc,
			  const mosquitto_property *props)
{
	struct ref *r = obj;

	(void)m;
	(void)props;
	if (r->acked < r->count) {
		fprintf(stderr, "bench_mqtt_ref: disconnected: %s\n", mosquitto_strerror(rc));
		r->failed = true;
	}
}

/* JSON of exactly size bytes: {"schema":"storelink.event/1","pad":"xxx…"} */
static char *make_payload(int size)
{
	static const char head[] = "{\"schema\":\"storelink.event/1\",\"pad\":\"";
	static const char tail[] = "\"}";
	size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
	char *p;

	if (size < (int)(hl + tl))
		return NULL;
	p = malloc((size_t)size);
	if (!p)
		return NULL;
	memcpy(p, head, hl);
	memset(p + hl, 'x', (size_t)size - hl - tl);
	memcpy(p + size - tl, tail, tl);
	return p;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_mqtt_ref --port P --cafile CA --cert CRT --key KEY "
		"[--host H] [--topic T] [--count N] [--size BYTES] [--inflight W] [--v311]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "cafile", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "topic", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "inflight", required_argument, NULL, 'w' },
		{ "v311", no_argument, NULL, '3' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *ca = NULL, *cert = NULL, *key = NULL;
	struct ref r = { .topic = "storelink/bench/ref", .count = 100000, .size = 400,
			 .window = 100 };
	int port = 0, proto = MQTT_PROTOCOL_V5, opt, rc, status = 1;
	struct mosquitto *m = NULL;
	struct timespec t_done;
	double dt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'a':
			ca = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 't':
			r.topic = optarg;
			break;
		case 'n':
			r.count = atol(optarg);
			break;
		case 's':
			r.size = atoi(optarg);
			break;
		case 'w':
			r.window = atoi(optarg);
			break;
		case '3':
			proto = MQTT_PROTOCOL_V311;
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || !ca || !cert || !key || r.count < 1 || r.window < 1 || r.window > 65535)
		usage();
	r.payload = make_payload(r.size);
	if (!r.payload) {
		fprintf(stderr, "bench_mqtt_ref: --size too small or out of memory\n");
		return 1;
	}

	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, &r);
	if (!m)
		goto out;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, proto);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_max_inflight_messages_set(m, (unsigned)r.window);
	mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, r.window);
	mosquitto_connect_v5_callback_set(m, on_connect);
	mosquitto_publish_v5_callback_set(m, on_publish);
	mosquitto_disconnect_v5_callback_set(m, on_disconnect);
	rc = mosquitto_tls_set(m, ca, NULL, cert, key, NULL);
	if (!rc)
		rc = mosquitto_tls_opts_set(m, 1 /* SSL_VERIFY_PEER */, "tlsv1.2", NULL);
	if (!rc)
		rc = mosquitto_connect(m, host, port, 60);
	if (rc) {
		fprintf(stderr, "bench_mqtt_ref: connect %s:%d: %s\n", host, port,
			rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		goto out;
	}
	while (!r.failed && r.acked < r.count) {
		rc = mosquitto_loop(m, 1000, 1);
		if (rc) {
			fprintf(stderr, "bench_mqtt_ref: loop: %s\n", mosquitto_strerror(rc));
			goto out;
		}
	}
	if (r.failed)
		goto out;
	clock_gettime(CLOCK_REALTIME, &t_done);
	dt = ts_diff(&r.t_conn, &t_done);
	printf("done %lld.%09ld %ld messages of %d B in %.3f s = %.0f msg/s\n",
	       (long long)t_done.tv_sec, t_done.tv_nsec, r.acked, r.size, dt,
	       dt > 0 ? (double)r.acked / dt : 0.0);
	fflush(stdout);
	mosquitto_disconnect(m);
	status = 0;
out:
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	free(r.payload);
	return status;
}
