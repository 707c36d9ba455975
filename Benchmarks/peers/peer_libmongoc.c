/*
 * The scenarios of SDAMScenarios, run by the C driver (Debian's libmongoc) in pooled mode
 * (mongoc_client_pool_t), against `sdam simulate` started as a child process. Same arguments,
 * same JSON keys as `SDAMScenarios subject ...`:
 *
 *   peer_libmongoc subject discovery MEMBERS --sdam PATH
 *   peer_libmongoc subject stepdown ELECTION_DELAY_MS [poll|stream] --sdam PATH
 *   peer_libmongoc subject idle-stepdown poll|stream --sdam PATH
 *   peer_libmongoc subject mongos COUNT HEARTBEAT_MS WINDOW_S [poll|stream] --sdam PATH
 *
 * `stream` simulates MongoDB 4.4+ (topologyVersion, awaitable hellos), which libmongoc's pool
 * streams from on its own (1.23 has no serverMonitoringMode option; it streams whenever the
 * server supports it); `poll` simulates 4.2, which it polls.
 *
 * Checks are counted and timed through the driver's own APM heartbeat callbacks, which run on
 * its monitor threads when a check starts and succeeds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <errno.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "peer_libmongoc: %s\n", what);
  exit(2);
}

/* ---- the simulator processes ---- */

/* A simulator holds a listener and an accepted connection per mongos, and a process may hold
 * 20,000 descriptors here: at most this many mongos per `sdam simulate` (as SDAMScenarios). */
#define MONGOS_PER_SIMULATOR 5000
#define MAX_SIMULATORS 8

static int sim_count;
static pid_t sim_pids[MAX_SIMULATORS];
static FILE *sim_ins[MAX_SIMULATORS], *sim_outs[MAX_SIMULATORS];
/* Every simulator's addresses, comma-separated ("127.0.0.1:port" each: 10,000 take 160,000). */
static char sim_addresses[8 * 200200];

/* Starts one more simulator and appends its addresses; commands go to the first one. */
static void sim_start(const char *sdam, char *const args[]) {
  if (sim_count == MAX_SIMULATORS) die("too many simulators");
  int to_child[2], from_child[2];
  if (pipe(to_child) || pipe(from_child)) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[1]);
    close(from_child[0]);
    execv(sdam, args);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  sim_pids[sim_count] = pid;
  sim_ins[sim_count] = fdopen(to_child[1], "w");
  sim_outs[sim_count] = fdopen(from_child[0], "r");
  static char line[200100];
  while (fgets(line, sizeof line, sim_outs[sim_count])) {
    if (strncmp(line, "ready ", 6) == 0) {
      line[strcspn(line, "\n")] = 0;
      size_t used = strlen(sim_addresses);
      snprintf(sim_addresses + used, sizeof sim_addresses - used, "%s%s", used ? "," : "", line + 6);
      sim_count++;
      return;
    }
  }
  die("the simulator did not become ready");
}

static void sim_send(const char *command) {
  char line[4096];
  fprintf(sim_ins[0], "%s\n", command);
  fflush(sim_ins[0]);
  if (!fgets(line, sizeof line, sim_outs[0]) || strncmp(line, "ok", 2) != 0) die("simulator command failed");
}

static void sim_stop(void) {
  for (int i = 0; i < sim_count; i++) {
    fprintf(sim_ins[i], "quit\n");
    fclose(sim_ins[i]);
  }
  for (int i = 0; i < sim_count; i++) waitpid(sim_pids[i], NULL, 0);
  sim_count = 0;
  sim_addresses[0] = 0;
}

/* The simulators' CPU seconds so far (user + system, from /proc/PID/stat). */
static double sim_cpu_seconds(void) {
  double total = 0;
  for (int i = 0; i < sim_count; i++) {
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)sim_pids[i]);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    char *p = strrchr(stat, ')');
    unsigned long user = 0, system = 0;
    /* After "pid (comm)": state, then 10 fields, then utime and stime. */
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user, &system) == 2)
      total += (double)(user + system) / sysconf(_SC_CLK_TCK);
  }
  return total;
}

/* ---- process usage ---- */

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static double rss_mib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kb = atof(line + 6);
  if (f) fclose(f);
  return kb / 1024;
}

/* Entries of a /proc directory, less the directory stream's own descriptor when it lists fds. */
static int dir_entries(const char *path) {
  DIR *d = opendir(path);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  if (d) closedir(d);
  return n;
}

static int thread_count(void) { return dir_entries("/proc/self/task"); }

static int descriptors(void) { return dir_entries("/proc/self/fd") - 1; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p) {
  if (n == 0) return -1;
  qsort(v, n, sizeof *v, cmp_double);
  long rank = (long)ceil(p / 100 * n) - 1;
  if (rank < 0) rank = 0;
  if ((size_t)rank >= n) rank = n - 1;
  return v[rank];
}

/* ---- what the callbacks record (indexed by port: the simulator is all on 127.0.0.1) ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int wanted_members;
static double primary_at, all_at;
static int known_mongos;
static double all_mongos_at;
static char type_by_port[65536];
static double last_start[65536];
static int successes[65536];
static double first_success[65536], last_success[65536];
static double *lags;
static size_t lag_count, lag_capacity;
static int heartbeat_ms;
static int recording;

/* The set's discovery is counted from server-changed events (O(1) each, the time read first),
 * as the Swift subject counts it from its events' timestamps. This callback stays registered,
 * doing nothing, so that libmongoc builds its topology-changed events for a listener as ours
 * does; it used to copy every server description here (mongoc_topology_description_get_servers)
 * before reading the clock, which libmongoc's transition waited for. */
static void topology_changed(const mongoc_apm_topology_changed_t *event) { (void)event; }

static char rs_type_by_port[65536]; /* 0: not a member yet, 1: secondary, 2: primary */
static int rs_members, rs_primaries;

static void server_changed(const mongoc_apm_server_changed_t *event) {
  double t = now_ms();
  const mongoc_host_list_t *host = mongoc_apm_server_changed_get_host(event);
  const mongoc_server_description_t *sd = mongoc_apm_server_changed_get_new_description(event);
  const char *type = mongoc_server_description_type(sd);
  int is_mongos = strcmp(type, "Mongos") == 0;
  char rs = strcmp(type, "RSPrimary") == 0 ? 2 : strcmp(type, "RSSecondary") == 0 ? 1 : 0;
  pthread_mutex_lock(&lock);
  if (is_mongos && !type_by_port[host->port]) {
    type_by_port[host->port] = 1;
    if (++known_mongos == wanted_members) all_mongos_at = t;
  } else if (!is_mongos && type_by_port[host->port]) {
    type_by_port[host->port] = 0;
    known_mongos--;
  }
  char was = rs_type_by_port[host->port];
  rs_members += (rs != 0) - (was != 0);
  rs_primaries += (rs == 2) - (was == 2);
  rs_type_by_port[host->port] = rs;
  if (rs_primaries && primary_at == 0) primary_at = t;
  if (rs_primaries && rs_members == wanted_members && all_at == 0) all_at = t;
  pthread_mutex_unlock(&lock);
}

static void heartbeat_started(const mongoc_apm_server_heartbeat_started_t *event) {
  const mongoc_host_list_t *host = mongoc_apm_server_heartbeat_started_get_host(event);
  double t = now_ms();
  pthread_mutex_lock(&lock);
  if (recording && last_start[host->port] > 0) {
    if (lag_count == lag_capacity) {
      lag_capacity = lag_capacity ? 2 * lag_capacity : 4096;
      lags = realloc(lags, lag_capacity * sizeof *lags);
    }
    lags[lag_count++] = t - last_start[host->port] - heartbeat_ms;
  }
  if (recording) last_start[host->port] = t;
  pthread_mutex_unlock(&lock);
}

static void heartbeat_succeeded(const mongoc_apm_server_heartbeat_succeeded_t *event) {
  const mongoc_host_list_t *host = mongoc_apm_server_heartbeat_succeeded_get_host(event);
  double t = now_ms();
  pthread_mutex_lock(&lock);
  if (successes[host->port]++ == 0) first_success[host->port] = t;
  last_success[host->port] = t;
  pthread_mutex_unlock(&lock);
}

/* A server's achieved rate: its successes in the window over the time from its last success
 * before the window to its last in it (as SDAMScenarios computes it). Call with the lock held. */
static double checks_per_minute(int port) {
  int count = successes[port];
  double span = last_success[port] - first_success[port];
  return count >= 2 && span > 0 ? (count - 1) / (span / 1000) * 60 : 0;
}

/* Starts recording; of each server's successes keeps only the last, as the anchor its in-window
 * rate is measured from. */
static void start_window(void) {
  pthread_mutex_lock(&lock);
  recording = 1;
  for (int port = 0; port < 65536; port++)
    if (successes[port]) successes[port] = 1, first_success[port] = last_success[port];
  pthread_mutex_unlock(&lock);
}

static mongoc_client_pool_t *make_pool(const char *uri_text, int with_callbacks) {
  bson_error_t error;
  mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &error);
  if (!uri) die(error.message);
  mongoc_client_pool_t *pool = mongoc_client_pool_new(uri);
  mongoc_uri_destroy(uri);
  if (!pool) die("mongoc_client_pool_new failed");
  mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
  if (with_callbacks) {
    mongoc_apm_callbacks_t *cbs = mongoc_apm_callbacks_new();
    mongoc_apm_set_topology_changed_cb(cbs, topology_changed);
    mongoc_apm_set_server_changed_cb(cbs, server_changed);
    mongoc_apm_set_server_heartbeat_started_cb(cbs, heartbeat_started);
    mongoc_apm_set_server_heartbeat_succeeded_cb(cbs, heartbeat_succeeded);
    mongoc_client_pool_set_apm_callbacks(pool, cbs, NULL);
    mongoc_apm_callbacks_destroy(cbs);
  }
  return pool;
}

/* Waits until *at is set; past the deadline, exits naming `what` (with *count of `total`
 * when `count` is given) or "condition not met in time". */
static void wait_until_or(double *at, double seconds, const char *what, int *count, int total) {
  double deadline = now_ms() + seconds * 1000;
  for (;;) {
    pthread_mutex_lock(&lock);
    double t = *at;
    int n = count ? *count : 0;
    pthread_mutex_unlock(&lock);
    if (t > 0) return;
    if (now_ms() > deadline) {
      if (!what) die("condition not met in time");
      fprintf(stderr, "did not finish: %d of %d %s after %.0f s\n", n, total, what, seconds);
      exit(2);
    }
    usleep(200);
  }
}

static void wait_until(double *at, double seconds) { wait_until_or(at, seconds, NULL, NULL, 0); }

/* ---- scenarios ---- */

static void discovery(const char *sdam, int members) {
  char m[16];
  snprintf(m, sizeof m, "%d", members);
  char *args[] = {(char *)sdam, "simulate", "--replica-set", "rs0", "--members", m, NULL};
  sim_start(sdam, args);
  char *second = strchr(sim_addresses, ',');
  if (!second) die("no second member");
  second++;
  char *end = strchr(second, ',');
  if (end) *end = 0;
  char uri[512];
  snprintf(uri, sizeof uri, "mongodb://%s/?replicaSet=rs0", second);
  wanted_members = members;
  double start = now_ms();
  mongoc_client_pool_t *pool = make_pool(uri, 1);
  mongoc_client_t *client = mongoc_client_pool_pop(pool); /* pooled mode monitors from the first pop */
  wait_until(&all_at, 30);
  printf("{\"driver\":\"libmongoc %s\",\"scenario\":\"discovery\",\"members\":%d,\"primaryMS\":%.3f,\"allMS\":%.3f}\n",
         MONGOC_VERSION_S, members, primary_at - start, all_at - start);
  mongoc_client_pool_push(pool, client);
  mongoc_client_pool_destroy(pool);
  sim_stop();
}

static int insert(mongoc_collection_t *collection, bson_error_t *error) {
  bson_t *doc = BCON_NEW("x", BCON_INT32(1));
  bool ok = mongoc_collection_insert_one(collection, doc, NULL, NULL, error);
  bson_destroy(doc);
  return ok;
}

static void stepdown(const char *sdam, int delay, int stream) {
  char d[16];
  snprintf(d, sizeof d, "%d", delay);
  char *args[] = {(char *)sdam, "simulate", "--replica-set", "rs0", "--members", "3", "--election-delay-ms", d,
                  stream ? "--topology-version" : NULL, NULL};
  sim_start(sdam, args);
  char uri[4096];
  snprintf(uri, sizeof uri, "mongodb://%.3000s/?replicaSet=rs0&serverSelectionTimeoutMS=10000&retryWrites=false", sim_addresses);
  mongoc_client_pool_t *pool = make_pool(uri, 0);
  mongoc_client_t *client = mongoc_client_pool_pop(pool);
  mongoc_collection_t *collection = mongoc_client_get_collection(client, "bench", "bench");
  bson_error_t error;
  if (!insert(collection, &error)) die(error.message);
  double start = now_ms();
  sim_send("stepdown");
  int attempts = 0;
  char first_error[256] = "none";
  for (;;) {
    attempts++;
    if (insert(collection, &error)) break;
    if (attempts == 1) {
      if (error.code == 10107) snprintf(first_error, sizeof first_error, "NotWritablePrimary");
      else snprintf(first_error, sizeof first_error, "code %u", error.code);
    }
    if (now_ms() - start > 10000) die("no successful write 10 s after the stepdown");
  }
  double to_write = now_ms() - start;
  printf("{\"driver\":\"libmongoc %s\",\"scenario\":\"stepdown\",\"mode\":\"%s\",\"electionDelayMS\":%d,\"toWriteMS\":%.3f,"
         "\"afterElectionMS\":%.3f,\"firstError\":\"%s\",\"attempts\":%d}\n",
         MONGOC_VERSION_S, stream ? "stream" : "poll", delay, to_write, to_write - delay, first_error, attempts);
  mongoc_collection_destroy(collection);
  mongoc_client_pool_push(pool, client);
  mongoc_client_pool_destroy(pool);
  sim_stop();
}

/* The host:port that selecting a server for a write returns (waits for one, as applications do). */
static void selected_primary(mongoc_client_t *client, char *out, size_t size) {
  bson_error_t error;
  mongoc_server_description_t *sd = mongoc_client_select_server(client, true, NULL, &error);
  if (!sd) die(error.message);
  snprintf(out, size, "%s", mongoc_server_description_host(sd)->host_and_port);
  mongoc_server_description_destroy(sd);
}

/* A stepdown while the pool is idle, default 10 s heartbeat: the time until selecting a server
 * for a write returns the new primary. Idle for 0.5 s plus a random part of a heartbeat first,
 * as SDAMScenarios does. */
static void idle_stepdown(const char *sdam, int stream) {
  char *args[] = {(char *)sdam, "simulate", "--replica-set", "rs0", "--members", "3",
                  stream ? "--topology-version" : NULL, NULL};
  sim_start(sdam, args);
  char uri[4096];
  snprintf(uri, sizeof uri, "mongodb://%.3000s/?replicaSet=rs0&serverSelectionTimeoutMS=30000", sim_addresses);
  wanted_members = 3;
  mongoc_client_pool_t *pool = make_pool(uri, 1);
  mongoc_client_t *client = mongoc_client_pool_pop(pool);
  wait_until(&all_at, 30);
  char old[300], current[300];
  selected_primary(client, old, sizeof old);
  struct timespec seed;
  clock_gettime(CLOCK_REALTIME, &seed);
  srand48(seed.tv_nsec ^ getpid());
  double idle = 0.5 + drand48() * 10;
  usleep((useconds_t)(idle * 1e6));
  double start = now_ms();
  sim_send("stepdown");
  int selections = 0;
  for (;;) {
    selections++;
    selected_primary(client, current, sizeof current);
    if (strcmp(current, old) != 0) break;
    if (now_ms() - start > 30000) die("no new primary selected 30 s after the stepdown");
  }
  double new_primary = now_ms() - start;
  printf("{\"driver\":\"libmongoc %s\",\"scenario\":\"idle-stepdown\",\"mode\":\"%s\",\"idleS\":%.3f,"
         "\"newPrimaryMS\":%.3f,\"selections\":%d}\n",
         MONGOC_VERSION_S, stream ? "stream" : "poll", idle, new_primary, selections);
  mongoc_client_pool_push(pool, client);
  mongoc_client_pool_destroy(pool);
  sim_stop();
}

static void mongos(const char *sdam, int count, int heartbeat, double window, int stream) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  int parts = (count + MONGOS_PER_SIMULATOR - 1) / MONGOS_PER_SIMULATOR;
  if (parts < 1) parts = 1;
  for (int i = 0; i < parts; i++) {
    char c[16];
    snprintf(c, sizeof c, "%d", count / parts + (i < count % parts ? 1 : 0));
    char *args[] = {(char *)sdam, "simulate", "--mongos", c, stream ? "--topology-version" : NULL, NULL};
    sim_start(sdam, args);
  }
  size_t length = strlen(sim_addresses) + 128;
  char *uri = malloc(length);
  snprintf(uri, length, "mongodb://%s/?heartbeatFrequencyMS=%d", sim_addresses, heartbeat);
  wanted_members = count;
  heartbeat_ms = heartbeat;
  int base_threads = thread_count(), base_fds = descriptors();
  double base_rss = rss_mib();
  double start = now_ms();
  mongoc_client_pool_t *pool = make_pool(uri, 1);
  mongoc_client_t *client = mongoc_client_pool_pop(pool);
  wait_until_or(&all_mongos_at, 120, "mongos known", &known_mongos, count);
  start_window();
  double cpu0 = cpu_seconds(), sim_cpu0 = sim_cpu_seconds(), w0 = now_ms();
  usleep((useconds_t)(window * 1e6));
  double cpu1 = cpu_seconds(), sim_cpu1 = sim_cpu_seconds(), elapsed = (now_ms() - w0) / 1000;
  int threads = thread_count(), fds = descriptors();
  double rss = rss_mib();
  pthread_mutex_lock(&lock);
  recording = 0;
  double *rates = malloc(65536 * sizeof *rates);
  size_t n = 0;
  for (int port = 0; port < 65536; port++)
    if (type_by_port[port]) rates[n++] = checks_per_minute(port);
  double rate = percentile(rates, n, 50);
  double p50 = percentile(lags, lag_count, 50), p99 = percentile(lags, lag_count, 99);
  pthread_mutex_unlock(&lock);
  printf("{\"driver\":\"libmongoc %s\",\"scenario\":\"mongos\",\"count\":%d,\"heartbeatMS\":%d,\"windowS\":%.3f,"
         "\"knownMS\":%.3f,\"threads\":%d,\"baseThreads\":%d,\"rssMiB\":%.3f,\"baseRssMiB\":%.3f,"
         "\"descriptors\":%d,\"baseDescriptors\":%d,\"cpuSecPerMin\":%.3f,\"simulators\":%d,\"simulatorCpuSecPerMin\":%.3f,"
         "\"checksPerServerPerMin\":%.3f,\"configuredPerMin\":%.3f,\"lagP50MS\":%.3f,\"lagP99MS\":%.3f}\n",
         MONGOC_VERSION_S, count, heartbeat, elapsed, all_mongos_at - start, threads, base_threads, rss, base_rss, fds, base_fds,
         (cpu1 - cpu0) / elapsed * 60, sim_count, (sim_cpu1 - sim_cpu0) / elapsed * 60, rate, 60000.0 / heartbeat, p50, p99);
  fflush(stdout);
  mongoc_client_pool_push(pool, client);
  mongoc_client_pool_destroy(pool);
  sim_stop();
  free(rates);
  free(uri);
}

static int is_mode(const char *word) { return strcmp(word, "poll") == 0 || strcmp(word, "stream") == 0; }

int main(int argc, char **argv) {
  const char *sdam = NULL;
  char *rest[8];
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--sdam") == 0 && i + 1 < argc) sdam = argv[++i];
    else if (n < 8) rest[n++] = argv[i];
  }
  if (!sdam || n < 2 || strcmp(rest[0], "subject") != 0) die("usage: peer_libmongoc subject SCENARIO ARGS --sdam PATH");
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  mongoc_init();
  if (strcmp(rest[1], "discovery") == 0 && n == 3) discovery(sdam, atoi(rest[2]));
  else if (strcmp(rest[1], "stepdown") == 0 && (n == 3 || (n == 4 && is_mode(rest[3]))))
    stepdown(sdam, atoi(rest[2]), n == 4 && strcmp(rest[3], "stream") == 0);
  else if (strcmp(rest[1], "idle-stepdown") == 0 && n == 3 && is_mode(rest[2]))
    idle_stepdown(sdam, strcmp(rest[2], "stream") == 0);
  else if (strcmp(rest[1], "mongos") == 0 && (n == 5 || (n == 6 && is_mode(rest[5]))))
    mongos(sdam, atoi(rest[2]), atoi(rest[3]), atof(rest[4]), n == 6 && strcmp(rest[5], "stream") == 0);
  else die("unknown scenario");
  mongoc_cleanup();
  return 0;
}
