/*
 * imap-idle.c - IDLE (RFC 2177): untagged updates as they happen
 *
 * While idling the session watches its mailbox (store watch_add); the
 * watch callback only asks the connection for a NOTIFY event, whose
 * handler synchronises the view and writes EXISTS/EXPUNGE/FETCH.  A
 * store without watches is polled instead.
 */
#include "imap.h"

#include <string.h>

#define IDLE_POLL_MS 10000

static void on_watch(void *data) {
  imap_session *s = data;
  s->notify_pending = true;
  HOST->conn->notify(s->conn);
}

static void on_poll(void *data) {
  imap_session *s = data;
  HOST->timer_remove(&s->keepalive);
  on_watch(s);
}

static void on_keepalive(void *data) {
  imap_session *s = data;
  HOST->timer_remove(&s->keepalive);
  imap_printf(s, "* OK Still here\r\n");
  imap_flush(s);
  if (s->input == IMAP_INPUT_IDLE)
    s->keepalive = HOST->timer_add(imap_set.idle_keepalive_ms, on_keepalive, s);
}

/* arm_timer - the keepalive, or the poll when the store cannot watch */
static void arm_timer(imap_session *s) {
  if (s->keepalive != NULL)
    return;
  if (s->box != NULL && s->watch == NULL)
    s->keepalive = HOST->timer_add(IDLE_POLL_MS, on_poll, s);
  else if (imap_set.idle_keepalive_ms > 0)
    s->keepalive = HOST->timer_add(imap_set.idle_keepalive_ms, on_keepalive, s);
}

bool imap_cmd_idle(imap_session *s, imap_cmd *cmd) {
  const char *error = NULL;
  if (!imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  if (s->box != NULL) {
    /* report what happened before idling began */
    imap_sync(s, 0);
    s->watch = STORE->watch_add(s->box, on_watch, s, &error);
    if (s->watch == NULL)
      imap_log(s, CURSUS_LOG_DEBUG, "no store watch (%s): polling",
               error != NULL ? error : "unsupported");
  }
  imap_printf(s, "+ idling\r\n");
  imap_flush(s);
  imap_set_input(s, IMAP_INPUT_IDLE);
  arm_timer(s);
  return imap_cmd_wait(s, cmd);
}

void imap_idle_notify(imap_session *s) {
  s->notify_pending = false;
  if (s->box == NULL)
    return;
  imap_sync(s, 0);
  imap_flush(s);
  if (s->logout) {
    HOST->conn->close(s->conn);
    return;
  }
  arm_timer(s);
}

void imap_idle_stop(imap_session *s) {
  if (s->watch != NULL)
    STORE->watch_remove(&s->watch);
  if (s->keepalive != NULL && HOST->timer_remove != NULL)
    HOST->timer_remove(&s->keepalive);
  s->notify_pending = false;
}

void imap_idle_line(imap_session *s, const char *line, size_t len) {
  imap_idle_stop(s);
  if (len == 4 && g_ascii_strncasecmp(line, "DONE", 4) == 0) {
    imap_cmd_done(s, s->cmd, "OK", "Idle completed.");
  } else {
    s->bad_commands++;
    imap_cmd_done(s, s->cmd, "BAD", "Expected DONE.");
  }
  imap_cmd_finish_async(s);
}
