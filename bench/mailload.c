/*
 * mailload.c - a load generator for IMAP, POP3 and LMTP servers, to
 * measure Cursus and Dovecot with the same load in the same run
 * (bench/imap.sh, bench/store.sh)
 *
 *   mailload [options] MODE
 *
 * MODE is one of
 *   login    each client loops connect, LOGIN, LOGOUT
 *   append   each client logs in once and APPENDs messages to INBOX
 *   mixed    each client logs in once and sends random SELECT, FETCH,
 *            STORE, SEARCH, EXPUNGE and APPEND commands (fixed seed)
 *   pop3     each client logs in over POP3 and RETRs every message, then
 *            again until the time is up
 *   folder   one client times FETCH 1:* headers and SEARCH BODY on a
 *            folder
 *   idle     opens -c sessions (LOGIN, SELECT INBOX, IDLE) one after the
 *            other, prints "ready N", holds them -t seconds
 *   lmtp     each client sends LHLO once, then delivers messages: MAIL,
 *            -r recipients (the user format numbered 0..r-1, or the
 *            client's number when -r is 1), DATA, one reply per recipient
 * Every mode is bounded by -t seconds and -n operations.  One line of
 * figures goes to standard output.
 *
 * Options: -H host, -p port, -c clients, -t seconds, -n max operations,
 * -u user format ("user%d@example.com"), -U number of users (client i is
 * user i modulo U), -o first user number, -w password,
 * -m mbox of messages (CRLF mbox from bench/genmbox.py), -f folder,
 * -s (implicit TLS), -b first source address for idle sessions
 * ("127.0.0.2": consecutive addresses take 20,000 sessions each), -r
 * recipients per LMTP message, -S STEP: a line with the rate of every
 * STEP operations (a folder growing).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port = 143;
static int clients = 20;
static double seconds = 15;
static long max_ops = 0;
static const char *user_fmt = "user%d@example.com";
static int users = 0;
static int user_offset = 0;
static const char *password = "pass";
static const char *mbox_path;
static const char *folder = "INBOX";
static bool use_tls;
static const char *bind_base;
static int recipients = 1;
static long step;

static gnutls_certificate_credentials_t tls_creds;

/* ------------------------------------------------------------ messages */

static char **msgs;
static size_t *msg_len;
static size_t n_msgs;

/* load_mbox - split a CRLF mbox into messages (the From_ lines dropped) */
static void load_mbox(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *all = malloc((size_t)size + 1);
  if (fread(all, 1, (size_t)size, f) != (size_t)size) {
    perror(path);
    exit(2);
  }
  all[size] = '\0';
  fclose(f);
  size_t cap = 1024;
  msgs = malloc(cap * sizeof(char *));
  msg_len = malloc(cap * sizeof(size_t));
  char *p = all;
  while (p != NULL && *p != '\0') {
    char *body = strstr(p, "\r\n"); /* skip the From_ line */
    if (body == NULL)
      break;
    body += 2;
    char *next = strstr(body, "\r\n\r\nFrom ");
    size_t len = next != NULL ? (size_t)(next - body) + 4 : strlen(body);
    if (n_msgs == cap) {
      cap *= 2;
      msgs = realloc(msgs, cap * sizeof(char *));
      msg_len = realloc(msg_len, cap * sizeof(size_t));
    }
    msgs[n_msgs] = body;
    msg_len[n_msgs] = len;
    n_msgs++;
    p = next != NULL ? next + 4 : NULL;
  }
}

/* ------------------------------------------------------------ clock */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double t_end;
static volatile long ops_done;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static double *lat;
static size_t n_lat, cap_lat;
static long errors;
static long long bytes_total;

static double t_step;

static void record(double secs) {
  pthread_mutex_lock(&stats_lock);
  if (n_lat == cap_lat) {
    cap_lat = cap_lat ? cap_lat * 2 : 4096;
    lat = realloc(lat, cap_lat * sizeof(double));
  }
  lat[n_lat++] = secs;
  ops_done++;
  if (step > 0 && ops_done % step == 0) {
    double t = now();
    printf("messages %7ld: %.0f msg/s\n", ops_done, (double)step / (t - t_step));
    fflush(stdout);
    t_step = t;
  }
  pthread_mutex_unlock(&stats_lock);
}

static bool go_on(void) {
  return now() < t_end && (max_ops == 0 || ops_done < max_ops);
}

/* ------------------------------------------------------------ connections */

typedef struct conn {
  int fd;
  gnutls_session_t tls;
  char buf[65536];
  size_t len, off;
  int tag;
  long exists; /* from EXISTS and EXPUNGE responses */
} conn;

static ssize_t c_recv(conn *c, char *buf, size_t len) {
  if (c->tls != NULL) {
    ssize_t n;
    do
      n = gnutls_record_recv(c->tls, buf, len);
    while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
    return n < 0 ? -1 : n;
  }
  return recv(c->fd, buf, len, 0);
}

static bool c_send(conn *c, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = c->tls != NULL ? gnutls_record_send(c->tls, p, len)
                               : send(c->fd, p, len, MSG_NOSIGNAL);
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED ||
        (n < 0 && errno == EINTR))
      continue;
    if (n <= 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

static bool c_printf(conn *c, const char *fmt, ...) {
  char line[4096];
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, args);
  va_end(args);
  return n > 0 && (size_t)n < sizeof(line) && c_send(c, line, (size_t)n);
}

/* c_fill - more input; false at EOF or error */
static bool c_fill(conn *c) {
  if (c->off > 0) {
    memmove(c->buf, c->buf + c->off, c->len - c->off);
    c->len -= c->off;
    c->off = 0;
  }
  if (c->len == sizeof(c->buf))
    c->len = c->off = 0; /* a huge line: keep only its end */
  ssize_t n = c_recv(c, c->buf + c->len, sizeof(c->buf) - c->len);
  if (n <= 0)
    return false;
  c->len += (size_t)n;
  return true;
}

/* c_line - the next line (CRLF removed) into OUT (truncated to OUTLEN);
 * literals announced at its end are skipped, their size added to *skipped */
static bool c_line(conn *c, char *out, size_t outlen, long long *skipped) {
  size_t used = 0;
  for (;;) {
    char *nl;
    while ((nl = memchr(c->buf + c->off, '\n', c->len - c->off)) == NULL)
      if (!c_fill(c))
        return false;
    size_t n = (size_t)(nl - (c->buf + c->off)) + 1;
    size_t take = n >= 2 ? n - 2 : 0;
    if (used + take >= outlen)
      take = outlen - used - 1;
    memcpy(out + used, c->buf + c->off, take);
    used += take;
    out[used] = '\0';
    c->off += n;
    /* "{123}" at the end: a literal follows */
    char *brace = used > 2 && out[used - 1] == '}' ? strrchr(out, '{') : NULL;
    if (brace == NULL)
      return true;
    long long lit = atoll(brace + 1);
    if (skipped != NULL)
      *skipped += lit;
    while (lit > 0) {
      if (c->off == c->len && !c_fill(c))
        return false;
      size_t have = c->len - c->off;
      size_t k = (size_t)(lit < (long long)have ? lit : (long long)have);
      c->off += k;
      lit -= (long long)k;
    }
  }
}

static void c_close(conn *c) {
  if (c->tls != NULL) {
    gnutls_bye(c->tls, GNUTLS_SHUT_WR);
    gnutls_deinit(c->tls);
  }
  if (c->fd >= 0)
    close(c->fd);
  free(c);
}

/* c_open - connect (from SOURCE when given) and read the greeting */
static conn *c_open(const char *source) {
  conn *c = calloc(1, sizeof(*c));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &sa.sin_addr);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (source != NULL) {
    struct sockaddr_in src = {.sin_family = AF_INET};
    inet_pton(AF_INET, source, &src.sin_addr);
    setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
      c_close(c);
      return NULL;
    }
  }
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    c_close(c);
    return NULL;
  }
  if (use_tls) {
    gnutls_init(&c->tls, GNUTLS_CLIENT);
    gnutls_set_default_priority(c->tls);
    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, tls_creds);
    gnutls_transport_set_int(c->tls, c->fd);
    int rc;
    do
      rc = gnutls_handshake(c->tls);
    while (rc < 0 && !gnutls_error_is_fatal(rc));
    if (rc < 0) {
      c_close(c);
      return NULL;
    }
  }
  char line[1024];
  if (!c_line(c, line, sizeof(line), NULL)) {
    c_close(c);
    return NULL;
  }
  return c;
}

/* track - follow the mailbox size in untagged responses */
static void track(conn *c, const char *line) {
  char *end;
  if (line[0] != '*' || line[1] != ' ')
    return;
  long n = strtol(line + 2, &end, 10);
  if (end == line + 2)
    return;
  if (strcmp(end, " EXISTS") == 0)
    c->exists = n;
  else if (strcmp(end, " EXPUNGE") == 0 && c->exists > 0)
    c->exists--;
}

/* imap - send a command and read to its tagged reply; true for OK */
static bool imap(conn *c, long long *skipped, const char *fmt, ...) {
  char cmd[4096], line[8192], tag[16];
  va_list args;
  snprintf(tag, sizeof(tag), "a%d", ++c->tag);
  va_start(args, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, args);
  va_end(args);
  if (!c_printf(c, "%s %s\r\n", tag, cmd))
    return false;
  size_t tl = strlen(tag);
  for (;;) {
    if (!c_line(c, line, sizeof(line), skipped))
      return false;
    if (strncmp(line, tag, tl) == 0 && line[tl] == ' ')
      return strncmp(line + tl + 1, "OK", 2) == 0;
    track(c, line);
  }
}

/* imap_append - APPEND a message with a synchronising literal */
static bool imap_append(conn *c, const char *box, size_t m) {
  char line[8192], tag[16];
  snprintf(tag, sizeof(tag), "a%d", ++c->tag);
  if (!c_printf(c, "%s APPEND %s {%zu}\r\n", tag, box, msg_len[m]))
    return false;
  if (!c_line(c, line, sizeof(line), NULL) || line[0] != '+')
    return false;
  if (!c_send(c, msgs[m], msg_len[m]) || !c_send(c, "\r\n", 2))
    return false;
  size_t tl = strlen(tag);
  for (;;) {
    if (!c_line(c, line, sizeof(line), NULL))
      return false;
    if (strncmp(line, tag, tl) == 0 && line[tl] == ' ')
      return strncmp(line + tl + 1, "OK", 2) == 0;
  }
}

/* user_name - the user format with its "%d" replaced by the user number */
static void user_name(int i, char *out, size_t len) {
  const char *d = strstr(user_fmt, "%d");
  int n = user_offset + (users > 0 ? i % users : i);
  if (d == NULL)
    snprintf(out, len, "%s", user_fmt);
  else
    snprintf(out, len, "%.*s%d%s", (int)(d - user_fmt), user_fmt, n, d + 2);
}

static conn *login(int client) {
  char user[256];
  conn *c = c_open(NULL);
  if (c == NULL)
    return NULL;
  user_name(client, user, sizeof(user));
  if (!imap(c, NULL, "LOGIN \"%s\" \"%s\"", user, password)) {
    c_close(c);
    return NULL;
  }
  return c;
}

/* ------------------------------------------------------------ modes */

static void fail(void) {
  pthread_mutex_lock(&stats_lock);
  errors++;
  pthread_mutex_unlock(&stats_lock);
}

static void *run_login(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int i = 0; go_on(); i++) {
    double t = now();
    conn *c = login(id + i * clients);
    if (c == NULL) {
      fail();
      continue;
    }
    imap(c, NULL, "LOGOUT");
    c_close(c);
    record(now() - t);
  }
  return NULL;
}

static void *run_append(void *arg) {
  int id = (int)(intptr_t)arg;
  conn *c = login(id);
  if (c == NULL) {
    fail();
    return NULL;
  }
  for (size_t m = (size_t)id; go_on(); m += (size_t)clients) {
    double t = now();
    if (!imap_append(c, "INBOX", m % n_msgs)) {
      fail();
      break;
    }
    record(now() - t);
  }
  imap(c, NULL, "LOGOUT");
  c_close(c);
  return NULL;
}

static void *run_mixed(void *arg) {
  int id = (int)(intptr_t)arg;
  unsigned seed = 1234u + (unsigned)id;
  conn *c = login(id);
  if (c == NULL) {
    fail();
    return NULL;
  }
  imap(c, NULL, "SELECT INBOX");
  for (; go_on();) {
    double t = now();
    int r = rand_r(&seed) % 100;
    int exists = (int)c->exists;
    if (exists == 0 && r < 90)
      r = 90; /* nothing to work on yet: append */
    int a = 1 + rand_r(&seed) % (exists > 0 ? exists : 1);
    bool ok;
    if (r < 10)
      ok = imap(c, NULL, "SELECT INBOX");
    else if (r < 50)
      ok = imap(c, NULL, "FETCH %d:%d (UID FLAGS ENVELOPE RFC822.SIZE)", a,
                a + 9 < exists ? a + 9 : a);
    else if (r < 60)
      ok = imap(c, NULL, "FETCH %d (BODY.PEEK[])", a);
    else if (r < 75)
      ok = imap(c, NULL, "STORE %d +FLAGS (\\Seen)", a);
    else if (r < 85)
      ok = imap(c, NULL, "SEARCH UNSEEN SUBJECT \"alpha\"");
    else if (r < 90)
      ok = imap(c, NULL, "STORE %d +FLAGS (\\Deleted)", a) &&
           imap(c, NULL, "EXPUNGE");
    else
      ok = imap_append(c, "INBOX", (size_t)rand_r(&seed) % n_msgs);
    if (!ok) {
      fail();
      /* an EXPUNGE of another client may make a number invalid: go on */
      imap(c, NULL, "NOOP");
    }
    record(now() - t);
  }
  imap(c, NULL, "LOGOUT");
  c_close(c);
  return NULL;
}

/* pop3_cmd - one POP3 command; for multi-line replies reads to ".";
 * octets received are added to *bytes */
static bool pop3_cmd(conn *c, bool multi, long long *bytes, const char *fmt,
                     ...) {
  char cmd[1024], line[8192];
  va_list args;
  va_start(args, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, args);
  va_end(args);
  if (!c_printf(c, "%s\r\n", cmd) || !c_line(c, line, sizeof(line), NULL) ||
      line[0] != '+')
    return false;
  while (multi) {
    /* byte-exact reading: lines may be long */
    char *nl;
    while ((nl = memchr(c->buf + c->off, '\n', c->len - c->off)) == NULL)
      if (!c_fill(c))
        return false;
    size_t n = (size_t)(nl - (c->buf + c->off)) + 1;
    bool end = n == 3 && c->buf[c->off] == '.';
    if (bytes != NULL)
      *bytes += (long long)n;
    c->off += n;
    if (end)
      break;
  }
  return true;
}

static void *run_pop3(void *arg) {
  int id = (int)(intptr_t)arg;
  char user[256], line[1024];
  conn *c = c_open(NULL);
  if (c == NULL) {
    fail();
    return NULL;
  }
  user_name(id, user, sizeof(user));
  if (!pop3_cmd(c, false, NULL, "USER %s", user) ||
      !pop3_cmd(c, false, NULL, "PASS %s", password) ||
      !c_printf(c, "STAT\r\n") || !c_line(c, line, sizeof(line), NULL)) {
    fail();
    c_close(c);
    return NULL;
  }
  int n = atoi(line + 4);
  pop3_cmd(c, true, NULL, "UIDL");
  /* every message once, then again until the time is up */
  for (int k = 0; n > 0 && (k < n || go_on()); k++) {
    int i = 1 + k % n;
    double t = now();
    long long b = 0;
    if (!pop3_cmd(c, true, &b, "RETR %d", i)) {
      fail();
      break;
    }
    pthread_mutex_lock(&stats_lock);
    bytes_total += b;
    pthread_mutex_unlock(&stats_lock);
    record(now() - t);
  }
  /* RSET: keep the maildrop for the next run */
  pop3_cmd(c, false, NULL, "RSET");
  pop3_cmd(c, false, NULL, "QUIT");
  c_close(c);
  return NULL;
}

/* ------------------------------------------------------------ LMTP */

/* The messages dot-stuffed, with the final "." line. */
static char **dotted;
static size_t *dotted_len;

static void dot_stuff(void) {
  dotted = calloc(n_msgs, sizeof(char *));
  dotted_len = calloc(n_msgs, sizeof(size_t));
  for (size_t i = 0; i < n_msgs; i++) {
    char *o = dotted[i] = malloc(msg_len[i] * 2 + 8);
    bool bol = true;
    for (size_t k = 0; k < msg_len[i]; k++) {
      if (bol && msgs[i][k] == '.')
        *o++ = '.';
      *o++ = msgs[i][k];
      bol = msgs[i][k] == '\n';
    }
    if (!bol) {
      memcpy(o, "\r\n", 2);
      o += 2;
    }
    memcpy(o, ".\r\n", 3);
    dotted_len[i] = (size_t)(o + 3 - dotted[i]);
  }
}

/* smtp_reply - the code of the next reply (multi-line joined), -1 on EOF */
static int smtp_reply(conn *c) {
  char line[1024];
  do {
    if (!c_line(c, line, sizeof(line), NULL))
      return -1;
  } while (strlen(line) > 3 && line[3] == '-');
  return atoi(line);
}

static bool lmtp_deliver(conn *c, int id, size_t m) {
  if (!c_printf(c, "MAIL FROM:<load@example.org>\r\n") || smtp_reply(c) != 250)
    return false;
  for (int r = 0; r < recipients; r++) {
    char rcpt[256];
    user_name(recipients > 1 ? r : id, rcpt, sizeof(rcpt));
    if (!c_printf(c, "RCPT TO:<%s>\r\n", rcpt) || smtp_reply(c) != 250)
      return false;
  }
  if (!c_printf(c, "DATA\r\n") || smtp_reply(c) != 354 ||
      !c_send(c, dotted[m], dotted_len[m]))
    return false;
  bool ok = true;
  for (int r = 0; r < recipients; r++)
    ok = smtp_reply(c) == 250 && ok;
  return ok;
}

static void *run_lmtp(void *arg) {
  int id = (int)(intptr_t)arg;
  conn *c = c_open(NULL);
  if (c == NULL || !c_printf(c, "LHLO load.example.org\r\n") ||
      smtp_reply(c) != 250) {
    fail();
    if (c != NULL)
      c_close(c);
    return NULL;
  }
  for (size_t m = (size_t)id; go_on(); m += (size_t)clients) {
    double t = now();
    if (!lmtp_deliver(c, id, m % n_msgs)) {
      fail();
      break;
    }
    record(now() - t);
  }
  c_printf(c, "QUIT\r\n");
  c_close(c);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *mode, double elapsed) {
  qsort(lat, n_lat, sizeof(double), cmp_double);
  double sum = 0;
  for (size_t i = 0; i < n_lat; i++)
    sum += lat[i];
  printf("mode=%s clients=%d seconds=%.2f ops=%ld rate=%.1f/s avg_ms=%.2f "
         "p50_ms=%.2f p99_ms=%.2f errors=%ld",
         mode, clients, elapsed, ops_done, (double)ops_done / elapsed,
         n_lat ? sum / (double)n_lat * 1e3 : 0.0,
         n_lat ? lat[n_lat / 2] * 1e3 : 0.0,
         n_lat ? lat[(size_t)((double)n_lat * 0.99)] * 1e3 : 0.0, errors);
  if (bytes_total > 0)
    printf(" MB/s=%.1f", (double)bytes_total / 1e6 / elapsed);
  printf("\n");
}

static void run_threads(void *(*fn)(void *), const char *mode) {
  pthread_t *th = calloc((size_t)clients, sizeof(pthread_t));
  double t0 = now();
  t_end = t0 + seconds;
  for (int i = 0; i < clients; i++)
    pthread_create(&th[i], NULL, fn, (void *)(intptr_t)i);
  for (int i = 0; i < clients; i++)
    pthread_join(th[i], NULL);
  report(mode, now() - t0);
  free(th);
}

/* run_folder - FETCH of every header and a BODY search, timed */
static void run_folder(void) {
  conn *c = login(0);
  if (c == NULL) {
    fprintf(stderr, "folder: cannot log in\n");
    exit(1);
  }
  long long b = 0;
  double t = now();
  imap(c, NULL, "SELECT \"%s\"", folder);
  double t_select = now() - t;
  double best_fetch = 1e9, best_search = 1e9;
  for (int i = 0; i < 3; i++) {
    b = 0;
    t = now();
    if (!imap(c, &b, "FETCH 1:* (BODY.PEEK[HEADER])"))
      errors++;
    double d = now() - t;
    best_fetch = d < best_fetch ? d : best_fetch;
    t = now();
    if (!imap(c, NULL, "SEARCH BODY \"upsilon sigma\""))
      errors++;
    d = now() - t;
    best_search = d < best_search ? d : best_search;
  }
  imap(c, NULL, "LOGOUT");
  c_close(c);
  printf("mode=folder select_ms=%.1f fetch_headers_ms=%.1f header_MB=%.1f "
         "search_body_ms=%.1f errors=%ld\n",
         t_select * 1e3, best_fetch * 1e3, (double)b / 1e6, best_search * 1e3,
         errors);
}

/* run_idle - open sessions one after the other and hold them */
static volatile sig_atomic_t stop_idle;

static void on_term(int sig) {
  (void)sig;
  stop_idle = 1;
}

static void run_idle(void) {
  conn **conns = calloc((size_t)clients, sizeof(conn *));
  int opened = 0;
  char source[64] = "";
  struct in_addr base;
  if (bind_base != NULL)
    inet_pton(AF_INET, bind_base, &base);
  double t0 = now();
  for (int i = 0; i < clients; i++) {
    const char *src = NULL;
    if (bind_base != NULL) {
      struct in_addr a = {.s_addr = htonl(ntohl(base.s_addr) +
                                          (uint32_t)(i / 20000))};
      inet_ntop(AF_INET, &a, source, sizeof(source));
      src = source;
    }
    conn *c = c_open(src);
    char user[256], line[1024];
    if (c == NULL)
      break;
    user_name(i, user, sizeof(user));
    if (!imap(c, NULL, "LOGIN \"%s\" \"%s\"", user, password) ||
        !imap(c, NULL, "SELECT INBOX") || !c_printf(c, "i IDLE\r\n") ||
        !c_line(c, line, sizeof(line), NULL) || line[0] != '+') {
      c_close(c);
      break;
    }
    conns[opened++] = c;
  }
  printf("ready %d sessions in %.1f s\n", opened, now() - t0);
  fflush(stdout);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  double until = now() + seconds;
  while (!stop_idle && now() < until)
    usleep(100000);
  for (int i = 0; i < opened; i++)
    c_close(conns[i]);
  free(conns);
}

static void usage(void) {
  fprintf(stderr, "usage: mailload [-H host] [-p port] [-c clients] [-t secs] "
                  "[-n ops] [-u fmt] [-U users] [-o first] [-w pass] [-m mbox] "
                  "[-f folder] [-s] [-b source] [-r rcpts] [-S step] "
                  "login|append|mixed|pop3|folder|idle|lmtp\n");
  exit(2);
}

int main(int argc, char **argv) {
  int opt;
  while ((opt = getopt(argc, argv, "H:p:c:t:n:u:U:o:w:m:f:sb:r:S:")) != -1) {
    switch (opt) {
    case 'H': host = optarg; break;
    case 'p': port = atoi(optarg); break;
    case 'c': clients = atoi(optarg); break;
    case 't': seconds = atof(optarg); break;
    case 'n': max_ops = atol(optarg); break;
    case 'u': user_fmt = optarg; break;
    case 'U': users = atoi(optarg); break;
    case 'o': user_offset = atoi(optarg); break;
    case 'w': password = optarg; break;
    case 'm': mbox_path = optarg; break;
    case 'f': folder = optarg; break;
    case 's': use_tls = true; break;
    case 'b': bind_base = optarg; break;
    case 'r': recipients = atoi(optarg); break;
    case 'S': step = atol(optarg); break;
    default: usage();
    }
  }
  if (optind != argc - 1 || clients < 1 || seconds <= 0 || recipients < 1)
    usage();
  const char *mode = argv[optind];
  signal(SIGPIPE, SIG_IGN);
  if (use_tls) {
    gnutls_global_init();
    gnutls_certificate_allocate_credentials(&tls_creds);
  }
  if (mbox_path != NULL)
    load_mbox(mbox_path);
  if ((strcmp(mode, "append") == 0 || strcmp(mode, "mixed") == 0 ||
       strcmp(mode, "lmtp") == 0) &&
      n_msgs == 0) {
    fprintf(stderr, "mailload: %s needs -m mbox\n", mode);
    return 2;
  }
  if (strcmp(mode, "login") == 0)
    run_threads(run_login, mode);
  else if (strcmp(mode, "append") == 0)
    run_threads(run_append, mode);
  else if (strcmp(mode, "mixed") == 0)
    run_threads(run_mixed, mode);
  else if (strcmp(mode, "pop3") == 0)
    run_threads(run_pop3, mode);
  else if (strcmp(mode, "folder") == 0)
    run_folder();
  else if (strcmp(mode, "idle") == 0)
    run_idle();
  else if (strcmp(mode, "lmtp") == 0) {
    dot_stuff();
    t_step = now();
    run_threads(run_lmtp, mode);
  }
  else
    usage();
  return 0;
}
