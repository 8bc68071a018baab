/*
 * imap.c - the IMAP4rev1/IMAP4rev2 server module: settings, sessions,
 * command dispatch and output
 *
 * Offers the module descriptor (proto_imap, protocol "imap").  Reaches
 * the store only through host->store, users only through host->auth.
 * See imap.h for how commands run.
 */
#include "build-config.h"
#include "imap.h"
#include "../common/userlimit.h"

#include <stdio.h>
#include <string.h>
#include <gmime/gmime.h>

const cursus_host *imap_host;
cursus_module_ctx *imap_ctx;
imap_settings imap_set;
userlimit *imap_userlimit;

/* Output held before the session yields to other connections. */
#define OUT_KEEP_ALLOC 16384

static void session_free(imap_session *s);
static void command_finished(imap_session *s, bool finished);
static void continue_command(imap_session *s);

/* ------------------------------------------------------------ output */

void imap_write(imap_session *s, const char *text, size_t len) {
  if (s->out == NULL)
    s->out = g_string_sized_new(MAX(len, 256));
  g_string_append_len(s->out, text, (gssize)len);
}

void imap_printf(imap_session *s, const char *fmt, ...) {
  va_list args;
  if (s->out == NULL)
    s->out = g_string_sized_new(256);
  va_start(args, fmt);
  g_string_append_vprintf(s->out, fmt, args);
  va_end(args);
}

void imap_flush(imap_session *s) {
  /* while a handler runs on a host thread, s->out is the thread's */
  if (s->out == NULL || s->closed || s->job_running)
    return;
  if (s->out->len > 0)
    HOST->conn->write(s->conn, s->out->str, s->out->len);
  if (s->out->allocated_len > OUT_KEEP_ALLOC || s->cmd == NULL) {
    g_string_free(s->out, TRUE);
    s->out = NULL;
  } else {
    g_string_truncate(s->out, 0);
  }
}

void imap_send_continuation(imap_session *s, const char *text) {
  imap_printf(s, "+ %s\r\n", text);
  imap_flush(s);
}

void imap_log(imap_session *s, cursus_log_level level, const char *fmt, ...) {
  va_list args;
  (void)s; /* the connection's log context names the session */
  va_start(args, fmt);
  HOST->logv(imap_ctx, level, fmt, args);
  va_end(args);
}

void imap_set_log_context(imap_session *s) {
  char ctx[512];
  snprintf(ctx, sizeof(ctx), "imap %s%s%s%s", s->info->remote_ip,
           s->user_id != NULL ? " user=" : "",
           s->user_id != NULL ? s->user_id : "", s->tls ? " tls" : "");
  HOST->conn->set_log_context(s->conn, ctx);
}

cursus_store_error imap_user_error(imap_session *s) {
  return s->user != NULL ? STORE->user_last_error(s->user)
                         : CURSUS_STORE_E_INTERNAL;
}

/* ------------------------------------------------------------ capability */

/* plaintext_ok - may passwords travel in the clear on this session */
static bool plaintext_ok(const imap_session *s) {
  return s->tls || imap_set.allow_plaintext;
}

void imap_capabilities(imap_session *s, GString *out) {
  g_string_append(out, "IMAP4rev1");
  if (imap_set.rev2)
    g_string_append(out, " IMAP4rev2");
  g_string_append(out, " SASL-IR LITERAL+ ID ENABLE IDLE");
  if (s->state == IMAP_STATE_NOTAUTH) {
    if (!s->tls && HOST->conn->tls_available(s->conn))
      g_string_append(out, " STARTTLS");
    if (!plaintext_ok(s))
      g_string_append(out, " LOGINDISABLED");
    if (HOST->auth != NULL) {
      cursus_auth_info ai = {.service = "imap",
                             .remote_ip = s->info->remote_ip,
                             .tls = s->tls};
      const char *mechs = HOST->auth->mechanisms(&ai);
      char **list = g_strsplit(mechs != NULL ? mechs : "", " ", -1);
      for (char **m = list; *m != NULL; m++) {
        if (**m == '\0')
          continue;
        if (!plaintext_ok(s) && (g_ascii_strcasecmp(*m, "PLAIN") == 0 ||
                                 g_ascii_strcasecmp(*m, "LOGIN") == 0))
          continue;
        g_string_append_printf(out, " AUTH=%s", *m);
      }
      g_strfreev(list);
    }
    return;
  }
  g_string_append(out,
                  " NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE"
                  " CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH"
                  " SEARCHRES WITHIN SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT"
                  " THREAD=REFERENCES QUOTA QUOTA=RES-STORAGE"
                  " QUOTA=RES-MESSAGE ACL RIGHTS=texk CONDSTORE QRESYNC"
                  " BINARY STATUS=SIZE");
  if (imap_set.compress && !s->compressed &&
      CURSUS_HAS(HOST->conn, start_compress))
    g_string_append(out, " COMPRESS=DEFLATE");
}

/* ------------------------------------------------------------ input */

void imap_set_input(imap_session *s, imap_input input) {
  s->input = input;
  if (s->closed)
    return;
  if (input == IMAP_INPUT_BUSY)
    HOST->conn->suspend(s->conn);
  else
    HOST->conn->resume(s->conn);
}

/* ------------------------------------------------------------ commands */

static void cmd_free(imap_cmd **cmdp) {
  imap_cmd *cmd = *cmdp;
  if (cmd == NULL)
    return;
  *cmdp = NULL;
  if (cmd->state_free != NULL && cmd->state != NULL)
    cmd->state_free(cmd->state);
  imap_parser_clear(&cmd->parser);
  if (cmd->text != NULL)
    g_string_free(cmd->text, TRUE);
  g_free(cmd);
}

bool imap_cmd_done(imap_session *s, imap_cmd *cmd, const char *result,
                   const char *fmt, ...) {
  va_list args;
  if (s->box != NULL && strcmp(result, "BAD") != 0)
    imap_sync(s, cmd->sync_flags);
  imap_printf(s, "%s %s ", cmd->tag, result);
  va_start(args, fmt);
  g_string_append_vprintf(s->out, fmt, args);
  va_end(args);
  g_string_append(s->out, "\r\n");
  return true;
}

bool imap_cmd_bad(imap_session *s, imap_cmd *cmd) {
  s->bad_commands++;
  const char *why = cmd->parser.error != NULL ? cmd->parser.error
                                              : "invalid arguments";
  return imap_cmd_done(s, cmd, "BAD", "Error in IMAP command %s: %s",
                       cmd->name, why);
}

bool imap_cmd_store_error(imap_session *s, imap_cmd *cmd, const char *error) {
  cursus_store_error e = imap_user_error(s);
  const char *code = imap_store_error_code(e, false);
  if (e == CURSUS_STORE_E_INTERNAL || e == CURSUS_STORE_E_CORRUPT)
    imap_log(s, CURSUS_LOG_ERROR, "%s failed: %s", cmd->name,
             error != NULL ? error : "unknown error");
  return imap_cmd_done(s, cmd, "NO", "%s%s%s%s", code != NULL ? "[" : "",
                       code != NULL ? code : "", code != NULL ? "] " : "",
                       error != NULL ? error : "failed");
}

bool imap_cmd_wait(imap_session *s, imap_cmd *cmd) {
  (void)s;
  (void)cmd;
  return false;
}

/* job plumbing ------------------------------------------------------ */

typedef struct imap_job {
  imap_session *s;
  void (*work)(imap_session *s);
  void (*done)(imap_session *s);
} imap_job;

static void job_work(void *data) {
  imap_job *job = data;
  job->work(job->s);
}

static void job_done(void *data) {
  imap_job *job = data;
  imap_session *s = job->s;
  s->job_running = false;
  if (s->closed)
    session_free(s);
  else
    job->done(s);
  g_free(job);
}

void imap_run_job(imap_session *s, void (*work)(imap_session *s),
                  void (*done)(imap_session *s)) {
  imap_job *job = g_new0(imap_job, 1);
  const char *error = NULL;
  job->s = s;
  job->work = work;
  job->done = done;
  imap_set_input(s, IMAP_INPUT_BUSY);
  s->job_running = true;
  if (HOST->run_blocking(job_work, job_done, job, &error) != CURSUS_OK) {
    /* no threads: do it here */
    job_work(job);
    job_done(job);
  }
}

static void cmd_job_work(imap_session *s) {
  imap_cmd *cmd = s->cmd;
  imap_cmd_fn *fn = cmd->next != NULL ? cmd->next : cmd->def->run;
  cmd->next = NULL;
  s->job_result = fn(s, cmd);
}

static void cmd_job_done(imap_session *s) { command_finished(s, s->job_result); }

/* command_finished - after a handler returned */
static void command_finished(imap_session *s, bool finished) {
  if (s->closed)
    return;
  if (!finished) {
    imap_flush(s);
    if (s->cmd != NULL && s->cmd->next != NULL) {
      /* continue when the output has drained */
      imap_set_input(s, IMAP_INPUT_BUSY);
      s->drain_wait = true;
      HOST->conn->notify(s->conn);
    }
    return;
  }
  cmd_free(&s->cmd);
  if (imap_set.max_bad_commands > 0 &&
      s->bad_commands >= imap_set.max_bad_commands) {
    imap_printf(s, "* BYE Too many invalid commands\r\n");
    s->logout = true;
  }
  imap_flush(s);
  if (s->logout) {
    HOST->conn->close(s->conn);
    return;
  }
  imap_set_input(s, IMAP_INPUT_COMMAND);
}

void imap_cmd_finish_async(imap_session *s) { command_finished(s, true); }

/* continue_command - run cmd->next now that the output drained */
static void continue_command(imap_session *s) {
  s->drain_wait = false;
  imap_cmd *cmd = s->cmd;
  if (cmd == NULL || cmd->next == NULL)
    return;
  if (cmd->next_blocking) {
    imap_run_job(s, cmd_job_work, cmd_job_done);
    return;
  }
  imap_cmd_fn *fn = cmd->next;
  cmd->next = NULL;
  command_finished(s, fn(s, cmd));
}

/* start_command - parse the tag and name of TEXT and run the command */
static void start_command(imap_session *s, GString *text) {
  imap_cmd *cmd = g_new0(imap_cmd, 1);
  const char *name;
  cmd->text = text;
  imap_parser_init(&cmd->parser, text->str, text->len);
  cmd->parser.utf8_names = (s->enabled & IMAP_ENABLE_REV2) != 0;
  s->cmd = cmd;
  s->commands++;
  if (text->len == 0) {
    /* an empty line is not worth a BAD: clients send one after errors */
    cmd_free(&s->cmd);
    return;
  }
  if (!imap_parse_tag(&cmd->parser, &cmd->tag)) {
    s->bad_commands++;
    imap_printf(s, "* BAD Error in IMAP command: %s\r\n", cmd->parser.error);
    command_finished(s, true);
    return;
  }
  cmd->name = "";
  if (!imap_parse_sp(&cmd->parser) || !imap_parse_atom(&cmd->parser, &name)) {
    command_finished(s, imap_cmd_bad(s, cmd));
    return;
  }
  char *upper = imap_parser_own(&cmd->parser, g_ascii_strup(name, -1));
  if (strcmp(upper, "UID") == 0) {
    cmd->uid = true;
    if (!imap_parse_sp(&cmd->parser) ||
        !imap_parse_atom(&cmd->parser, &name)) {
      command_finished(s, imap_cmd_bad(s, cmd));
      return;
    }
    upper = imap_parser_own(&cmd->parser, g_ascii_strup(name, -1));
  }
  cmd->name = upper;
  cmd->def = imap_command_find(upper);
  if (cmd->def == NULL || (cmd->uid && !(cmd->def->flags & IMAP_CMD_UID))) {
    s->bad_commands++;
    command_finished(s, imap_cmd_done(s, cmd, "BAD", "Unknown command %s%s",
                                      cmd->uid ? "UID " : "", upper));
    return;
  }
  if (!(cmd->def->states & s->state)) {
    s->bad_commands++;
    const char *why = s->state == IMAP_STATE_NOTAUTH ? "Log in first"
                      : cmd->def->states == IMAP_STATE_NOTAUTH
                          ? "Already logged in"
                      : s->state == IMAP_STATE_AUTH ? "Select a mailbox first"
                                                    : "Not valid now";
    command_finished(s, imap_cmd_done(s, cmd, "BAD", "%s %s", why, upper));
    return;
  }
  if ((cmd->def->flags & IMAP_CMD_NO_EXPUNGES) && !cmd->uid)
    cmd->sync_flags = CURSUS_STORE_SYNC_NO_EXPUNGES;
  if (cmd->def->flags & IMAP_CMD_BLOCKING) {
    imap_run_job(s, cmd_job_work, cmd_job_done);
    return;
  }
  command_finished(s, cmd->def->run(s, cmd));
}

/* command_line - a line in command input */
static void command_line(imap_session *s, const char *line, size_t len,
                         unsigned flags) {
  imap_reader *r = &s->reader;
  imap_reader_result res = imap_reader_line(r, line, len, flags);
  if (res == IMAP_READER_LITERAL) {
    if (r->error == NULL && imap_append_literal(s, r->lit_size, r->lit_sync,
                                                r->lit_binary))
      return;
    res = imap_reader_accept_literal(r);
    if (res == IMAP_READER_MORE) {
      if (r->lit_sync)
        imap_send_continuation(s, "Ready for literal data");
      if (r->lit_left > 0)
        HOST->conn->set_input_mode(s->conn, CURSUS_INPUT_BYTES);
      return;
    }
  }
  if (res == IMAP_READER_ERROR) {
    char *tag = imap_reader_tag(r);
    s->bad_commands++;
    if (tag != NULL)
      imap_printf(s, "%s BAD %s%s\r\n", tag, r->toobig ? "[TOOBIG] " : "",
                  r->error);
    else
      imap_printf(s, "* BAD %s\r\n", r->error);
    g_free(tag);
    imap_reader_reset(r);
    command_finished(s, true);
    return;
  }
  if (res == IMAP_READER_COMMAND)
    start_command(s, imap_reader_take(r));
}

/* ------------------------------------------------------------ protocol */

static void greet(imap_session *s) {
  GString *caps = g_string_new(NULL);
  imap_capabilities(s, caps);
  imap_printf(s, "* OK [CAPABILITY %s] %s\r\n", caps->str, imap_set.greeting);
  g_string_free(caps, TRUE);
  imap_flush(s);
}

static void refuse(imap_session *s, const char *why) {
  imap_log(s, CURSUS_LOG_NOTICE, "connection refused by the access filter");
  imap_printf(s, "* BYE %s\r\n", why);
  imap_flush(s);
  s->logout = true;
  HOST->conn->close(s->conn);
}

/* resolve_work / resolve_done - reverse DNS for the access filter */
static void resolve_work(imap_session *s) {
  s->client_host = svcaccess_resolve(s->info->remote_ip, &s->client.spoofed);
}

static void resolve_done(imap_session *s) {
  s->client.host = s->client_host;
  if (svcaccess_check(imap_set.access, &s->client) == SVCACCESS_DENY) {
    refuse(s, "Access denied");
    return;
  }
  greet(s);
  imap_set_input(s, IMAP_INPUT_COMMAND);
}

static int imap_session_open(cursus_module_ctx *ctx, cursus_conn *conn,
                             void **session_r, const char **error_r) {
  (void)ctx;
  (void)error_r;
  imap_session *s = g_new0(imap_session, 1);
  s->conn = conn;
  s->info = HOST->conn->info(conn);
  s->state = IMAP_STATE_NOTAUTH;
  s->tls = s->info->tls != 0;
  s->implicit_tls = s->info->implicit_tls != 0;
  s->session_slot = -1;
  s->access_name = s->implicit_tls ? "imaps" : "imap";
  s->reader.max_literal = imap_set.max_literal;
  s->reader.max_command = imap_set.max_command;
  s->client.service = s->access_name;
  s->client.alias = s->info->service;
  s->client.ip = s->info->remote_ip;
  HOST->conn->set_line_limit(conn, imap_set.max_line);
  HOST->conn->set_timeout(conn, imap_set.login_timeout_ms);
  imap_set_log_context(s);
  *session_r = s;
  if (svcaccess_needs_names(imap_set.access)) {
    imap_run_job(s, resolve_work, resolve_done);
    return CURSUS_OK;
  }
  if (svcaccess_check(imap_set.access, &s->client) == SVCACCESS_DENY)
    refuse(s, "Access denied");
  else
    greet(s);
  return CURSUS_OK;
}

static void imap_on_line(void *session, const char *line, size_t len,
                         unsigned flags) {
  imap_session *s = session;
  switch (s->input) {
  case IMAP_INPUT_COMMAND:
    command_line(s, line, len, flags);
    break;
  case IMAP_INPUT_SASL:
    imap_sasl_line(s, line, len);
    break;
  case IMAP_INPUT_IDLE:
    imap_idle_line(s, line, len);
    break;
  case IMAP_INPUT_APPEND:
    imap_append_line(s, line, len, flags);
    break;
  case IMAP_INPUT_BUSY:
    /* input is suspended while a command runs: nothing arrives here */
    imap_log(s, CURSUS_LOG_PANIC, "input while a command runs");
    break;
  }
  imap_flush(s);
}

static size_t imap_on_bytes(void *session, const char *data, size_t len) {
  imap_session *s = session;
  if (s->input == IMAP_INPUT_APPEND) {
    size_t used = imap_append_bytes(s, data, len);
    imap_flush(s);
    return used;
  }
  imap_reader_result res;
  size_t used = imap_reader_bytes(&s->reader, data, len, &res);
  if (res == IMAP_READER_LITERAL_DONE)
    HOST->conn->set_input_mode(s->conn, CURSUS_INPUT_LINE);
  return used;
}

static void imap_on_event(void *session, unsigned events) {
  imap_session *s = session;
  if (events & CURSUS_EVENT_TLS_DONE) {
    s->tls = true;
    imap_set_log_context(s);
    imap_set_input(s, IMAP_INPUT_COMMAND);
  }
  if (events & CURSUS_EVENT_TLS_FAIL) {
    HOST->conn->close(s->conn);
    return;
  }
  if (s->job_running) {
    /* nothing may touch the session's output now: a shutdown ends the
     * session once the command is done, a timeout comes round again */
    if (events & CURSUS_EVENT_SHUTDOWN)
      s->logout = true;
    if (events & CURSUS_EVENT_NOTIFY)
      s->notify_pending = s->notify_pending || s->input == IMAP_INPUT_IDLE;
    return;
  }
  if (events & CURSUS_EVENT_TIMEOUT) {
    imap_printf(s, "* BYE Autologout; idle for too long\r\n");
    imap_flush(s);
    s->logout = true;
    HOST->conn->close(s->conn);
    return;
  }
  if (events & CURSUS_EVENT_SHUTDOWN) {
    if (s->cmd == NULL || s->input == IMAP_INPUT_IDLE) {
      imap_printf(s, "* BYE Server shutting down\r\n");
      imap_flush(s);
      HOST->conn->close(s->conn);
      return;
    }
    s->logout = true; /* after the command in progress */
  }
  if (events & (CURSUS_EVENT_NOTIFY | CURSUS_EVENT_DRAINED)) {
    if (s->drain_wait && !s->job_running &&
        HOST->conn->pending_output(s->conn) == 0)
      continue_command(s);
    if (s->notify_pending && s->input == IMAP_INPUT_IDLE && !s->job_running)
      imap_idle_notify(s);
  }
  imap_flush(s);
}

static void session_free(imap_session *s) {
  imap_idle_stop(s);
  imap_append_free(s);
  if (HOST->timer_remove != NULL) {
    HOST->timer_remove(&s->delay);
    HOST->timer_remove(&s->keepalive);
  }
  cmd_free(&s->cmd);
  imap_close_mailbox(s);
  imap_login_cleanup(s);
  imap_reader_reset(&s->reader);
  if (s->out != NULL)
    g_string_free(s->out, TRUE);
  if (s->saved.uids != NULL)
    g_array_free(s->saved.uids, TRUE);
  g_free(s->client_host);
  g_free(s);
}

static void imap_session_close(void *session) {
  imap_session *s = session;
  s->closed = true;
  if (!s->job_running)
    session_free(s);
}

/* ------------------------------------------------------------ module */

static const char *setting_str(const char *key, const char *def) {
  const char *v = HOST->setting(imap_ctx, key);
  return v != NULL ? v : def;
}

static int imap_init(cursus_module_ctx *ctx, const cursus_host *host,
                     const char **error_r) {
  static char error[512];
  imap_host = host;
  imap_ctx = ctx;
  if (host->process == CURSUS_PROC_WORKER && host->conn == NULL) {
    *error_r = "no connection services in this worker";
    return CURSUS_PERMFAIL;
  }
  imap_set.timeout_ms =
      (unsigned)MIN(host->setting_int(ctx, "timeout", 1800), 86400) * 1000;
  imap_set.login_timeout_ms =
      (unsigned)MIN(host->setting_int(ctx, "login_timeout", 60), 86400) * 1000;
  imap_set.allow_plaintext =
      host->setting_int(ctx, "allow_plaintext_login", 0) != 0;
  imap_set.max_line =
      (size_t)MAX(host->setting_int(ctx, "max_line_length", 65536), 1024);
  imap_set.max_literal =
      (size_t)MAX(host->setting_int(ctx, "max_literal_size", 65536), 1024);
  imap_set.max_command =
      (size_t)MAX(host->setting_int(ctx, "max_command_size", 1048576), 4096);
  imap_set.max_message = (uint64_t)MAX(
      host->setting_int(ctx, "max_message_size", 64 * 1024 * 1024), 1024);
  imap_set.max_sessions_per_user =
      (unsigned)MAX(host->setting_int(ctx, "max_sessions_per_user", 100), 0);
  imap_set.max_bad_commands =
      (unsigned)MAX(host->setting_int(ctx, "max_bad_commands", 20), 0);
  imap_set.idle_keepalive_ms =
      (unsigned)MIN(host->setting_int(ctx, "idle_keepalive", 0), 3600) * 1000;
  imap_set.rev2 = host->setting_int(ctx, "imap4rev2", 1) != 0;
  imap_set.compress = host->setting_int(ctx, "compress", 1) != 0;
  g_free(imap_set.greeting);
  imap_set.greeting = g_strdup(setting_str("greeting", "Cursus IMAP ready"));
  svcaccess_free(&imap_set.access);
  char *why = NULL;
  imap_set.access = svcaccess_parse(
      host->setting(ctx, "domain_allowed"), "[module proto_imap] domain_allowed",
      host->setting(ctx, "domain_not_allowed"),
      "[module proto_imap] domain_not_allowed", &why);
  if (why != NULL) {
    g_strlcpy(error, why, sizeof(error));
    g_free(why);
    *error_r = error;
    return CURSUS_PERMFAIL;
  }
  /* SORT and THREAD decode headers with GMime (idempotent; other modules
   * of the process may use it as well, so it is never shut down here) */
  g_mime_init();
  if (host->process == CURSUS_PROC_WORKER) {
    char *dir = g_build_filename(host->path(ctx, CURSUS_PATH_RUN), "sessions",
                                 NULL);
    userlimit_free(&imap_userlimit);
    imap_userlimit =
        userlimit_new(dir, "imap", imap_set.max_sessions_per_user);
    g_free(dir);
  }
  return CURSUS_OK;
}

static void imap_fini(cursus_module_ctx *ctx) {
  (void)ctx;
  svcaccess_free(&imap_set.access);
  userlimit_free(&imap_userlimit);
  g_free(imap_set.greeting);
  imap_set.greeting = NULL;
}

static const char *const imap_names[] = {"imap", "imap4", NULL};

static const cursus_protocol_ops imap_ops = {
    .size = sizeof(cursus_protocol_ops),
    .names = imap_names,
    .busy_reply = "* BYE Too many connections, try again later\r\n",
    .session_open = imap_session_open,
    .on_line = imap_on_line,
    .on_bytes = imap_on_bytes,
    .on_event = imap_on_event,
    .session_close = imap_session_close,
};

static const cursus_keyword imap_settings_list[] = {
    {"timeout", CURSUS_VALUE_DURATION, 1, 1,
     "idle timeout after login (default 30 minutes, as RFC 9051 asks)"},
    {"login_timeout", CURSUS_VALUE_DURATION, 1, 1,
     "idle timeout before login (default 60 seconds)"},
    {"allow_plaintext_login", CURSUS_VALUE_BOOLEAN, 1, 1,
     "allow LOGIN and AUTHENTICATE PLAIN/LOGIN without TLS (default no: "
     "LOGINDISABLED until STARTTLS)"},
    {"max_line_length", CURSUS_VALUE_SIZE, 1, 1,
     "longest command line (default 64K)"},
    {"max_literal_size", CURSUS_VALUE_SIZE, 1, 1,
     "largest literal in commands other than APPEND (default 64K)"},
    {"max_command_size", CURSUS_VALUE_SIZE, 1, 1,
     "largest command with its literals, APPEND excepted (default 1M)"},
    {"max_message_size", CURSUS_VALUE_SIZE, 1, 1,
     "largest message APPEND accepts (default 64M)"},
    {"max_sessions_per_user", CURSUS_VALUE_INTEGER, 1, 1,
     "IMAP sessions one user may have open at once (default 100; 0 = any)"},
    {"max_bad_commands", CURSUS_VALUE_INTEGER, 1, 1,
     "invalid commands before the session is ended (default 20; 0 = no "
     "limit)"},
    {"idle_keepalive", CURSUS_VALUE_DURATION, 1, 1,
     "send \"* OK Still here\" this often during IDLE (default 0: never)"},
    {"imap4rev2", CURSUS_VALUE_BOOLEAN, 1, 1,
     "offer IMAP4rev2 (RFC 9051) besides IMAP4rev1 (default yes)"},
    {"compress", CURSUS_VALUE_BOOLEAN, 1, 1,
     "offer COMPRESS=DEFLATE (default yes)"},
    {"greeting", CURSUS_VALUE_STRING, 1, 0, "text of the greeting"},
    {"domain_allowed", CURSUS_VALUE_STRING, 1, 0,
     "access filters that allow clients (TCP-wrapper syntax, \"$\" between "
     "filters; services imap and imaps)"},
    {"domain_not_allowed", CURSUS_VALUE_STRING, 1, 0,
     "access filters that refuse clients"},
    {NULL, 0, 0, 0, NULL},
};

CURSUS_MODULE(.name = "proto_imap", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "IMAP4rev1 and IMAP4rev2 server",
              .kinds = CURSUS_KIND_PROTOCOL,
              .processes = CURSUS_PROC_WORKER | CURSUS_PROC_TOOL,
              .settings = imap_settings_list, .init = imap_init,
              .fini = imap_fini, .protocol = &imap_ops);
