/*
 * pop3.c - the POP3 server module (RFC 1939, CAPA and RESP-CODES of RFC
 * 2449, SASL of RFC 5034, STLS of RFC 2595, AUTH-RESP-CODE of RFC 3206)
 *
 * Offers the module descriptor (proto_pop3, protocol "pop3").  After
 * login the INBOX is opened exclusively (one POP3 session per maildrop,
 * across every worker process) and listed once; DELE only marks, and the
 * marked messages are expunged at QUIT, never when the connection simply
 * drops.  RETR and TOP stream the message file with dot-stuffing in
 * batches, yielding to other sessions while the client reads.
 *
 * Reaches the store only through host->store, users through host->auth.
 */
#include "build-config.h"
#include "pop3-parse.h"
#include "../common/login.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <cursus/cursus.h>

#define HOST pop3_host
#define STORE (pop3_host->store->ops)
#define RETR_BATCH (256 * 1024)
#define RETR_CHUNK (64 * 1024)
/* SASL responses may be longer than POP3 command lines */
#define LINE_LIMIT 8192

static const cursus_host *pop3_host;
static cursus_module_ctx *pop3_ctx;

static struct {
  unsigned timeout_ms;
  unsigned login_timeout_ms;
  bool allow_plaintext;
  unsigned max_bad_commands;
  bool mark_seen;
  char *greeting;
  svcaccess *access;
  userlimit *limits;
} set;

typedef enum pop3_state {
  POP3_AUTHORIZATION,
  POP3_TRANSACTION,
  POP3_UPDATE,
} pop3_state;

typedef struct pop3_msg {
  uint32_t uid;
  uint64_t size;
  bool gone;      /* expunged before the listing: never offered */
  bool deleted;   /* DELE */
  bool retrieved; /* RETR */
} pop3_msg;

/* A RETR or TOP in progress. */
typedef struct pop3_stream {
  int fd;
  uint64_t off;        /* next octet of the file */
  uint64_t end;        /* end of the region */
  uint64_t body_start; /* TOP: where the body begins */
  int64_t lines_left;  /* TOP: body lines still to send; -1 = all */
  bool line_start;     /* the next octet begins a line */
  char last;           /* the last octet sent */
} pop3_stream;

typedef struct pop3_session {
  cursus_conn *conn;
  const cursus_conn_info *info;
  pop3_state state;
  bool tls;
  bool closed;
  bool job_running;
  bool quitting;
  unsigned bad_commands;
  GString *out;
  svcaccess_client client;

  char *user_name;     /* from USER */
  char *password;      /* PASS, while the check runs */
  char *mech;          /* AUTH in progress */
  cursus_sasl *sasl;
  char *response;
  size_t response_len;
  bool have_response;
  bool sasl_final;     /* final data sent, waiting for the empty reply */
  bool sasl_input;     /* input lines are SASL responses */
  login_result result;
  cursus_timer *delay;

  cursus_store_user *user;
  char *user_id;
  int slot;
  cursus_store_mailbox *box;
  uint32_t uidvalidity;
  pop3_msg *msgs;
  uint32_t count;
  char reply[256];     /* the job's reply line */

  pop3_stream *stream;
  bool drain_wait;
} pop3_session;

static void session_free(pop3_session *s);

static login_policy policy(void) {
  login_policy p = {HOST, pop3_ctx, "pop3", set.access, set.limits};
  return p;
}

/* ------------------------------------------------------------ output */

static void out_printf(pop3_session *s, const char *fmt, ...)
    CURSUS_PRINTF(2, 3);

static void out_printf(pop3_session *s, const char *fmt, ...) {
  va_list args;
  if (s->out == NULL)
    s->out = g_string_sized_new(256);
  va_start(args, fmt);
  g_string_append_vprintf(s->out, fmt, args);
  va_end(args);
}

static void flush(pop3_session *s) {
  if (s->out == NULL || s->closed || s->job_running)
    return;
  if (s->out->len > 0)
    HOST->conn->write(s->conn, s->out->str, s->out->len);
  g_string_free(s->out, TRUE);
  s->out = NULL;
}

static void set_log_context(pop3_session *s) {
  char ctx[512];
  snprintf(ctx, sizeof(ctx), "pop3 %s%s%s%s", s->info->remote_ip,
           s->user_id ? " user=" : "", s->user_id ? s->user_id : "",
           s->tls ? " tls" : "");
  HOST->conn->set_log_context(s->conn, ctx);
}

static bool plaintext_ok(const pop3_session *s) {
  return s->tls || set.allow_plaintext;
}

/* ------------------------------------------------------------ jobs */

typedef struct pop3_job {
  pop3_session *s;
  void (*work)(pop3_session *s);
  void (*done)(pop3_session *s);
} pop3_job;

static void job_work(void *data) {
  pop3_job *job = data;
  job->work(job->s);
}

static void job_done(void *data) {
  pop3_job *job = data;
  pop3_session *s = job->s;
  s->job_running = false;
  if (s->closed) {
    session_free(s);
  } else {
    job->done(s);
    flush(s);
  }
  g_free(job);
}

/* run_job - WORK on a host thread with input suspended, DONE after */
static void run_job(pop3_session *s, void (*work)(pop3_session *),
                    void (*done)(pop3_session *)) {
  pop3_job *job = g_new0(pop3_job, 1);
  const char *error = NULL;
  job->s = s;
  job->work = work;
  job->done = done;
  s->job_running = true;
  HOST->conn->suspend(s->conn);
  if (HOST->run_blocking(job_work, job_done, job, &error) != CURSUS_OK) {
    job_work(job);
    job_done(job);
  }
}

static void resume(pop3_session *s) {
  if (!s->closed)
    HOST->conn->resume(s->conn);
}

/* ------------------------------------------------------------ login */

static cursus_auth_info auth_info(const pop3_session *s) {
  cursus_auth_info ai = {.service = "pop3",
                         .remote_ip = s->info->remote_ip,
                         .tls = s->tls};
  return ai;
}

/* open_maildrop - thread: lock and list the INBOX of the user */
static void open_maildrop(pop3_session *s) {
  const char *error = NULL;
  cursus_store_user *u = s->result.store;
  if (STORE->mailbox_open(u, "INBOX", CURSUS_STORE_OPEN_EXCLUSIVE, &s->box,
                          &error) != CURSUS_OK) {
    cursus_store_error e = STORE->user_last_error(u);
    s->box = NULL;
    g_strlcpy(s->reply,
              e == CURSUS_STORE_E_INUSE
                  ? "-ERR [IN-USE] Mailbox is locked by another POP3 session"
                  : "-ERR [SYS/TEMP] Mailbox is not available",
              sizeof(s->reply));
    login_policy p = policy();
    login_release(&p, s->result.user, &s->result.slot, &s->result.store);
    return;
  }
  cursus_store_status st = {.size = sizeof(st),
                            .items = CURSUS_STORE_STATUS_UIDVALIDITY};
  if (STORE->mailbox_state(s->box, &st, &error) == CURSUS_OK)
    s->uidvalidity = st.uidvalidity;
  s->count = STORE->mailbox_count(s->box);
  s->msgs = g_new0(pop3_msg, s->count > 0 ? s->count : 1);
  for (uint32_t i = 0; i < s->count; i++) {
    cursus_store_message m = {.size = sizeof(m)};
    if (STORE->message_info(s->box, i + 1, &m, &error) == CURSUS_OK) {
      s->msgs[i].uid = m.uid;
      s->msgs[i].size = m.rfc822_size;
    } else {
      /* expunged meanwhile: never offered */
      s->msgs[i].gone = true;
    }
  }
  s->reply[0] = '\0';
}

static void login_work(pop3_session *s) {
  login_policy p = policy();
  cursus_auth_info ai = auth_info(s);
  login_password(&p, &s->client, &ai, s->user_name, s->password, &s->result);
  memset(s->password, 0, strlen(s->password));
  g_free(s->password);
  s->password = NULL;
  if (s->result.outcome == LOGIN_OK)
    open_maildrop(s);
}

static const char *refusal(login_refusal why) {
  switch (why) {
  case LOGIN_DENIED:
    return "-ERR [AUTH] Access denied";
  case LOGIN_TOO_MANY:
    return "-ERR [SYS/TEMP] Too many sessions of this user";
  case LOGIN_NO_MAILBOX:
    return "-ERR [AUTH] No mailbox";
  case LOGIN_TEMP_AUTH:
    return "-ERR [SYS/TEMP] Temporary authentication failure";
  case LOGIN_NO_STORE:
    break;
  }
  return "-ERR [SYS/TEMP] Mailbox not available";
}

static void finish_login(pop3_session *s) {
  login_result *r = &s->result;
  if (r->outcome == LOGIN_OK && s->box != NULL) {
    s->user = r->store;
    s->slot = r->slot;
    s->user_id = g_strdup(r->user);
    r->store = NULL;
    r->slot = -1;
    s->state = POP3_TRANSACTION;
    HOST->conn->set_timeout(s->conn, set.timeout_ms);
    set_log_context(s);
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->count; i++)
      total += s->msgs[i].size;
    HOST->log(pop3_ctx, CURSUS_LOG_INFO,
              "logged in (%s), %u messages, %" G_GUINT64_FORMAT " octets",
              s->mech != NULL ? s->mech : "USER", s->count, total);
    out_printf(s, "+OK Logged in, %u messages (%" G_GUINT64_FORMAT
                  " octets)\r\n",
               s->count, total);
  } else if (r->outcome == LOGIN_OK) {
    out_printf(s, "%s\r\n", s->reply);
  } else if (r->outcome == LOGIN_FAILED) {
    HOST->log(pop3_ctx, CURSUS_LOG_NOTICE, "authentication failed%s%s",
              s->user_name ? " for " : "", s->user_name ? s->user_name : "");
    out_printf(s, "-ERR [AUTH] Authentication failed\r\n");
  } else {
    out_printf(s, "%s\r\n", refusal(r->why));
  }
  login_result_clear(&(login_policy){HOST, pop3_ctx, NULL, NULL, NULL}, r);
  if (s->sasl != NULL)
    HOST->auth->sasl_finish(&s->sasl);
  g_free(s->mech);
  s->mech = NULL;
  s->sasl_input = false;
  g_free(s->user_name);
  s->user_name = NULL;
  flush(s);
  resume(s);
}

static void delay_over(void *data) {
  pop3_session *s = data;
  HOST->timer_remove(&s->delay);
  finish_login(s);
}

static void login_done(pop3_session *s) {
  if (s->result.outcome == LOGIN_FAILED && s->result.delay_ms > 0) {
    s->delay = HOST->timer_add(s->result.delay_ms, delay_over, s);
    return;
  }
  finish_login(s);
}

/* ------------------------------------------------------------ SASL */

static void sasl_work(pop3_session *s) {
  login_policy p = policy();
  login_sasl_step(&p, &s->client, s->sasl,
                  s->have_response ? s->response : NULL,
                  s->have_response ? s->response_len : 0, &s->result);
  if (s->response != NULL) {
    memset(s->response, 0, s->response_len);
    g_free(s->response);
    s->response = NULL;
  }
  if (s->result.outcome == LOGIN_OK)
    open_maildrop(s);
}

static void sasl_final_work(pop3_session *s) {
  login_policy p = policy();
  login_open_user(&p, &s->client, &s->result);
  if (s->result.outcome == LOGIN_OK)
    open_maildrop(s);
}

static void sasl_done(pop3_session *s) {
  if (s->result.outcome != LOGIN_AGAIN) {
    login_done(s);
    return;
  }
  s->sasl_final = s->result.final_data;
  gchar *b64 = g_base64_encode((const guchar *)s->result.challenge.data,
                               s->result.challenge.len);
  out_printf(s, "+ %s\r\n", b64);
  g_free(b64);
  s->sasl_input = true;
  resume(s);
}

static void sasl_abort(pop3_session *s, const char *reply) {
  HOST->auth->sasl_finish(&s->sasl);
  g_free(s->mech);
  s->mech = NULL;
  s->sasl_input = false;
  out_printf(s, "%s\r\n", reply);
}

static void sasl_line(pop3_session *s, const char *line, size_t len) {
  if (len == 1 && line[0] == '*') {
    sasl_abort(s, "-ERR Authentication cancelled");
    return;
  }
  s->sasl_input = false;
  if (s->sasl_final) {
    s->sasl_final = false;
    if (len != 0) {
      sasl_abort(s, "-ERR Expected an empty response");
      return;
    }
    run_job(s, sasl_final_work, login_done);
    return;
  }
  s->response = login_decode_b64(line, len, &s->response_len);
  if (s->response == NULL) {
    sasl_abort(s, "-ERR Invalid base64 data");
    return;
  }
  s->have_response = true;
  run_job(s, sasl_work, sasl_done);
}

/* ------------------------------------------------------------ CAPA */

static void write_capa(pop3_session *s) {
  out_printf(s, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
                "AUTH-RESP-CODE\r\nPIPELINING\r\n");
  if (s->state == POP3_AUTHORIZATION) {
    if (plaintext_ok(s))
      out_printf(s, "USER\r\n");
    if (HOST->auth != NULL) {
      cursus_auth_info ai = auth_info(s);
      const char *mechs = HOST->auth->mechanisms(&ai);
      GString *list = g_string_new(NULL);
      char **names = g_strsplit(mechs != NULL ? mechs : "", " ", -1);
      for (char **m = names; *m != NULL; m++) {
        if (**m == '\0' ||
            (!plaintext_ok(s) && (g_ascii_strcasecmp(*m, "PLAIN") == 0 ||
                                  g_ascii_strcasecmp(*m, "LOGIN") == 0)))
          continue;
        g_string_append_printf(list, " %s", *m);
      }
      g_strfreev(names);
      if (list->len > 0)
        out_printf(s, "SASL%s\r\n", list->str);
      g_string_free(list, TRUE);
    }
    if (!s->tls && HOST->conn->tls_available(s->conn))
      out_printf(s, "STLS\r\n");
  }
  /* no EXPIRE NEVER: the store's expiry rules may remove old mail */
  out_printf(s, "IMPLEMENTATION Cursus\r\n.\r\n");
}

/* ------------------------------------------------------------ RETR/TOP */

static void stream_free(pop3_session *s) {
  if (s->stream == NULL)
    return;
  if (s->stream->fd >= 0)
    close(s->stream->fd);
  g_free(s->stream);
  s->stream = NULL;
}

/* stuff - append DATA to OUT with every line that starts with "." dotted
 * (RFC 1939), copying runs between line ends at once */
static void stuff(pop3_stream *st, GString *out, const char *data, size_t n) {
  const char *p = data, *end = data + n;
  while (p < end) {
    if (st->line_start && *p == '.')
      g_string_append_c(out, '.');
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl != NULL ? nl + 1 : end;
    g_string_append_len(out, p, stop - p);
    st->line_start = nl != NULL;
    p = stop;
  }
  if (n > 0)
    st->last = data[n - 1];
}

/* top_cut - TOP: how much of DATA (at file offset OFF) to send before the
 * body line limit is reached; sets st->end when it is */
static size_t top_cut(pop3_stream *st, const char *data, size_t n,
                      uint64_t off) {
  if (st->lines_left < 0)
    return n;
  size_t i = off >= st->body_start ? 0 : (size_t)MIN(st->body_start - off, n);
  bool at_start = off + i == st->body_start || st->line_start;
  while (i < n) {
    if (at_start) {
      if (st->lines_left == 0) {
        st->end = off + i;
        return i;
      }
      st->lines_left--;
    }
    const char *nl = memchr(data + i, '\n', n - i);
    if (nl == NULL)
      return n;
    i = (size_t)(nl - data) + 1;
    at_start = true;
  }
  return n;
}

/* stream_batch - send up to a batch; true when the message is done */
static bool stream_batch(pop3_session *s) {
  pop3_stream *st = s->stream;
  char buf[RETR_CHUNK];
  if (s->out == NULL)
    s->out = g_string_sized_new(MIN(st->end - st->off, RETR_BATCH) + 64);
  while (st->off < st->end && s->out->len < RETR_BATCH) {
    size_t want = (size_t)MIN((uint64_t)sizeof(buf), st->end - st->off);
    ssize_t n = pread(st->fd, buf, want, (off_t)st->off);
    if (n <= 0) {
      /* the file shrank under us: end the message where it is */
      st->end = st->off;
      break;
    }
    size_t take = top_cut(st, buf, (size_t)n, st->off);
    stuff(st, s->out, buf, take);
    st->off += take;
  }
  if (st->off < st->end)
    return false;
  if (st->last != '\n' && st->last != '\0')
    g_string_append(s->out, "\r\n");
  g_string_append(s->out, ".\r\n");
  stream_free(s);
  return true;
}

static void continue_stream(pop3_session *s) {
  s->drain_wait = false;
  if (stream_batch(s)) {
    flush(s);
    resume(s);
    return;
  }
  flush(s);
  s->drain_wait = true;
  HOST->conn->notify(s->conn);
}

/* start_stream - RETR (LINES < 0) or TOP of message N */
static void start_stream(pop3_session *s, uint32_t n, int64_t lines) {
  const char *error = NULL;
  int fd = -1;
  uint64_t size = 0;
  if (STORE->message_open(s->box, n, &fd, &size, &error) != CURSUS_OK) {
    out_printf(s, "-ERR [SYS/TEMP] Message cannot be read\r\n");
    return;
  }
  pop3_stream *st = g_new0(pop3_stream, 1);
  st->fd = fd;
  st->end = size;
  st->line_start = true;
  st->lines_left = lines;
  if (lines >= 0) {
    cursus_store_part part = {.size = sizeof(part)};
    st->body_start = STORE->message_part(s->box, n, "", &part, &error) ==
                             CURSUS_OK
                         ? part.header_size
                         : size;
  }
  s->stream = st;
  if (lines < 0)
    out_printf(s, "+OK %" G_GUINT64_FORMAT " octets\r\n", size);
  else
    out_printf(s, "+OK\r\n");
  if (stream_batch(s))
    return; /* all of it in one batch: on with the next command */
  /* input waits until the message is out (PIPELINING keeps order) */
  HOST->conn->suspend(s->conn);
  flush(s);
  s->drain_wait = true;
  HOST->conn->notify(s->conn);
}

/* ------------------------------------------------------------ QUIT */

static void update_work(pop3_session *s) {
  GArray *del = g_array_new(FALSE, FALSE, sizeof(cursus_store_range));
  GArray *seen = g_array_new(FALSE, FALSE, sizeof(cursus_store_range));
  const char *error = NULL;
  uint32_t deleted = 0;
  for (uint32_t i = 0; i < s->count; i++) {
    cursus_store_range r = {s->msgs[i].uid, s->msgs[i].uid};
    if (s->msgs[i].deleted && !s->msgs[i].gone) {
      g_array_append_val(del, r);
      deleted++;
    } else if (s->msgs[i].retrieved && set.mark_seen) {
      g_array_append_val(seen, r);
    }
  }
  bool ok = true;
  if (seen->len > 0) {
    cursus_store_set ss = {(cursus_store_range *)(void *)seen->data,
                           seen->len, 1};
    STORE->message_store_flags(s->box, &ss, CURSUS_STORE_FLAGS_ADD,
                               CURSUS_STORE_SEEN, NULL, 0, NULL, NULL, NULL,
                               &error);
  }
  if (del->len > 0) {
    cursus_store_set ds = {(cursus_store_range *)(void *)del->data, del->len,
                           1};
    ok = STORE->message_store_flags(s->box, &ds, CURSUS_STORE_FLAGS_ADD,
                                    CURSUS_STORE_DELETED, NULL, 0, NULL, NULL,
                                    NULL, &error) == CURSUS_OK &&
         STORE->mailbox_expunge(s->box, &ds, NULL, NULL, &error) == CURSUS_OK;
  }
  if (ok)
    g_snprintf(s->reply, sizeof(s->reply),
               "+OK Logging out, %u messages deleted", deleted);
  else
    g_snprintf(s->reply, sizeof(s->reply),
               "-ERR [SYS/TEMP] Some deleted messages were not removed: %s",
               error != NULL ? error : "store error");
  g_array_free(del, TRUE);
  g_array_free(seen, TRUE);
  STORE->mailbox_close(&s->box);
}

static void update_done(pop3_session *s) {
  out_printf(s, "%s\r\n", s->reply);
  flush(s);
  HOST->conn->close(s->conn);
}

/* ------------------------------------------------------------ commands */

/* msg_arg - message number argument I of CMD, not deleted; 0 and an
 * -ERR when it is not one */
static uint32_t msg_arg(pop3_session *s, const pop3_command *cmd,
                        unsigned i) {
  uint32_t n;
  if (cmd->nargs <= i ||
      !pop3_parse_number(cmd->args[i], cmd->arg_len[i], UINT32_MAX, &n) ||
      n == 0 || n > s->count || s->msgs[n - 1].gone) {
    out_printf(s, "-ERR No such message\r\n");
    return 0;
  }
  if (s->msgs[n - 1].deleted) {
    out_printf(s, "-ERR Message %u already deleted\r\n", n);
    return 0;
  }
  return n;
}

static void cmd_user(pop3_session *s, const pop3_command *cmd) {
  if (!plaintext_ok(s)) {
    out_printf(s, "-ERR [AUTH] Plaintext authentication disallowed on "
                  "non-secure connections\r\n");
    return;
  }
  if (cmd->nargs < 1) {
    out_printf(s, "-ERR Missing user name\r\n");
    return;
  }
  g_free(s->user_name);
  s->user_name = g_strndup(cmd->rest, cmd->rest_len);
  out_printf(s, "+OK\r\n");
}

static void cmd_pass(pop3_session *s, const pop3_command *cmd) {
  if (s->user_name == NULL) {
    out_printf(s, "-ERR USER first\r\n");
    return;
  }
  if (!plaintext_ok(s)) {
    out_printf(s, "-ERR [AUTH] Plaintext authentication disallowed\r\n");
    return;
  }
  if (HOST->auth == NULL) {
    out_printf(s, "-ERR [SYS/TEMP] Authentication is not available\r\n");
    return;
  }
  s->password = g_strndup(cmd->rest != NULL ? cmd->rest : "", cmd->rest_len);
  memset(&s->result, 0, sizeof(s->result));
  s->result.slot = -1;
  run_job(s, login_work, login_done);
}

static void cmd_auth(pop3_session *s, const pop3_command *cmd) {
  if (HOST->auth == NULL) {
    out_printf(s, "-ERR [SYS/TEMP] Authentication is not available\r\n");
    return;
  }
  if (cmd->nargs == 0) {
    /* the list of mechanisms (older clients ask with a bare AUTH) */
    cursus_auth_info ai = auth_info(s);
    const char *mechs = HOST->auth->mechanisms(&ai);
    char **names = g_strsplit(mechs != NULL ? mechs : "", " ", -1);
    out_printf(s, "+OK\r\n");
    for (char **m = names; *m != NULL; m++)
      if (**m != '\0')
        out_printf(s, "%s\r\n", *m);
    out_printf(s, ".\r\n");
    g_strfreev(names);
    return;
  }
  char *mech = g_ascii_strup(cmd->args[0], (gssize)cmd->arg_len[0]);
  if (!plaintext_ok(s) &&
      (strcmp(mech, "PLAIN") == 0 || strcmp(mech, "LOGIN") == 0)) {
    g_free(mech);
    out_printf(s, "-ERR [AUTH] Plaintext authentication disallowed on "
                  "non-secure connections\r\n");
    return;
  }
  memset(&s->result, 0, sizeof(s->result));
  s->result.slot = -1;
  s->have_response = false;
  if (cmd->nargs > 1) {
    if (cmd->arg_len[1] == 1 && cmd->args[1][0] == '=')
      s->response = g_strdup("");
    else
      s->response = login_decode_b64(cmd->args[1], cmd->arg_len[1],
                                     &s->response_len);
    if (s->response == NULL) {
      g_free(mech);
      out_printf(s, "-ERR Invalid base64 data\r\n");
      return;
    }
    s->have_response = true;
  }
  cursus_auth_info ai = auth_info(s);
  const char *error = NULL;
  s->sasl = HOST->auth->sasl_start(mech, &ai, &error);
  if (s->sasl == NULL) {
    g_free(mech);
    g_free(s->response);
    s->response = NULL;
    out_printf(s, "-ERR Unsupported authentication mechanism\r\n");
    return;
  }
  s->mech = mech;
  run_job(s, sasl_work, sasl_done);
}

static void cmd_stls(pop3_session *s) {
  const char *error = NULL;
  if (s->tls) {
    out_printf(s, "-ERR TLS is already active\r\n");
    return;
  }
  if (!HOST->conn->tls_available(s->conn)) {
    out_printf(s, "-ERR TLS is not available\r\n");
    return;
  }
  out_printf(s, "+OK Begin TLS negotiation\r\n");
  flush(s);
  if (HOST->conn->start_tls(s->conn, &error) != CURSUS_OK) {
    HOST->log(pop3_ctx, CURSUS_LOG_ERROR, "cannot start TLS: %s", error);
    HOST->conn->close(s->conn);
  }
  /* RFC 2595: forget what the client said before */
  g_free(s->user_name);
  s->user_name = NULL;
}

static void cmd_list(pop3_session *s, const pop3_command *cmd, bool uidl) {
  if (cmd->nargs > 0) {
    uint32_t n = msg_arg(s, cmd, 0);
    if (n == 0)
      return;
    if (uidl)
      out_printf(s, "+OK %u %08x%08x\r\n", n, s->uidvalidity,
                 s->msgs[n - 1].uid);
    else
      out_printf(s, "+OK %u %" G_GUINT64_FORMAT "\r\n", n,
                 s->msgs[n - 1].size);
    return;
  }
  out_printf(s, "+OK\r\n");
  for (uint32_t i = 0; i < s->count; i++) {
    if (s->msgs[i].deleted || s->msgs[i].gone)
      continue;
    if (uidl)
      out_printf(s, "%u %08x%08x\r\n", i + 1, s->uidvalidity, s->msgs[i].uid);
    else
      out_printf(s, "%u %" G_GUINT64_FORMAT "\r\n", i + 1, s->msgs[i].size);
  }
  out_printf(s, ".\r\n");
}

static void cmd_stat(pop3_session *s) {
  uint32_t n = 0;
  uint64_t total = 0;
  for (uint32_t i = 0; i < s->count; i++) {
    if (s->msgs[i].deleted || s->msgs[i].gone)
      continue;
    n++;
    total += s->msgs[i].size;
  }
  out_printf(s, "+OK %u %" G_GUINT64_FORMAT "\r\n", n, total);
}

static void transaction_command(pop3_session *s, const pop3_command *cmd) {
  const char *n = cmd->name;
  uint32_t m;
  if (strcmp(n, "STAT") == 0) {
    cmd_stat(s);
  } else if (strcmp(n, "LIST") == 0 || strcmp(n, "UIDL") == 0) {
    cmd_list(s, cmd, n[0] == 'U');
  } else if (strcmp(n, "RETR") == 0) {
    if ((m = msg_arg(s, cmd, 0)) != 0) {
      s->msgs[m - 1].retrieved = true;
      start_stream(s, m, -1);
    }
  } else if (strcmp(n, "TOP") == 0) {
    uint32_t lines;
    if ((m = msg_arg(s, cmd, 0)) == 0)
      return;
    if (cmd->nargs < 2 || !pop3_parse_number(cmd->args[1], cmd->arg_len[1],
                                             UINT32_MAX, &lines)) {
      out_printf(s, "-ERR Invalid number of lines\r\n");
      return;
    }
    start_stream(s, m, lines);
  } else if (strcmp(n, "DELE") == 0) {
    if ((m = msg_arg(s, cmd, 0)) != 0) {
      s->msgs[m - 1].deleted = true;
      out_printf(s, "+OK Marked to be deleted\r\n");
    }
  } else if (strcmp(n, "RSET") == 0) {
    for (uint32_t i = 0; i < s->count; i++)
      s->msgs[i].deleted = false;
    out_printf(s, "+OK\r\n");
  } else if (strcmp(n, "NOOP") == 0) {
    out_printf(s, "+OK\r\n");
  } else if (strcmp(n, "QUIT") == 0) {
    s->state = POP3_UPDATE;
    s->quitting = true;
    run_job(s, update_work, update_done);
  } else {
    s->bad_commands++;
    out_printf(s, "-ERR Unknown command %s\r\n", n);
  }
}

static void authorization_command(pop3_session *s, const pop3_command *cmd) {
  const char *n = cmd->name;
  if (strcmp(n, "USER") == 0) {
    cmd_user(s, cmd);
  } else if (strcmp(n, "PASS") == 0) {
    cmd_pass(s, cmd);
  } else if (strcmp(n, "AUTH") == 0) {
    cmd_auth(s, cmd);
  } else if (strcmp(n, "STLS") == 0) {
    cmd_stls(s);
  } else if (strcmp(n, "QUIT") == 0) {
    out_printf(s, "+OK Bye\r\n");
    flush(s);
    HOST->conn->close(s->conn);
  } else if (strcmp(n, "APOP") == 0) {
    out_printf(s, "-ERR APOP is not supported\r\n");
  } else {
    s->bad_commands++;
    out_printf(s, "-ERR %s\r\n",
               strcmp(n, "STAT") == 0 || strcmp(n, "LIST") == 0 ||
                       strcmp(n, "RETR") == 0 || strcmp(n, "DELE") == 0 ||
                       strcmp(n, "UIDL") == 0 || strcmp(n, "TOP") == 0 ||
                       strcmp(n, "RSET") == 0 || strcmp(n, "NOOP") == 0
                   ? "Log in first"
                   : "Unknown command");
  }
}

static void pop3_on_line(void *session, const char *line, size_t len,
                         unsigned flags) {
  pop3_session *s = session;
  pop3_command cmd;
  const char *error = NULL;
  if (s->sasl_input) {
    if (flags & CURSUS_LINE_TOO_LONG)
      sasl_abort(s, "-ERR Response too long");
    else
      sasl_line(s, line, len);
    flush(s);
    return;
  }
  if ((flags & CURSUS_LINE_TOO_LONG) || !pop3_parse(line, len, &cmd, &error)) {
    s->bad_commands++;
    out_printf(s, "-ERR %s\r\n",
               (flags & CURSUS_LINE_TOO_LONG) ? "Command line too long"
                                              : error);
  } else if (strcmp(cmd.name, "CAPA") == 0) {
    write_capa(s);
  } else if (s->state == POP3_AUTHORIZATION) {
    authorization_command(s, &cmd);
  } else if (s->state == POP3_TRANSACTION) {
    transaction_command(s, &cmd);
  }
  if (set.max_bad_commands > 0 && s->bad_commands >= set.max_bad_commands) {
    out_printf(s, "-ERR Too many invalid commands\r\n");
    flush(s);
    HOST->conn->close(s->conn);
    return;
  }
  flush(s);
}

static size_t pop3_on_bytes(void *session, const char *data, size_t len) {
  (void)session;
  (void)data;
  return len; /* POP3 reads lines only */
}

static void pop3_on_event(void *session, unsigned events) {
  pop3_session *s = session;
  if (events & CURSUS_EVENT_TLS_DONE) {
    s->tls = true;
    set_log_context(s);
  }
  if (events & CURSUS_EVENT_TLS_FAIL) {
    HOST->conn->close(s->conn);
    return;
  }
  if (events & (CURSUS_EVENT_TIMEOUT | CURSUS_EVENT_SHUTDOWN)) {
    if (s->job_running || s->quitting)
      return; /* QUIT's update finishes first */
    out_printf(s, "-ERR [SYS/TEMP] %s\r\n",
               (events & CURSUS_EVENT_TIMEOUT) ? "Autologout; idle for too long"
                                               : "Server shutting down");
    flush(s);
    HOST->conn->close(s->conn);
    return;
  }
  if ((events & (CURSUS_EVENT_NOTIFY | CURSUS_EVENT_DRAINED)) &&
      s->drain_wait && s->stream != NULL &&
      HOST->conn->pending_output(s->conn) == 0)
    continue_stream(s);
}

/* ------------------------------------------------------------ sessions */

static void greet(pop3_session *s) {
  out_printf(s, "+OK %s\r\n", set.greeting);
  flush(s);
}

static void resolve_work(pop3_session *s) {
  char *host = svcaccess_resolve(s->info->remote_ip, &s->client.spoofed);
  s->client.host = host;
}

static void resolve_done(pop3_session *s) {
  if (svcaccess_check(set.access, &s->client) == SVCACCESS_DENY) {
    out_printf(s, "-ERR [AUTH] Access denied\r\n");
    flush(s);
    HOST->conn->close(s->conn);
    return;
  }
  greet(s);
  resume(s);
}

static int pop3_session_open(cursus_module_ctx *ctx, cursus_conn *conn,
                             void **session_r, const char **error_r) {
  (void)ctx;
  (void)error_r;
  pop3_session *s = g_new0(pop3_session, 1);
  s->conn = conn;
  s->info = HOST->conn->info(conn);
  s->tls = s->info->tls != 0;
  s->slot = -1;
  s->result.slot = -1;
  s->client.service = s->info->implicit_tls ? "pops" : "pop";
  s->client.alias = s->info->service;
  s->client.ip = s->info->remote_ip;
  HOST->conn->set_line_limit(conn, LINE_LIMIT);
  HOST->conn->set_timeout(conn, set.login_timeout_ms);
  set_log_context(s);
  *session_r = s;
  if (svcaccess_needs_names(set.access)) {
    run_job(s, resolve_work, resolve_done);
    return CURSUS_OK;
  }
  if (svcaccess_check(set.access, &s->client) == SVCACCESS_DENY) {
    HOST->log(pop3_ctx, CURSUS_LOG_NOTICE,
              "connection refused by the access filter");
    out_printf(s, "-ERR [AUTH] Access denied\r\n");
    flush(s);
    HOST->conn->close(conn);
    return CURSUS_OK;
  }
  greet(s);
  return CURSUS_OK;
}

static void session_free(pop3_session *s) {
  login_policy p = policy();
  stream_free(s);
  if (s->delay != NULL)
    HOST->timer_remove(&s->delay);
  if (s->sasl != NULL)
    HOST->auth->sasl_finish(&s->sasl);
  /* a dropped connection deletes nothing (RFC 1939) */
  if (s->box != NULL)
    STORE->mailbox_close(&s->box);
  login_release(&p, s->result.user, &s->result.slot, &s->result.store);
  login_result_clear(&p, &s->result);
  login_release(&p, s->user_id, &s->slot, &s->user);
  if (s->password != NULL) {
    memset(s->password, 0, strlen(s->password));
    g_free(s->password);
  }
  if (s->response != NULL) {
    memset(s->response, 0, s->response_len);
    g_free(s->response);
  }
  if (s->out != NULL)
    g_string_free(s->out, TRUE);
  g_free((char *)s->client.host);
  g_free(s->user_name);
  g_free(s->mech);
  g_free(s->user_id);
  g_free(s->msgs);
  g_free(s);
}

static void pop3_session_close(void *session) {
  pop3_session *s = session;
  s->closed = true;
  if (!s->job_running)
    session_free(s);
}

/* ------------------------------------------------------------ module */

static int pop3_init(cursus_module_ctx *ctx, const cursus_host *host,
                     const char **error_r) {
  static char error[512];
  pop3_host = host;
  pop3_ctx = ctx;
  if (host->process == CURSUS_PROC_WORKER && host->conn == NULL) {
    *error_r = "no connection services in this worker";
    return CURSUS_PERMFAIL;
  }
  /* RFC 1939: the autologout timer is at least 10 minutes */
  set.timeout_ms = (unsigned)CLAMP(host->setting_int(ctx, "timeout", 600), 600,
                                   86400) * 1000;
  set.login_timeout_ms =
      (unsigned)CLAMP(host->setting_int(ctx, "login_timeout", 60), 1, 86400) *
      1000;
  set.allow_plaintext = host->setting_int(ctx, "allow_plaintext_login", 0);
  set.max_bad_commands =
      (unsigned)MAX(host->setting_int(ctx, "max_bad_commands", 20), 0);
  set.mark_seen = host->setting_int(ctx, "mark_seen", 1) != 0;
  const char *g = host->setting(ctx, "greeting");
  g_free(set.greeting);
  set.greeting = g_strdup(g != NULL ? g : "Cursus POP3 ready");
  char *why = NULL;
  svcaccess_free(&set.access);
  set.access = svcaccess_parse(host->setting(ctx, "domain_allowed"),
                               "[module proto_pop3] domain_allowed",
                               host->setting(ctx, "domain_not_allowed"),
                               "[module proto_pop3] domain_not_allowed", &why);
  if (why != NULL) {
    g_strlcpy(error, why, sizeof(error));
    g_free(why);
    *error_r = error;
    return CURSUS_PERMFAIL;
  }
  if (host->process == CURSUS_PROC_WORKER) {
    char *dir = g_build_filename(host->path(ctx, CURSUS_PATH_RUN), "sessions",
                                 NULL);
    userlimit_free(&set.limits);
    set.limits = userlimit_new(
        dir, "pop3",
        (unsigned)MAX(host->setting_int(ctx, "max_sessions_per_user", 10), 0));
    g_free(dir);
  }
  return CURSUS_OK;
}

static void pop3_fini(cursus_module_ctx *ctx) {
  (void)ctx;
  svcaccess_free(&set.access);
  userlimit_free(&set.limits);
  g_free(set.greeting);
  set.greeting = NULL;
}

static const char *const pop3_names[] = {"pop3", "pop", NULL};

static const cursus_protocol_ops pop3_ops = {
    .size = sizeof(cursus_protocol_ops),
    .names = pop3_names,
    .busy_reply = "-ERR [SYS/TEMP] Too many connections, try again later\r\n",
    .session_open = pop3_session_open,
    .on_line = pop3_on_line,
    .on_bytes = pop3_on_bytes,
    .on_event = pop3_on_event,
    .session_close = pop3_session_close,
};

static const cursus_keyword pop3_settings[] = {
    {"timeout", CURSUS_VALUE_DURATION, 1, 1,
     "idle timeout after login (default and minimum 10 minutes, RFC 1939)"},
    {"login_timeout", CURSUS_VALUE_DURATION, 1, 1,
     "idle timeout before login (default 60 seconds)"},
    {"allow_plaintext_login", CURSUS_VALUE_BOOLEAN, 1, 1,
     "allow USER/PASS and AUTH PLAIN/LOGIN without TLS (default no)"},
    {"max_sessions_per_user", CURSUS_VALUE_INTEGER, 1, 1,
     "POP3 sessions one user may have open at once (default 10; 0 = any)"},
    {"max_bad_commands", CURSUS_VALUE_INTEGER, 1, 1,
     "invalid commands before the session is ended (default 20)"},
    {"mark_seen", CURSUS_VALUE_BOOLEAN, 1, 1,
     "set \\Seen on retrieved messages at QUIT (default yes)"},
    {"greeting", CURSUS_VALUE_STRING, 1, 0, "text of the greeting"},
    {"domain_allowed", CURSUS_VALUE_STRING, 1, 0,
     "access filters that allow clients (TCP-wrapper syntax, \"$\" between "
     "filters; services pop and pops)"},
    {"domain_not_allowed", CURSUS_VALUE_STRING, 1, 0,
     "access filters that refuse clients"},
    {NULL, 0, 0, 0, NULL},
};

CURSUS_MODULE(.name = "proto_pop3", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "POP3 server",
              .kinds = CURSUS_KIND_PROTOCOL,
              .processes = CURSUS_PROC_WORKER | CURSUS_PROC_TOOL,
              .settings = pop3_settings, .init = pop3_init, .fini = pop3_fini,
              .protocol = &pop3_ops);
