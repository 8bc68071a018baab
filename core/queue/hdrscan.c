/*
 * hdrscan.c - scan a message header as it streams in
 */
#include "build-config.h"
#include "hdrscan.h"

#include <string.h>
#include <glib.h>

enum {
  ST_LINE_START, /* at the first byte of a line */
  ST_NAME,       /* in a field name */
  ST_VALUE,      /* in a field body (or a continuation line) */
  ST_CR_EMPTY,   /* a CR at the start of a line: the header may end */
  ST_SKIP,       /* a line that is not a field: skip to its end */
};

enum { CAP_NONE, CAP_MESSAGE_ID, CAP_PRIORITY, CAP_IMPORTANCE };

void hdrscan_init(hdrscan *s) {
  memset(s, 0, sizeof(*s));
  s->state = ST_LINE_START;
  s->priority = CURSUS_PRIORITY_NORMAL;
}

static bool name_is(const hdrscan *s, const char *want) {
  return s->name_len == strlen(want) &&
         g_ascii_strncasecmp(s->name, want, s->name_len) == 0;
}

/* trimmed - VALUE without surrounding white space, NUL-terminated */
static char *trimmed(char *v, unsigned len) {
  v[len] = '\0';
  return g_strstrip(v);
}

/* field_end - a field (with its continuation lines) is complete */
static void field_end(hdrscan *s) {
  if (s->capture == CAP_MESSAGE_ID && s->message_id[0] == '\0') {
    char *v = trimmed(s->value, s->value_len);
    g_strlcpy(s->message_id, v, sizeof(s->message_id));
  } else if (s->capture == CAP_PRIORITY && !s->priority_set) {
    char *v = trimmed(s->value, s->value_len);
    s->priority_set = true;
    if (g_ascii_strcasecmp(v, "urgent") == 0)
      s->priority = CURSUS_PRIORITY_URGENT;
    else if (g_ascii_strcasecmp(v, "non-urgent") == 0)
      s->priority = CURSUS_PRIORITY_NONURGENT;
    else
      s->priority = CURSUS_PRIORITY_NORMAL;
  } else if (s->capture == CAP_IMPORTANCE && !s->priority_set) {
    char *v = trimmed(s->value, s->value_len);
    if (g_ascii_strcasecmp(v, "high") == 0)
      s->priority = CURSUS_PRIORITY_URGENT;
    else if (g_ascii_strcasecmp(v, "low") == 0)
      s->priority = CURSUS_PRIORITY_NONURGENT;
  }
  s->capture = CAP_NONE;
  s->value_len = 0;
}

/* name_done - the field name is read (at its colon) */
static void name_done(hdrscan *s) {
  s->fields++;
  if (name_is(s, "Received"))
    s->received++;
  else if (name_is(s, "Message-ID"))
    s->capture = CAP_MESSAGE_ID;
  else if (name_is(s, "Priority"))
    s->capture = CAP_PRIORITY;
  else if (name_is(s, "Importance"))
    s->capture = CAP_IMPORTANCE;
}

void hdrscan_feed(hdrscan *s, const char *data, size_t len) {
  for (size_t i = 0; i < len && !s->done; i++) {
    char c = data[i];
    s->header_len++;
    switch (s->state) {
    case ST_LINE_START:
      if (c == ' ' || c == '\t') {
        s->state = ST_VALUE; /* a continuation of the field before */
        if (s->capture != CAP_NONE && s->value_len < HDRSCAN_VALUE_MAX - 1)
          s->value[s->value_len++] = ' ';
        break;
      }
      field_end(s);
      if (c == '\r') {
        s->state = ST_CR_EMPTY;
      } else if (c == '\n') {
        s->done = true;
      } else {
        s->name_len = 0;
        s->state = ST_NAME;
        if (c == ':')
          s->state = ST_SKIP; /* no name: not a field */
        else
          s->name[s->name_len++] = c;
      }
      break;
    case ST_CR_EMPTY:
      if (c == '\n')
        s->done = true;
      else
        s->state = c == '\r' ? ST_CR_EMPTY : ST_SKIP;
      break;
    case ST_NAME:
      if (c == ':') {
        name_done(s);
        s->state = ST_VALUE;
      } else if (c == '\n') {
        s->state = ST_LINE_START;
      } else if ((unsigned char)c <= ' ' || c == 0x7f) {
        s->state = ST_SKIP;
      } else if (s->name_len < HDRSCAN_NAME_MAX) {
        s->name[s->name_len++] = c;
      } else {
        s->name_len = HDRSCAN_NAME_MAX; /* too long to be one we know */
        s->state = ST_SKIP;
      }
      break;
    case ST_VALUE:
      if (c == '\n') {
        s->state = ST_LINE_START;
      } else if (c != '\r' && s->capture != CAP_NONE &&
                 s->value_len < HDRSCAN_VALUE_MAX - 1) {
        s->value[s->value_len++] = c;
      }
      break;
    case ST_SKIP:
      if (c == '\n')
        s->state = ST_LINE_START;
      break;
    }
  }
}

void hdrscan_end(hdrscan *s) {
  if (!s->done)
    field_end(s);
}
