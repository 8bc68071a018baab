/*
 * qnotify.c - datagrams to the job controller about new queue files
 */
#include "build-config.h"
#include "qnotify.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>

static GMutex lock;
static int sock = -1;
static struct sockaddr_un peer;
static bool have_peer;

void qnotify_set_run_dir(const char *run_dir) {
  g_mutex_lock(&lock);
  memset(&peer, 0, sizeof(peer));
  peer.sun_family = AF_UNIX;
  int n = snprintf(peer.sun_path, sizeof(peer.sun_path), "%s/%s", run_dir,
                   QNOTIFY_SOCKET);
  have_peer = n > 0 && (size_t)n < sizeof(peer.sun_path);
  g_mutex_unlock(&lock);
}

static const char *priority_word(cursus_priority p) {
  return p == CURSUS_PRIORITY_URGENT      ? "urgent"
         : p == CURSUS_PRIORITY_NONURGENT ? "non-urgent"
                                          : "normal";
}

/* word_ok - a field without white space or control characters */
static bool word_ok(const char *s) {
  if (*s == '\0')
    return false;
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
    if (*p <= 0x20 || *p == 0x7f)
      return false;
  return true;
}

size_t qnotify_format(const qnotify_msg *m, char out[QNOTIFY_MAX]) {
  int n;
  if (!word_ok(m->channel))
    return 0;
  if (m->type == QNOTIFY_NEW) {
    if (!word_ok(m->path))
      return 0;
    n = snprintf(out, QNOTIFY_MAX, "Q1 NEW %s %s %s %llu %u\n", m->channel,
                 m->path, priority_word(m->priority),
                 (unsigned long long)m->size, m->rcpts);
  } else {
    n = snprintf(out, QNOTIFY_MAX, "Q1 RUN %s\n", m->channel);
  }
  return n > 0 && n < QNOTIFY_MAX ? (size_t)n : 0;
}

/* send_msg - one datagram; every failure is silently dropped */
static void send_msg(const qnotify_msg *m) {
  char buf[QNOTIFY_MAX];
  size_t len = qnotify_format(m, buf);
  if (len == 0)
    return;
  g_mutex_lock(&lock);
  if (have_peer) {
    if (sock < 0) {
      /* the job controller's receive queue holds few datagrams
       * (net.unix.max_dgram_qlen): wait a moment for room rather than
       * lose a notification in a burst, but never long */
      sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
      if (sock >= 0)
        setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    if (sock >= 0) {
      ssize_t n = sendto(sock, buf, len, MSG_NOSIGNAL,
                         (struct sockaddr *)&peer, sizeof(peer));
      (void)n; /* ENOENT, ECONNREFUSED, EAGAIN: nobody listens now */
    }
  }
  g_mutex_unlock(&lock);
}

void qnotify_new(const char *channel, const char *rel_path,
                 cursus_priority priority, uint64_t size, unsigned rcpts) {
  qnotify_msg m = {.type = QNOTIFY_NEW, .priority = priority, .size = size,
                   .rcpts = rcpts};
  if (g_strlcpy(m.channel, channel, sizeof(m.channel)) >= sizeof(m.channel) ||
      g_strlcpy(m.path, rel_path, sizeof(m.path)) >= sizeof(m.path))
    return;
  send_msg(&m);
}

void qnotify_run(const char *target) {
  qnotify_msg m = {.type = QNOTIFY_RUN};
  if (g_strlcpy(m.channel, target, sizeof(m.channel)) >= sizeof(m.channel))
    return;
  send_msg(&m);
}

/* next_word - the field at *P up to a space or the end; false if empty */
static bool next_word(const char **p, const char *end, char *out, size_t max) {
  const char *s = *p;
  const char *e = s;
  while (e < end && *e != ' ')
    e++;
  size_t n = (size_t)(e - s);
  if (n == 0 || n >= max)
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
      return false;
  memcpy(out, s, n);
  out[n] = '\0';
  *p = e < end ? e + 1 : e;
  return true;
}

/* parse_count - a decimal count */
static bool parse_count(const char *word, uint64_t *out) {
  char *e = NULL;
  errno = 0;
  *out = g_ascii_strtoull(word, &e, 10);
  return errno == 0 && e != NULL && *e == '\0' && g_ascii_isdigit(word[0]);
}

bool qnotify_parse(const char *buf, size_t len, qnotify_msg *m) {
  char word[256];
  memset(m, 0, sizeof(*m));
  if (len == 0 || len > QNOTIFY_MAX || buf[len - 1] != '\n')
    return false;
  const char *p = buf, *end = buf + len - 1;
  if (!next_word(&p, end, word, sizeof(word)) || strcmp(word, "Q1") != 0 ||
      !next_word(&p, end, word, sizeof(word)))
    return false;
  if (strcmp(word, "RUN") == 0) {
    m->type = QNOTIFY_RUN;
    return next_word(&p, end, m->channel, sizeof(m->channel)) && p == end;
  }
  if (strcmp(word, "NEW") != 0)
    return false;
  m->type = QNOTIFY_NEW;
  if (!next_word(&p, end, m->channel, sizeof(m->channel)) ||
      !next_word(&p, end, m->path, sizeof(m->path)) ||
      !next_word(&p, end, word, sizeof(word)))
    return false;
  if (strcmp(word, "urgent") == 0)
    m->priority = CURSUS_PRIORITY_URGENT;
  else if (strcmp(word, "normal") == 0)
    m->priority = CURSUS_PRIORITY_NORMAL;
  else if (strcmp(word, "non-urgent") == 0)
    m->priority = CURSUS_PRIORITY_NONURGENT;
  else
    return false;
  if (!next_word(&p, end, word, sizeof(word)) || !parse_count(word, &m->size))
    return false;
  if (p == end) /* a sender that does not count recipients */
    return true;
  uint64_t rcpts = 0;
  if (!next_word(&p, end, word, sizeof(word)) || p != end ||
      !parse_count(word, &rcpts) || rcpts > UINT_MAX)
    return false;
  m->rcpts = (unsigned)rcpts;
  return true;
}

int qnotify_listen(const char *run_dir, char **error_r) {
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", run_dir,
                   QNOTIFY_SOCKET);
  if (n <= 0 || (size_t)n >= sizeof(sun.sun_path)) {
    *error_r = g_strdup_printf("socket path too long: %s/%s", run_dir,
                               QNOTIFY_SOCKET);
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error_r = g_strdup_printf("socket: %s", g_strerror(errno));
    return -1;
  }
  (void)unlink(sun.sun_path);
  if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
      chmod(sun.sun_path, 0660) < 0) {
    *error_r = g_strdup_printf("cannot listen on %s: %s", sun.sun_path,
                               g_strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}
