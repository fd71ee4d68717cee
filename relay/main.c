/*
 * main.c: the command line, start-up, signals and the drain on shutdown.
 *
 * The main thread runs the main loop: outputs, the pipeline's stage 2,
 * the metrics endpoint and signals. Inputs run on worker threads
 * (server.c). On SIGTERM/SIGINT the relay stops accepting and reading,
 * hands over every frame already read, waits (up to shutdown_timeout) for
 * the outputs to deliver what is queued, then stops them and exits 0.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../config/config.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "output_core.h"
#include "pipeline.h"
#include "server.h"

/* How long outputs may take to stop once the drain is over. */
#define STOP_GRACE_MS 5000

static struct {
    uv_loop_t *loop;
    sr_config_t *cfg;
    sr_output_t **outputs;
    size_t n_outputs;
    size_t n_stopped;
    sr_pipeline_t *pipeline;
    sr_server_t *server;
    sr_http_t *http;
    uv_signal_t sig[4];
    uv_timer_t drain_timer;
    uint64_t drain_started;
    bool draining;
} app;

static void usage(FILE *f)
{
    fprintf(f, "usage: syslog-relay [-c FILE | --config FILE] [--check] [--version] [-h | --help]\n"
               "       syslog-relay --inspect-buffer DIR\n"
               "       syslog-relay --config-reference\n"
               "\n"
               "  -c, --config FILE     configuration file (YAML); without it, the embedded\n"
               "                        default: udp and tcp on 0.0.0.0:5514, JSON to stdout\n"
               "      --check           validate the configuration and exit\n"
               "      --version         print the version and exit\n"
               "      --inspect-buffer DIR  summarise an output's disk buffer and exit\n"
               "      --config-reference    print every configuration key (Markdown)\n");
}

static bool is_ready(void *arg)
{
    return !app.draining;
}

/* Load and validate; print every problem. Returns NULL on failure. */
static sr_config_t *load(const char *file)
{
    sr_cfg_ctx_t ctx;
    sr_config_t *cfg = NULL;
    size_t i;

    sr_cfg_ctx_init(&ctx, file ? file : "<default>");
    if (sr_config_load(file, &cfg, &ctx) < 0 || ctx.n_errors > 0) {
        for (i = 0; i < ctx.n_errors; i++) {
            fprintf(stderr, "%s\n", ctx.errors[i]);
        }
        if (cfg) {
            sr_config_free(cfg);
        }
        cfg = NULL;
    }
    sr_cfg_ctx_free(&ctx);
    return cfg;
}

static void on_output_stopped(sr_output_t *o)
{
    size_t i;

    if (++app.n_stopped < app.n_outputs) {
        return;
    }
    /* Everything is stopped: close what is left so the loop ends. */
    if (app.http) {
        sr_http_close(app.http);
        app.http = NULL;
    }
    sr_pipeline_close(app.pipeline);
    for (i = 0; i < SR_ARRAY_SIZE(app.sig); i++) {
        uv_close((uv_handle_t *)&app.sig[i], NULL);
    }
    uv_close((uv_handle_t *)&app.drain_timer, NULL);
}

/* Outputs had their time; one that still cannot stop (a write stuck on a
 * hung file system) must not keep the process alive forever. */
static void on_stop_deadline(uv_timer_t *t)
{
    size_t i;

    for (i = 0; i < app.n_outputs; i++) {
        size_t lost = sr_output_pending(app.outputs[i]);

        if (lost > 0) {
            sr_error("output %s \"%s\": %zu messages in flight not delivered; lost",
                     app.outputs[i]->desc->name, app.outputs[i]->name, lost);
        }
    }
    sr_error("outputs did not stop within %d s of shutdown_timeout; exiting anyway",
             STOP_GRACE_MS / 1000);
    _exit(1);
}

static void stop_outputs(void)
{
    size_t i;

    uv_timer_start(&app.drain_timer, on_stop_deadline, STOP_GRACE_MS, 0);
    uv_unref((uv_handle_t *)&app.drain_timer);

    for (i = 0; i < app.n_outputs; i++) {
        size_t lost = sr_output_discard(app.outputs[i], "shutdown");

        if (lost > 0) {
            sr_error("output %s \"%s\": %zu messages not delivered within shutdown_timeout; "
                     "dropped",
                     app.outputs[i]->desc->name, app.outputs[i]->name, lost);
        }
    }
    if (app.n_outputs == 0) {
        app.n_outputs = 1; /* so the single call below finishes */
        on_output_stopped(NULL);
        return;
    }
    for (i = 0; i < app.n_outputs; i++) {
        sr_output_stop(app.outputs[i], on_output_stopped);
    }
}

static void on_drain_tick(uv_timer_t *t)
{
    size_t i, pending = 0;

    sr_pipeline_drain(app.pipeline);
    for (i = 0; i < app.n_outputs; i++) {
        pending += sr_output_pending(app.outputs[i]);
    }
    if (pending > 0 && uv_now(app.loop) - app.drain_started < app.cfg->shutdown_timeout_ms) {
        return;
    }
    uv_timer_stop(t);
    stop_outputs();
}

static void drain(int signum)
{
    if (app.draining) {
        sr_warn("signal %d during shutdown; still delivering what is queued", signum);
        return;
    }
    app.draining = true;
    sr_info("received %s; closing inputs and delivering what is queued",
            signum == SIGINT ? "SIGINT" : "SIGTERM");
    sr_server_stop(app.server);
    sr_pipeline_drain(app.pipeline);
    app.drain_started = uv_now(app.loop);
    uv_timer_start(&app.drain_timer, on_drain_tick, 0, 50);
}

static void reload(void)
{
    sr_config_t *cfg;

    sr_info("received SIGHUP; validating %s", app.cfg->file ? app.cfg->file : "<default>");
    cfg = load(app.cfg->file);
    if (cfg == NULL) {
        sr_error("configuration reload rejected (errors above); the running configuration stays");
        return;
    }
    sr_warn("configuration %s is valid; this version applies a changed configuration only on "
            "restart, the running one stays",
            app.cfg->file ? app.cfg->file : "<default>");
    sr_config_free(cfg);
}

static void on_signal(uv_signal_t *s, int signum)
{
    size_t i;

    switch (signum) {
    case SIGTERM:
    case SIGINT:
        drain(signum);
        break;
    case SIGHUP:
        reload();
        break;
    case SIGUSR1:
        sr_info("received SIGUSR1; reopening output files");
        for (i = 0; i < app.n_outputs; i++) {
            sr_output_reopen(app.outputs[i]);
        }
        break;
    }
}

static int run(void)
{
    static const int signums[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    size_t i;
    int rc;

    app.loop = uv_default_loop();
    uv_timer_init(app.loop, &app.drain_timer);
    for (i = 0; i < SR_ARRAY_SIZE(signums); i++) {
        uv_signal_init(app.loop, &app.sig[i]);
        uv_signal_start(&app.sig[i], on_signal, signums[i]);
    }
    app.n_outputs = app.cfg->n_outputs;
    app.outputs = sr_calloc(app.n_outputs ? app.n_outputs : 1, sizeof(sr_output_t *));
    for (i = 0; i < app.n_outputs; i++) {
        if (sr_output_create(app.loop, &app.cfg->outputs[i], &app.outputs[i]) < 0 ||
            sr_output_start(app.outputs[i]) < 0) {
            return 1;
        }
    }
    app.pipeline = sr_pipeline_create(app.loop, app.cfg, app.outputs, app.n_outputs);
    if (sr_server_create(app.cfg, app.pipeline, &app.server) < 0) {
        return 1;
    }
    if (app.cfg->metrics_enabled &&
        sr_http_start(app.loop, &app.cfg->metrics_listen, is_ready, NULL, &app.http) < 0) {
        return 1;
    }
    rc = sr_server_start(app.server);
    if (rc < 0) {
        return 1;
    }
    sr_info("syslog-relay " SR_VERSION " started");
    uv_run(app.loop, UV_RUN_DEFAULT);
    sr_server_destroy(app.server);
    for (i = 0; i < app.n_outputs; i++) {
        sr_output_destroy(app.outputs[i]);
    }
    free(app.outputs);
    uv_loop_close(app.loop);
    sr_info("syslog-relay stopped");
    sr_config_free(app.cfg);
    sr_metrics_reset();
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"inspect-buffer", required_argument, NULL, 'i'},
        {"config-reference", no_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *inspect = NULL;
    bool check = false;
    int c;

    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            file = optarg;
            break;
        case 'k':
            check = true;
            break;
        case 'V':
            printf("syslog-relay %s\n", SR_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'i':
            inspect = optarg;
            break;
        case 'r':
            sr_metrics_init();
            sr_config_print_reference(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "syslog-relay: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (inspect != NULL) {
        fprintf(stderr,
                "syslog-relay: %s: no disk buffer to inspect (disk buffering is not available "
                "in this version)\n",
                inspect);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    sr_metrics_init();
    app.cfg = load(file);
    if (app.cfg == NULL) {
        return 1;
    }
    if (check) {
        printf("configuration OK\n");
        sr_config_free(app.cfg);
        return 0;
    }
    sr_log_level = app.cfg->log_level;
    return run();
}
