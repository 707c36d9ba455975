/*
 * The single-threaded scenarios of SDAMScenarios (SingleThreadedSubject), run by the C driver's
 * single-threaded client (Debian's libmongoc: a mongoc_client_t without a pool, which scans on
 * the caller's thread). Same arguments, same JSON keys; the harness (single_threaded.py) runs
 * the simulator:
 *
 *   peer_libmongoc_single st-discovery|st-scan|st-failover URI
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Threads of this process, and its open sockets (it has no others than its connections). */
static void counts(int *threads, int *sockets) {
  *threads = 0;
  *sockets = 0;
  DIR *dir = opendir("/proc/self/task");
  struct dirent *e;
  while (dir && (e = readdir(dir))) if (e->d_name[0] != '.') (*threads)++;
  if (dir) closedir(dir);
  dir = opendir("/proc/self/fd");
  while (dir && (e = readdir(dir))) {
    char path[300], target[300];
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n > 0) { target[n] = 0; if (strncmp(target, "socket:", 7) == 0) (*sockets)++; }
  }
  if (dir) closedir(dir);
}

static bool insert(mongoc_client_t *client, bson_error_t *error) {
  bson_t *cmd = BCON_NEW("insert", "bench", "documents", "[", "{", "x", BCON_INT32(1), "}", "]");
  bson_t reply;
  bool ok = mongoc_client_write_command_with_opts(client, "bench", cmd, NULL, &reply, error);
  bson_destroy(&reply);
  bson_destroy(cmd);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: peer_libmongoc_single SCENARIO URI\n"); return 2; }
  mongoc_init();
  mongoc_log_set_handler(NULL, NULL);
  bson_error_t error;
  mongoc_client_t *client = mongoc_client_new(argv[2]);
  if (!client) { fprintf(stderr, "bad URI\n"); return 2; }
  char fields[400] = "";
  if (strcmp(argv[1], "st-discovery") == 0) {
    double start = now_ms();
    if (!insert(client, &error)) { fprintf(stderr, "write: %s\n", error.message); return 1; }
    double took = now_ms() - start;
    size_t n = 0, known = 0;
    mongoc_server_description_t **sds = mongoc_client_get_server_descriptions(client, &n);
    for (size_t i = 0; i < n; i++)
      if (strcmp(mongoc_server_description_type(sds[i]), "Unknown") != 0) known++;
    mongoc_server_descriptions_destroy_all(sds, n);
    snprintf(fields, sizeof fields, "\"firstWriteMS\":%.3f,\"membersKnown\":%zu", took, known);
  } else if (strcmp(argv[1], "st-scan") == 0) {
    double start = now_ms();
    mongoc_server_description_t *sd = mongoc_client_select_server(client, true, NULL, &error);
    double took = now_ms() - start;
    if (!sd) { fprintf(stderr, "select: %s\n", error.message); return 1; }
    mongoc_server_description_destroy(sd);
    snprintf(fields, sizeof fields, "\"scanMS\":%.3f,\"selectMS\":%.3f", took, took);
  } else if (strcmp(argv[1], "st-failover") == 0) {
    if (!insert(client, &error)) { fprintf(stderr, "write: %s\n", error.message); return 1; }
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
    double start = now_ms();
    int attempts = 0;
    while (1) {
      attempts++;
      if (insert(client, &error)) break;
      if (now_ms() - start > 20000) { fprintf(stderr, "no write within 20 s: %s\n", error.message); return 1; }
    }
    snprintf(fields, sizeof fields, "\"toWriteMS\":%.3f,\"attempts\":%d", now_ms() - start, attempts);
  } else {
    fprintf(stderr, "unknown scenario %s\n", argv[1]);
    return 2;
  }
  int threads, sockets;
  counts(&threads, &sockets);
  printf("{\"driver\":\"libmongoc %s single-threaded\",\"scenario\":\"%s\",%s,\"threads\":%d,\"connections\":%d}\n",
         mongoc_get_version(), argv[1], fields, threads, sockets);
  mongoc_client_destroy(client);
  mongoc_cleanup();
  return 0;
}
