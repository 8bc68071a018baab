/*
 * imap-fetch.c - FETCH: every item of RFC 3501 and RFC 9051, BINARY,
 * partial fetches, CHANGEDSINCE and VANISHED (RFC 7162)
 *
 * Output is produced in batches of about FETCH_BATCH octets: the command
 * yields between batches until the connection has written them, so a
 * FETCH of a large folder or a large message never holds more than a
 * batch in memory and other sessions of the worker keep being served.
 * Message text is read from the store's file by offset, never parsed
 * here: the store reports where each MIME part lies.
 */
#include "imap.h"
#include "imap-fetch.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define FETCH_BATCH (256 * 1024)
#define STREAM_CHUNK (64 * 1024)

/* ------------------------------------------------------------ parsing */

/* parse_name - letters, digits and dots of an item name */
static const char *parse_name(imap_parser *ip) {
  const char *start = ip->p;
  while (ip->p < ip->end &&
         (g_ascii_isalnum(*ip->p) || *ip->p == '.' || *ip->p == '-'))
    ip->p++;
  if (ip->p == start)
    return NULL;
  return imap_parser_own(ip, g_ascii_strup(start, ip->p - start));
}

/* parse_part - "1.2.3" (nz-numbers separated by dots); stops before a
 * text specifier */
static bool parse_part(imap_parser *ip, GString *part) {
  while (ip->p < ip->end && g_ascii_isdigit(*ip->p)) {
    uint32_t n;
    if (!imap_parse_nz_number(ip, &n))
      return false;
    g_string_append_printf(part, "%s%u", part->len ? "." : "", n);
    if (!imap_parse_peek(ip, '.'))
      break;
    if (ip->end - ip->p > 1 && !g_ascii_isdigit(ip->p[1]))
      break; /* ".HEADER" etc. follows */
    ip->p++;
  }
  return true;
}

/* parse_section - "[...]" of BODY and BINARY; fills the att and the label */
static bool parse_section(imap_parser *ip, fetch_att *att, GString *label) {
  GString *part = g_string_new(NULL);
  if (!imap_parse_char(ip, '['))
    goto fail;
  g_string_append_c(label, '[');
  if (!parse_part(ip, part))
    goto fail;
  g_string_append(label, part->str);
  att->text = SECTION_ALL;
  if (att->binary) {
    if (!imap_parse_char(ip, ']')) {
      imap_parser_fail(ip, "BINARY takes only a part number");
      goto fail;
    }
    goto done;
  }
  if (part->len > 0 && !imap_parse_peek(ip, ']')) {
    if (!imap_parse_char(ip, '.'))
      goto fail;
    g_string_append_c(label, '.');
  }
  if (!imap_parse_peek(ip, ']')) {
    const char *what = parse_name(ip);
    if (what == NULL) {
      imap_parser_fail(ip, "invalid section");
      goto fail;
    }
    if (strcmp(what, "HEADER") == 0) {
      att->text = SECTION_HEADER;
    } else if (strcmp(what, "TEXT") == 0) {
      att->text = SECTION_TEXT;
    } else if (strcmp(what, "MIME") == 0 && part->len > 0) {
      att->text = SECTION_MIME;
    } else if (strcmp(what, "HEADER.FIELDS") == 0 ||
               strcmp(what, "HEADER.FIELDS.NOT") == 0) {
      att->text = strlen(what) > 13 ? SECTION_HEADER_FIELDS_NOT
                                    : SECTION_HEADER_FIELDS;
      g_string_append(label, what);
      g_string_append(label, " (");
      GPtrArray *fields = g_ptr_array_new();
      if (!imap_parse_sp(ip) || !imap_parse_char(ip, '(')) {
        g_ptr_array_free(fields, TRUE);
        goto fail;
      }
      for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
        const char *f;
        if ((!first && !imap_parse_sp(ip)) || !imap_parse_astring(ip, &f) ||
            *f == '\0' || fields->len >= 1000) {
          imap_parser_fail(ip, "invalid header field list");
          g_ptr_array_free(fields, TRUE);
          goto fail;
        }
        char *upper = imap_parser_own(ip, g_ascii_strup(f, -1));
        g_string_append_printf(label, "%s%s", first ? "" : " ", upper);
        g_ptr_array_add(fields, upper);
      }
      ip->p++;
      if (fields->len == 0) {
        imap_parser_fail(ip, "empty header field list");
        g_ptr_array_free(fields, TRUE);
        goto fail;
      }
      g_string_append_c(label, ')');
      g_ptr_array_add(fields, NULL);
      att->fields = imap_parser_own(ip, g_ptr_array_free(fields, FALSE));
      what = NULL;
    } else {
      imap_parser_fail(ip, "invalid section");
      goto fail;
    }
    if (what != NULL)
      g_string_append(label, what);
  }
  if (!imap_parse_char(ip, ']'))
    goto fail;
done:
  g_string_append_c(label, ']');
  att->part = imap_parser_own(ip, g_string_free(part, FALSE));
  return true;
fail:
  g_string_free(part, TRUE);
  return imap_parser_fail(ip, "invalid section");
}

/* parse_partial - "<offset.length>" */
static bool parse_partial(imap_parser *ip, fetch_att *att) {
  if (!imap_parse_peek(ip, '<'))
    return true;
  ip->p++;
  uint32_t off, len;
  if (!imap_parse_number(ip, &off) || !imap_parse_char(ip, '.') ||
      !imap_parse_nz_number(ip, &len) || !imap_parse_char(ip, '>'))
    return imap_parser_fail(ip, "invalid partial range");
  att->partial = true;
  att->offset = off;
  att->length = len;
  return true;
}

static void add_simple(fetch_args *a, fetch_kind kind, const char *label) {
  for (guint i = 0; i < a->atts->len; i++) {
    fetch_att *x = &g_array_index(a->atts, fetch_att, i);
    if (x->kind == kind && kind != FETCH_SECTION)
      return;
  }
  fetch_att att = {.kind = kind, .label = label, .part = ""};
  g_array_append_val(a->atts, att);
}

/* parse_att - one fetch-att */
static bool parse_att(imap_parser *ip, fetch_args *a) {
  const char *name = parse_name(ip);
  if (name == NULL)
    return imap_parser_fail(ip, "expected a FETCH item");
  static const struct {
    const char *name;
    fetch_kind kind;
  } simple[] = {
      {"UID", FETCH_UID},
      {"FLAGS", FETCH_FLAGS},
      {"INTERNALDATE", FETCH_INTERNALDATE},
      {"RFC822.SIZE", FETCH_RFC822_SIZE},
      {"ENVELOPE", FETCH_ENVELOPE},
      {"BODYSTRUCTURE", FETCH_BODYSTRUCTURE},
      {"MODSEQ", FETCH_MODSEQ},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(simple); i++) {
    if (strcmp(name, simple[i].name) == 0) {
      add_simple(a, simple[i].kind, simple[i].name);
      if (simple[i].kind == FETCH_MODSEQ)
        a->wants_modseq = true;
      return true;
    }
  }
  fetch_att att = {.kind = FETCH_SECTION, .part = ""};
  if (strcmp(name, "RFC822") == 0 || strcmp(name, "RFC822.HEADER") == 0 ||
      strcmp(name, "RFC822.TEXT") == 0) {
    att.label = name;
    att.text = name[6] == '\0'   ? SECTION_ALL
               : name[7] == 'H' ? SECTION_HEADER
                                 : SECTION_TEXT;
    att.peek = att.text == SECTION_HEADER;
    a->sets_seen |= !att.peek;
    g_array_append_val(a->atts, att);
    return true;
  }
  if (strcmp(name, "BODY") == 0 && !imap_parse_peek(ip, '[')) {
    add_simple(a, FETCH_BODY, "BODY");
    return true;
  }
  GString *label = g_string_new(NULL);
  if (strcmp(name, "BODY") == 0 || strcmp(name, "BODY.PEEK") == 0) {
    att.peek = name[4] == '.';
    g_string_append(label, "BODY");
  } else if (strcmp(name, "BINARY") == 0 ||
             strcmp(name, "BINARY.PEEK") == 0) {
    att.peek = name[6] == '.';
    att.binary = true;
    g_string_append(label, "BINARY");
  } else if (strcmp(name, "BINARY.SIZE") == 0) {
    att.kind = FETCH_BINARY_SIZE;
    att.binary = true;
    att.peek = true;
    g_string_append(label, "BINARY.SIZE");
  } else {
    g_string_free(label, TRUE);
    return imap_parser_fail(ip, "unknown FETCH item");
  }
  if (!parse_section(ip, &att, label)) {
    g_string_free(label, TRUE);
    return false;
  }
  if (att.kind == FETCH_SECTION && !parse_partial(ip, &att)) {
    g_string_free(label, TRUE);
    return false;
  }
  if (att.partial)
    g_string_append_printf(label, "<%" G_GUINT64_FORMAT ">", att.offset);
  att.label = imap_parser_own(ip, g_string_free(label, FALSE));
  a->sets_seen |= !att.peek;
  g_array_append_val(a->atts, att);
  return true;
}

/* parse_modifiers - " (CHANGEDSINCE n VANISHED)" */
static bool parse_modifiers(imap_parser *ip, bool uid, fetch_args *a) {
  if (!imap_parse_char(ip, '('))
    return false;
  for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
    const char *m;
    if ((!first && !imap_parse_sp(ip)) || !imap_parse_atom(ip, &m))
      return false;
    if (g_ascii_strcasecmp(m, "CHANGEDSINCE") == 0) {
      if (!imap_parse_sp(ip) || !imap_parse_number64(ip, &a->changedsince))
        return false;
      if (a->changedsince == 0)
        return imap_parser_fail(ip, "CHANGEDSINCE needs a mod-sequence");
      a->wants_modseq = true;
    } else if (g_ascii_strcasecmp(m, "VANISHED") == 0 && uid) {
      a->vanished = true;
    } else {
      return imap_parser_fail(ip, "unknown FETCH modifier");
    }
  }
  ip->p++;
  if (a->vanished && a->changedsince == 0)
    return imap_parser_fail(ip, "VANISHED needs CHANGEDSINCE");
  return true;
}

bool imap_fetch_parse(imap_parser *ip, bool uid, fetch_args *a) {
  memset(a, 0, sizeof(*a));
  a->atts = imap_parser_array(ip, sizeof(fetch_att));
  if (uid)
    add_simple(a, FETCH_UID, "UID");
  if (!imap_parse_sp(ip) || !imap_parse_seqset(ip, true, &a->set) ||
      !imap_parse_sp(ip))
    return false;
  if (imap_parse_peek(ip, '(')) {
    ip->p++;
    for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
      if ((!first && !imap_parse_sp(ip)) || !parse_att(ip, a))
        return false;
      if (a->atts->len > 100)
        return imap_parser_fail(ip, "too many FETCH items");
    }
    ip->p++;
  } else {
    const char *start = ip->p;
    const char *name = parse_name(ip);
    const char *macro[] = {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
                           "BODY"};
    size_t n = 0;
    if (name != NULL && strcmp(name, "ALL") == 0)
      n = 4;
    else if (name != NULL && strcmp(name, "FAST") == 0)
      n = 3;
    else if (name != NULL && strcmp(name, "FULL") == 0)
      n = 5;
    if (n > 0) {
      for (size_t i = 0; i < n; i++) {
        imap_parser sub;
        imap_parser_init(&sub, macro[i], strlen(macro[i]));
        sub.owned = ip->owned;
        sub.arrays = ip->arrays;
        parse_att(&sub, a);
        ip->owned = sub.owned;
        ip->arrays = sub.arrays;
      }
    } else {
      ip->p = start;
      if (!parse_att(ip, a))
        return false;
    }
  }
  if (imap_parse_peek(ip, ' ')) {
    ip->p++;
    if (!parse_modifiers(ip, uid, a))
      return false;
  }
  return imap_parse_end(ip);
}

/* ------------------------------------------------------------ running */

typedef struct fetch_state {
  fetch_args args;
  GArray *seqs;       /* uint32_t, ascending: the messages to report */
  GArray *seen_now;   /* uint32_t, ascending: \Seen set by this FETCH */
  guint pos;          /* index in seqs */
  guint att;          /* next item of the current message */
  bool in_msg;        /* "* n FETCH (" written */
  bool first_item;
  cursus_store_message msg;
  GArray *keywords;   /* a copy of msg.keywords: the store's copy lives only
                         until the next call on the mailbox */
  int fd;             /* the current message's file, or -1 */
  uint32_t fd_seq;
  uint64_t stream_off;  /* file offset of the literal being streamed */
  uint64_t stream_left;
  bool needs_info;    /* some item needs message_info */
  bool expunged;      /* some message was gone */
  bool failed;
  char error[256];
  cursus_buf tmp;
} fetch_state;

static void fetch_state_free(void *p) {
  fetch_state *fs = p;
  if (fs->fd >= 0)
    close(fs->fd);
  if (fs->seqs != NULL)
    g_array_free(fs->seqs, TRUE);
  if (fs->seen_now != NULL)
    g_array_free(fs->seen_now, TRUE);
  if (fs->keywords != NULL)
    g_array_free(fs->keywords, TRUE);
  HOST->buf_free(&fs->tmp);
  g_free(fs);
}

/* imap_set_seqs - the sequence numbers of the messages in SET, ascending */
GArray *imap_set_seqs(imap_session *s, const cursus_store_set *set) {
  GArray *out = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  uint32_t count = STORE->mailbox_count(s->box);
  for (size_t i = 0; i < set->n_ranges; i++) {
    uint32_t a = set->ranges[i].first, b = set->ranges[i].last;
    if (set->by_uid) {
      uint32_t fs, ls;
      if (STORE->message_seq_range(s->box, a, b, &fs, &ls) != CURSUS_OK)
        continue;
      a = fs;
      b = ls;
    }
    if (a == 0)
      a = 1;
    if (b > count)
      b = count;
    for (uint32_t n = a; n <= b && n != 0; n++) {
      g_array_append_val(out, n);
      if (n == UINT32_MAX)
        break;
    }
  }
  imap_sort_unique(out);
  return out;
}

static bool in_sorted(const GArray *a, uint32_t v) {
  guint lo = 0, hi = a != NULL ? a->len : 0;
  while (lo < hi) {
    guint mid = (lo + hi) / 2;
    uint32_t x = g_array_index(a, uint32_t, mid);
    if (x == v)
      return true;
    if (x < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return false;
}

static void on_seen_set(void *data, uint32_t seq, uint32_t uid) {
  fetch_state *fs = data;
  (void)uid;
  g_array_append_val(fs->seen_now, seq);
}

static void on_vanished(void *data, uint32_t uid) {
  GArray *a = data;
  g_array_append_val(a, uid);
}

/* message_fd - the file of the current message */
static int message_fd(imap_session *s, fetch_state *fs, uint32_t seq) {
  if (fs->fd >= 0 && fs->fd_seq == seq)
    return fs->fd;
  if (fs->fd >= 0) {
    close(fs->fd);
    fs->fd = -1;
  }
  uint64_t size;
  const char *error;
  if (STORE->message_open(s->box, seq, &fs->fd, &size, &error) != CURSUS_OK) {
    fs->fd = -1;
    return -1;
  }
  fs->fd_seq = seq;
  return fs->fd;
}

/* start_literal - announce a region of the file and stream it */
static void start_region(imap_session *s, fetch_state *fs, const fetch_att *att,
                         uint64_t off, uint64_t size) {
  uint64_t from = 0, len = size;
  if (att->partial) {
    from = MIN(att->offset, size);
    len = MIN(att->length, size - from);
  }
  g_string_append_printf(s->out, "{%" G_GUINT64_FORMAT "}\r\n", len);
  fs->stream_off = off + from;
  fs->stream_left = len;
}

/* stream_some - copy up to one chunk of the literal being streamed */
static void stream_some(imap_session *s, fetch_state *fs) {
  size_t want = (size_t)MIN(fs->stream_left, STREAM_CHUNK);
  gsize old = s->out->len;
  g_string_set_size(s->out, old + want);
  ssize_t n = fs->fd >= 0 ? pread(fs->fd, s->out->str + old, want,
                                  (off_t)fs->stream_off)
                          : -1;
  if (n <= 0) {
    /* the file shrank or vanished: keep the promised length */
    memset(s->out->str + old, ' ', want);
    n = (ssize_t)want;
    if (!fs->failed) {
      fs->failed = true;
      g_strlcpy(fs->error, "message file could not be read", sizeof(fs->error));
    }
  }
  g_string_set_size(s->out, old + (size_t)n);
  fs->stream_off += (uint64_t)n;
  fs->stream_left -= (uint64_t)n;
}

/* append_buf_literal - a literal (or literal8) from a buffer, partial
 * applied */
static void append_buf_literal(GString *out, const fetch_att *att,
                               const char *data, size_t len) {
  size_t from = 0, n = len;
  if (att->partial) {
    from = (size_t)MIN(att->offset, (uint64_t)len);
    n = (size_t)MIN(att->length, (uint64_t)(len - from));
  }
  bool binary = att->binary && memchr(data + from, '\0', n) != NULL;
  g_string_append_printf(out, "%s{%zu}\r\n", binary ? "~" : "", n);
  g_string_append_len(out, data + from, (gssize)n);
}

/* write_section - one BODY[...]/BINARY[...] item */
static void write_section(imap_session *s, fetch_state *fs,
                          const fetch_att *att, uint32_t seq) {
  const char *error = NULL;
  g_string_append_printf(s->out, "%s ", att->label);
  if (att->text == SECTION_HEADER_FIELDS ||
      att->text == SECTION_HEADER_FIELDS_NOT) {
    fs->tmp.len = 0;
    if (STORE->message_headers(s->box, seq, att->part, att->fields,
                               att->text == SECTION_HEADER_FIELDS_NOT,
                               &fs->tmp, &error) != CURSUS_OK) {
      g_string_append(s->out, "NIL");
      return;
    }
    append_buf_literal(s->out, att, fs->tmp.data ? fs->tmp.data : "",
                       fs->tmp.len);
    return;
  }
  if (att->binary && *att->part != '\0') {
    fs->tmp.len = 0;
    int rc = STORE->message_binary(s->box, seq, att->part, &fs->tmp, &error);
    if (rc != CURSUS_OK) {
      if (imap_user_error(s) == CURSUS_STORE_E_UNSUPPORTED && !fs->failed) {
        fs->failed = true;
        g_strlcpy(fs->error, "[UNKNOWN-CTE] Unknown content transfer encoding",
                  sizeof(fs->error));
      }
      g_string_append(s->out, "NIL");
      return;
    }
    append_buf_literal(s->out, att, fs->tmp.data ? fs->tmp.data : "",
                       fs->tmp.len);
    return;
  }
  if (*att->part == '\0' && att->text == SECTION_HEADER) {
    /* the store caches the header block: no need to open the file */
    fs->tmp.len = 0;
    if (STORE->message_field(s->box, seq, CURSUS_STORE_FIELD_HEADER, &fs->tmp,
                             &error) == CURSUS_OK) {
      append_buf_literal(s->out, att, fs->tmp.data ? fs->tmp.data : "",
                         fs->tmp.len);
      return;
    }
  }
  if (*att->part == '\0' && att->text == SECTION_ALL) {
    if (message_fd(s, fs, seq) < 0) {
      g_string_append(s->out, "NIL");
      return;
    }
    start_region(s, fs, att, 0, fs->msg.rfc822_size);
    return;
  }
  cursus_store_part part = {.size = sizeof(part)};
  if (STORE->message_part(s->box, seq, att->part, &part, &error) !=
          CURSUS_OK ||
      message_fd(s, fs, seq) < 0) {
    g_string_append(s->out, "NIL");
    return;
  }
  uint64_t off, size;
  switch (att->text) {
  case SECTION_HEADER:
    off = part.header_offset;
    size = part.header_size;
    break;
  case SECTION_TEXT:
    off = part.text_offset;
    size = part.text_size;
    break;
  case SECTION_MIME:
    off = part.mime_offset;
    size = part.mime_size;
    break;
  default:
    off = part.body_offset;
    size = part.body_size;
    break;
  }
  if ((att->text == SECTION_HEADER || att->text == SECTION_TEXT) &&
      *att->part != '\0' && part.header_size == 0) {
    /* HEADER/TEXT of a part that is not a message/rfc822 */
    g_string_append(s->out, "NIL");
    return;
  }
  start_region(s, fs, att, off, size);
}

/* write_binary_size - BINARY.SIZE[part] */
static void write_binary_size(imap_session *s, fetch_state *fs,
                              const fetch_att *att, uint32_t seq) {
  const char *error;
  g_string_append_printf(s->out, "%s ", att->label);
  if (*att->part == '\0') {
    g_string_append_printf(s->out, "%" G_GUINT64_FORMAT, fs->msg.rfc822_size);
    return;
  }
  fs->tmp.len = 0;
  if (STORE->message_binary(s->box, seq, att->part, &fs->tmp, &error) !=
      CURSUS_OK) {
    g_string_append(s->out, "NIL");
    return;
  }
  g_string_append_printf(s->out, "%zu", fs->tmp.len);
}

/* write_item - one item of the current message */
static void write_item(imap_session *s, fetch_state *fs, const fetch_att *att,
                       uint32_t seq) {
  const char *error;
  if (!fs->first_item)
    g_string_append_c(s->out, ' ');
  fs->first_item = false;
  switch (att->kind) {
  case FETCH_UID:
    g_string_append_printf(s->out, "UID %u", fs->msg.uid);
    break;
  case FETCH_FLAGS:
    g_string_append(s->out, "FLAGS ");
    imap_append_flags(s, s->out, fs->msg.flags, fs->msg.keywords,
                      fs->msg.n_keywords);
    break;
  case FETCH_INTERNALDATE:
    g_string_append(s->out, "INTERNALDATE ");
    imap_append_date_time(s->out, fs->msg.internal_date, fs->msg.internal_tz);
    break;
  case FETCH_RFC822_SIZE:
    g_string_append_printf(s->out, "RFC822.SIZE %" G_GUINT64_FORMAT,
                           fs->msg.rfc822_size);
    break;
  case FETCH_MODSEQ:
    g_string_append_printf(s->out, "MODSEQ (%" G_GUINT64_FORMAT ")",
                           fs->msg.modseq);
    break;
  case FETCH_ENVELOPE:
  case FETCH_BODYSTRUCTURE:
  case FETCH_BODY: {
    cursus_store_field f = att->kind == FETCH_ENVELOPE ? CURSUS_STORE_FIELD_ENVELOPE
                           : att->kind == FETCH_BODY   ? CURSUS_STORE_FIELD_BODY
                                                : CURSUS_STORE_FIELD_BODYSTRUCTURE;
    g_string_append_printf(s->out, "%s ", att->label);
    fs->tmp.len = 0;
    if (STORE->message_field(s->box, seq, f, &fs->tmp, &error) == CURSUS_OK &&
        fs->tmp.len > 0)
      g_string_append_len(s->out, fs->tmp.data, (gssize)fs->tmp.len);
    else
      g_string_append(s->out, "NIL");
    break;
  }
  case FETCH_SECTION:
    write_section(s, fs, att, seq);
    break;
  case FETCH_BINARY_SIZE:
    write_binary_size(s, fs, att, seq);
    break;
  }
}

/* begin_message - "* n FETCH (" and the facts of the message; false when
 * it is to be skipped */
static bool begin_message(imap_session *s, fetch_state *fs, uint32_t seq) {
  const char *error;
  memset(&fs->msg, 0, sizeof(fs->msg));
  fs->msg.size = sizeof(fs->msg);
  if (!fs->needs_info) {
    /* only cached fields and sections: the UID is all we need */
    fs->msg.uid = STORE->message_uid(s->box, seq);
    if (fs->msg.uid == 0) {
      fs->expunged = true;
      return false;
    }
    imap_printf(s, "* %u FETCH (", seq);
    fs->first_item = true;
    return true;
  }
  if (STORE->message_info(s->box, seq, &fs->msg, &error) != CURSUS_OK) {
    fs->expunged = true;
    return false;
  }
  if (fs->args.changedsince > 0 && fs->msg.modseq <= fs->args.changedsince)
    return false;
  if (fs->keywords == NULL)
    fs->keywords = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  g_array_set_size(fs->keywords, 0);
  g_array_append_vals(fs->keywords, fs->msg.keywords, fs->msg.n_keywords);
  fs->msg.keywords = (const uint32_t *)(void *)fs->keywords->data;
  imap_printf(s, "* %u FETCH (", seq);
  fs->first_item = true;
  return true;
}

/* end_message - extra items (FLAGS after an implicit \Seen, MODSEQ) */
static void end_message(imap_session *s, fetch_state *fs, uint32_t seq) {
  bool has_flags = false, has_modseq = false;
  for (guint i = 0; i < fs->args.atts->len; i++) {
    fetch_kind k = g_array_index(fs->args.atts, fetch_att, i).kind;
    has_flags |= k == FETCH_FLAGS;
    has_modseq |= k == FETCH_MODSEQ;
  }
  if (!has_flags && in_sorted(fs->seen_now, seq)) {
    g_string_append(s->out, fs->first_item ? "FLAGS " : " FLAGS ");
    imap_append_flags(s, s->out, fs->msg.flags, fs->msg.keywords,
                      fs->msg.n_keywords);
    fs->first_item = false;
  }
  if (!has_modseq && fs->args.wants_modseq)
    g_string_append_printf(s->out, "%sMODSEQ (%" G_GUINT64_FORMAT ")",
                           fs->first_item ? "" : " ", fs->msg.modseq);
  g_string_append(s->out, ")\r\n");
}

static bool fetch_batch(imap_session *s, imap_cmd *cmd);

/* finish - the tagged response */
static bool finish(imap_session *s, imap_cmd *cmd) {
  fetch_state *fs = cmd->state;
  if (fs->failed)
    return imap_cmd_done(s, cmd, "NO", "%s", fs->error);
  if (fs->expunged)
    return imap_cmd_done(s, cmd, "NO", "[EXPUNGEISSUED] Some of the requested "
                                       "messages no longer exist.");
  return imap_cmd_done(s, cmd, "OK", "Fetch completed.");
}

static bool fetch_batch(imap_session *s, imap_cmd *cmd) {
  fetch_state *fs = cmd->state;
  while (fs->pos < fs->seqs->len) {
    if (s->out != NULL && s->out->len >= FETCH_BATCH) {
      cmd->next = fetch_batch;
      cmd->next_blocking = true;
      return false;
    }
    if (s->out == NULL)
      imap_write(s, "", 0);
    uint32_t seq = g_array_index(fs->seqs, uint32_t, fs->pos);
    if (fs->stream_left > 0) {
      stream_some(s, fs);
      continue;
    }
    if (!fs->in_msg) {
      if (!begin_message(s, fs, seq)) {
        fs->pos++;
        continue;
      }
      fs->in_msg = true;
      fs->att = 0;
    }
    if (fs->att < fs->args.atts->len) {
      write_item(s, fs, &g_array_index(fs->args.atts, fetch_att, fs->att),
                 seq);
      fs->att++;
      continue;
    }
    end_message(s, fs, seq);
    fs->in_msg = false;
    fs->pos++;
  }
  if (fs->fd >= 0) {
    close(fs->fd);
    fs->fd = -1;
  }
  return finish(s, cmd);
}

/* needs_info - some item, or the modifiers, need message_info: flags,
 * dates, sizes, mod-sequences (the UID alone comes cheaper) */
static bool needs_info(const fetch_state *fs) {
  if (fs->args.changedsince > 0 || fs->args.wants_modseq ||
      (fs->seen_now != NULL && fs->seen_now->len > 0))
    return true;
  for (guint i = 0; i < fs->args.atts->len; i++) {
    const fetch_att *a = &g_array_index(fs->args.atts, fetch_att, i);
    switch (a->kind) {
    case FETCH_UID:
    case FETCH_ENVELOPE:
    case FETCH_BODYSTRUCTURE:
    case FETCH_BODY:
      break;
    case FETCH_SECTION:
      if (*a->part == '\0' && a->text == SECTION_ALL)
        return true; /* the size comes from the message's facts */
      break;
    default:
      return true;
    }
  }
  return false;
}

bool imap_cmd_fetch(imap_session *s, imap_cmd *cmd) {
  fetch_state *fs = g_new0(fetch_state, 1);
  const char *error = NULL;
  cursus_store_set set;
  fs->fd = -1;
  cmd->state = fs;
  cmd->state_free = fetch_state_free;
  if (!imap_fetch_parse(&cmd->parser, cmd->uid, &fs->args) ||
      !imap_resolve_set(s, cmd, &fs->args.set, cmd->uid, &set))
    return imap_cmd_bad(s, cmd);
  if (fs->args.vanished && !(s->enabled & IMAP_ENABLE_QRESYNC))
    return imap_cmd_done(s, cmd, "BAD", "VANISHED needs ENABLE QRESYNC.");
  if (fs->args.wants_modseq)
    s->box_condstore = true;
  if (fs->args.vanished) {
    GArray *uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    if (STORE->mailbox_vanished_since(s->box, fs->args.changedsince, &set,
                                      on_vanished, uids,
                                      &error) == CURSUS_OK &&
        uids->len > 0) {
      imap_sort_unique(uids);
      imap_printf(s, "* VANISHED (EARLIER) ");
      imap_append_seqset(s->out, (const uint32_t *)(void *)uids->data,
                         uids->len);
      imap_write(s, "\r\n", 2);
    }
    g_array_free(uids, TRUE);
  }
  if (fs->args.sets_seen && !s->box_readonly) {
    fs->seen_now = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    if (STORE->message_store_flags(s->box, &set, CURSUS_STORE_FLAGS_ADD,
                                   CURSUS_STORE_SEEN, NULL, 0, on_seen_set,
                                   NULL, fs, &error) == CURSUS_OK)
      imap_sort_unique(fs->seen_now);
    else
      g_array_set_size(fs->seen_now, 0);
  }
  fs->seqs = imap_set_seqs(s, &set);
  fs->needs_info = needs_info(fs);
  return fetch_batch(s, cmd);
}
