/*
 * pipe.c - delivery to programs (the pipe channel)
 *
 * Serves channels named pipe*.  A recipient METHOD@host or
 * METHOD+USER@host runs the program the administrator registered as
 * METHOD in the program table (`programs` of [module channel_pipe],
 * default CONFIG/pipe.programs; it must not be writable by group or
 * others).  Each table line is
 *
 *     METHOD  /absolute/program  [ARGUMENT ...]
 *
 * where an argument may contain $U (the USER part), $R (the recipient),
 * $S (the sender) and $$; they are substituted inside one argument and
 * never split, so an address cannot add arguments.  No shell runs.  The
 * program gets the message on standard input (LF line ends, Return-Path:
 * in front), a clean environment (PATH, HOME, LANG, SENDER, RECIPIENT,
 * USER) and the server user's privileges.  Exit 0 is delivered, 75
 * (EX_TEMPFAIL) or a signal or the `timeout` is a temporary failure, any
 * other status a permanent one whose diagnostic is the first line the
 * program wrote on standard error.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <cursus/cursus.h>

#define EX_TEMPFAIL_CODE 75
#define STDERR_KEEP 512

static const cursus_host *host;
static cursus_module_ctx *me;

typedef struct pipe_chan {
  GHashTable *programs; /* method -> GStrv (program, args) */
  unsigned timeout_s;
} pipe_chan;

static int pipe_init(cursus_module_ctx *ctx, const cursus_host *h,
                     const char **error_r) {
  if (h->queue == NULL) {
    *error_r = "the host offers no queue services";
    return CURSUS_PERMFAIL;
  }
  host = h;
  me = ctx;
  return CURSUS_OK;
}

/* load_table - read the program table PATH; false with *why_r */
static bool load_table(const char *path, GHashTable *out, char **why_r) {
  struct stat st;
  if (stat(path, &st) < 0) {
    *why_r = g_strdup_printf("%s: %s", path, g_strerror(errno));
    return false;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    *why_r = g_strdup_printf("%s is writable by group or others: refused",
                             path);
    return false;
  }
  char *text = NULL;
  GError *err = NULL;
  if (!g_file_get_contents(path, &text, NULL, &err)) {
    *why_r = g_strdup(err->message);
    g_error_free(err);
    return false;
  }
  char **lines = g_strsplit(text, "\n", -1);
  bool ok = true;
  for (unsigned i = 0; lines[i] != NULL && ok; i++) {
    char *l = g_strstrip(lines[i]);
    if (*l == '\0' || *l == '!' || *l == '#')
      continue;
    char **w = g_strsplit_set(l, " \t", -1);
    GPtrArray *words = g_ptr_array_new();
    for (char **p = w; *p != NULL; p++)
      if (**p != '\0')
        g_ptr_array_add(words, g_strdup(*p));
    g_strfreev(w);
    if (words->len < 2 || ((char *)words->pdata[1])[0] != '/') {
      *why_r = g_strdup_printf("%s:%u: expected METHOD /absolute/program "
                               "[ARGUMENT ...]",
                               path, i + 1);
      ok = false;
      g_ptr_array_set_free_func(words, g_free);
      g_ptr_array_free(words, TRUE);
      break;
    }
    char *method = words->pdata[0];
    g_ptr_array_remove_index(words, 0);
    g_ptr_array_add(words, NULL);
    g_hash_table_replace(out, g_ascii_strdown(method, -1),
                         g_ptr_array_free(words, FALSE));
    g_free(method);
  }
  g_strfreev(lines);
  g_free(text);
  return ok;
}

static int pipe_open(cursus_module_ctx *ctx, const cursus_channel *chan,
                     void **data_r, const char **error_r) {
  static char error[512];
  const char *table = host->setting(ctx, "programs");
  char *path = table != NULL && table[0] == '/'
                   ? g_strdup(table)
                   : g_build_filename(host->path(ctx, CURSUS_PATH_CONFIG),
                                      table != NULL ? table : "pipe.programs",
                                      NULL);
  pipe_chan *c = g_new0(pipe_chan, 1);
  c->programs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify)g_strfreev);
  c->timeout_s = (unsigned)host->setting_int(ctx, "timeout", 300);
  char *why = NULL;
  if (!load_table(path, c->programs, &why)) {
    g_strlcpy(error, why, sizeof(error));
    g_free(why);
    g_free(path);
    g_hash_table_destroy(c->programs);
    g_free(c);
    *error_r = error;
    return CURSUS_PERMFAIL;
  }
  g_free(path);
  *data_r = c;
  return CURSUS_OK;
}

/* substitute - one argument with $U $R $S $$ replaced */
static char *substitute(const char *arg, const char *user, const char *rcpt,
                        const char *sender) {
  GString *s = g_string_new(NULL);
  for (const char *p = arg; *p != '\0'; p++) {
    if (*p != '$' || p[1] == '\0') {
      g_string_append_c(s, *p);
      continue;
    }
    p++;
    switch (*p) {
    case 'U': g_string_append(s, user); break;
    case 'R': g_string_append(s, rcpt); break;
    case 'S': g_string_append(s, sender); break;
    default: g_string_append_c(s, *p); break;
    }
  }
  return g_string_free(s, FALSE);
}

/* message_text - the content with LF line ends and Return-Path: */
static GString *message_text(int in, uint64_t off, uint64_t len,
                             const char *sender) {
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "Return-Path: <%s>\n", sender);
  char buf[65536];
  for (uint64_t done = 0; done < len;) {
    ssize_t n = pread(in, buf, (size_t)MIN((uint64_t)sizeof(buf), len - done),
                      (off_t)(off + done));
    if (n <= 0) {
      g_string_free(s, TRUE);
      return NULL;
    }
    for (ssize_t i = 0; i < n; i++)
      if (!(buf[i] == '\r' && (i + 1 < n ? buf[i + 1] == '\n' : true)))
        g_string_append_c(s, buf[i]);
    done += (uint64_t)n;
  }
  return s;
}

/* run - run ARGV with ENV, feeding INPUT; the exit status (or -signal,
 * or -1000 on timeout) and the first line of its standard error */
static int run(char **argv, char **env, const GString *input, unsigned timeout,
               char *err_line, size_t err_size) {
  int in[2], errp[2];
  if (pipe2(in, O_CLOEXEC) < 0)
    return -2000;
  if (pipe2(errp, O_CLOEXEC) < 0) {
    close(in[0]);
    close(in[1]);
    return -2000;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(errp[1], 2);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    setsid();
    signal(SIGPIPE, SIG_DFL);
    execve(argv[0], argv, env);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(EX_TEMPFAIL_CODE);
  }
  close(in[0]);
  close(errp[1]);
  if (pid < 0) {
    close(in[1]);
    close(errp[0]);
    return -2000;
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  size_t sent = 0, got = 0;
  char errbuf[STDERR_KEEP];
  time_t deadline = time(NULL) + timeout;
  bool timed_out = false;
  int open_fds = 2;
  while (open_fds > 0) {
    struct pollfd p[2] = {{.fd = errp[0], .events = POLLIN},
                          {.fd = in[1], .events = POLLOUT}};
    int np = in[1] >= 0 ? 2 : 1;
    int left = (int)(deadline - time(NULL));
    if (left <= 0 || poll(p, (nfds_t)np, left * 1000) == 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    if (p[0].revents) {
      char tmp[512];
      ssize_t n = read(errp[0], tmp, sizeof(tmp));
      if (n <= 0) {
        open_fds--;
        p[0].fd = -1;
        close(errp[0]);
        errp[0] = -1;
        if (in[1] < 0)
          break;
      } else if (got < sizeof(errbuf)) {
        size_t k = MIN((size_t)n, sizeof(errbuf) - got);
        memcpy(errbuf + got, tmp, k);
        got += k;
      }
    }
    if (np == 2 && p[1].revents) {
      ssize_t n = sent < input->len
                      ? write(in[1], input->str + sent, input->len - sent)
                      : 0;
      if (n > 0)
        sent += (size_t)n;
      if (n < 0 && errno == EAGAIN)
        continue;
      if (n <= 0 || sent == input->len) { /* done, or it stopped reading */
        close(in[1]);
        in[1] = -1;
        open_fds--;
      }
    }
    if (errp[0] < 0 && in[1] < 0)
      break;
  }
  if (in[1] >= 0)
    close(in[1]);
  if (errp[0] >= 0)
    close(errp[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  size_t k = 0;
  while (k < got && errbuf[k] != '\n' && k + 1 < err_size) {
    err_line[k] = g_ascii_isprint(errbuf[k]) ? errbuf[k] : '?';
    k++;
  }
  err_line[k] = '\0';
  if (timed_out)
    return -1000;
  if (WIFSIGNALED(status))
    return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

static void deliver_one(pipe_chan *c, cursus_message *msg, size_t i,
                        const GString *input) {
  const cursus_recipient *r = host->queue->recipient(msg, i);
  const char *sender = host->queue->sender(msg);
  const char *at = strrchr(r->address, '@');
  char *local = g_strndup(r->address, at != NULL ? (gsize)(at - r->address)
                                                 : strlen(r->address));
  char *plus = strchr(local, '+');
  const char *user = plus != NULL ? plus + 1 : "";
  if (plus != NULL)
    *plus = '\0';
  char *method = g_ascii_strdown(local, -1);
  char **prog = g_hash_table_lookup(c->programs, method);
  cursus_result res = {.status = CURSUS_PERMFAIL, .code = "5.1.1"};
  char *text = NULL;
  if (prog == NULL) {
    text = g_strdup_printf("no program is registered as \"%s\"", method);
  } else {
    guint n = g_strv_length(prog);
    char **argv = g_new0(char *, n + 1);
    for (guint k = 0; k < n; k++)
      argv[k] = k == 0 ? g_strdup(prog[0])
                       : substitute(prog[k], user, r->address, sender);
    char *env[] = {"PATH=/usr/bin:/bin", "HOME=/", "LANG=C",
                   g_strdup_printf("SENDER=%s", sender),
                   g_strdup_printf("RECIPIENT=%s", r->address),
                   g_strdup_printf("USER=%s", user), NULL};
    char err_line[STDERR_KEEP];
    int st = run(argv, env, input, c->timeout_s, err_line, sizeof(err_line));
    if (st == 0) {
      res.status = CURSUS_OK;
      res.code = "2.0.0";
      text = g_strdup_printf("delivered to %s", prog[0]);
    } else if (st == EX_TEMPFAIL_CODE || st < 0) {
      res.status = CURSUS_TEMPFAIL;
      res.code = "4.3.0";
      text = st == -1000 ? g_strdup_printf("%s did not finish within %u s",
                                           prog[0], c->timeout_s)
             : st == -2000 ? g_strdup_printf("cannot start %s", prog[0])
             : st < 0 ? g_strdup_printf("%s was killed by signal %d", prog[0], -st)
                      : g_strdup_printf("%s: %s", prog[0],
                                        *err_line ? err_line : "temporary failure");
    } else {
      res.code = "5.3.0";
      text = g_strdup_printf("%s exited with status %d%s%s", prog[0], st,
                             *err_line ? ": " : "", err_line);
    }
    for (int k = 3; env[k] != NULL; k++)
      g_free(env[k]);
    g_strfreev(argv);
  }
  res.text = text;
  host->queue->rcpt_result(msg, i, &res);
  if (res.status != CURSUS_OK)
    host->log(me, CURSUS_LOG_WARNING, "<%s>: %s", r->address, text);
  g_free(text);
  g_free(method);
  g_free(local);
}

static int pipe_deliver(void *data, cursus_message *msg, const char **error_r) {
  pipe_chan *c = data;
  uint64_t off, len;
  int in = host->queue->content_fd(msg, &off, &len);
  GString *input = in >= 0 ? message_text(in, off, len, host->queue->sender(msg))
                           : NULL;
  if (input == NULL) {
    *error_r = "cannot read the queued message";
    return CURSUS_TEMPFAIL;
  }
  size_t n = host->queue->recipient_count(msg);
  for (size_t i = 0; i < n; i++)
    deliver_one(c, msg, i, input);
  g_string_free(input, TRUE);
  return CURSUS_OK;
}

static void pipe_close(void *data) {
  pipe_chan *c = data;
  g_hash_table_destroy(c->programs);
  g_free(c);
}

static const cursus_keyword pipe_settings[] = {
    {"programs", CURSUS_VALUE_PATH, 1, 1, "the program table (default CONFIG/pipe.programs)"},
    {"timeout", CURSUS_VALUE_DURATION, 1, 1, "longest run of a program (default 300 s)"},
    {NULL, 0, 0, 0, NULL},
};

static const char *const pipe_names[] = {"pipe*", NULL};

static const cursus_channel_ops pipe_ops = {
    .size = sizeof(cursus_channel_ops),
    .channel_names = pipe_names,
    .open = pipe_open,
    .deliver = pipe_deliver,
    .close = pipe_close,
    .flags = CURSUS_CHANNEL_CONCURRENT,
};

CURSUS_MODULE(.name = "channel_pipe", .version = "1.0", .vendor = "Cursus",
              .license = "GPL-3.0-or-later",
              .description = "delivery to programs registered by the administrator",
              .kinds = CURSUS_KIND_CHANNEL,
              .processes = CURSUS_PROC_CHANNEL_JOB | CURSUS_PROC_TOOL,
              .settings = pipe_settings, .init = pipe_init,
              .channel = &pipe_ops);
