/*
 * fuzz_imap.c - the IMAP command reader and parser on an arbitrary byte
 * stream, as a client could send it: input split into lines as the
 * connection layer does (CRLF or LF, 64 KiB limit), literals read in
 * byte mode, every completed command parsed with its command's grammar
 * (FETCH, SEARCH, STORE, SORT, THREAD, LIST, STATUS, APPEND, and the
 * generic strings, mailboxes, sets and dates for the rest)
 */
#include "build-config.h"
#include "../../modules/proto_imap/imap.h"
#include "../../modules/proto_imap/imap-fetch.h"
#include "../../modules/proto_imap/imap-sort.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_LIMIT 65536

/* generic - parse what is left as a run of arguments of any kind */
static void generic(imap_parser *ip) {
  for (int guard = 0; guard < 1000 && !imap_parse_at_end(ip); guard++) {
    const char *s;
    imap_seqset set;
    int64_t t, days;
    int32_t tz;
    uint32_t flags = 0;
    const char *before = ip->p;
    ip->error = NULL;
    if (imap_parse_peek(ip, ' ')) {
      ip->p++;
      continue;
    }
    if (imap_parse_peek(ip, '(')) {
      GPtrArray *kw = g_ptr_array_new();
      if (!imap_parse_flag_list(ip, true, &flags, kw))
        ip->p = before;
      g_ptr_array_free(kw, TRUE);
    }
    if (ip->p == before && imap_parse_peek(ip, '"') &&
        !imap_parse_date_time(ip, &t, &tz))
      ip->p = before;
    if (ip->p == before && !imap_parse_date(ip, &days))
      ip->p = before;
    if (ip->p == before && !imap_parse_seqset(ip, true, &set))
      ip->p = before;
    if (ip->p == before && !imap_parse_mailbox(ip, &s))
      ip->p = before;
    if (ip->p == before && !imap_parse_list_mailbox(ip, &s))
      ip->p = before;
    if (ip->p == before)
      ip->p++; /* skip one octet and go on */
  }
}

static void parse_command(const char *text, size_t len, bool utf8) {
  imap_parser ip;
  const char *tag, *name;
  imap_parser_init(&ip, text, len);
  ip.utf8_names = utf8;
  if (!imap_parse_tag(&ip, &tag) || !imap_parse_sp(&ip) ||
      !imap_parse_atom(&ip, &name)) {
    imap_parser_clear(&ip);
    return;
  }
  bool uid = g_ascii_strcasecmp(name, "UID") == 0;
  if (uid && (!imap_parse_sp(&ip) || !imap_parse_atom(&ip, &name))) {
    imap_parser_clear(&ip);
    return;
  }
  if (g_ascii_strcasecmp(name, "FETCH") == 0) {
    fetch_args a;
    imap_fetch_parse(&ip, uid, &a);
  } else if (g_ascii_strcasecmp(name, "SEARCH") == 0) {
    search_args a;
    imap_search_parse(&ip, &a);
  } else if (g_ascii_strcasecmp(name, "STORE") == 0) {
    store_args a;
    imap_store_parse(&ip, &a);
    g_ptr_array_free(a.keywords, TRUE);
  } else if (g_ascii_strcasecmp(name, "SORT") == 0) {
    search_args a;
    GArray *crit = imap_parser_array(&ip, sizeof(sort_crit));
    imap_sort_parse(&ip, crit, &a);
  } else if (g_ascii_strcasecmp(name, "THREAD") == 0) {
    search_args a;
    bool refs;
    imap_thread_parse(&ip, &refs, &a);
  } else if (g_ascii_strcasecmp(name, "LIST") == 0 ||
             g_ascii_strcasecmp(name, "LSUB") == 0) {
    imap_list_args a = {.lsub = name[1] == 'S' || name[1] == 's'};
    imap_list_parse(&ip, &a);
    if (a.patterns != NULL)
      g_ptr_array_free(a.patterns, TRUE);
  } else if (g_ascii_strcasecmp(name, "STATUS") == 0) {
    const char *mbox;
    GArray *items = imap_parser_array(&ip, sizeof(guint));
    if (imap_parse_sp(&ip) && imap_parse_mailbox(&ip, &mbox) &&
        imap_parse_sp(&ip))
      imap_parse_status_items(&ip, items);
  } else {
    generic(&ip);
  }
  imap_parser_clear(&ip);
  /* APPEND up to any literal: the reader's question */
  imap_parser ap;
  append_args a;
  imap_parser_init(&ap, text, len);
  ap.utf8_names = utf8;
  (void)imap_append_parse(&ap, &a);
  if (a.keywords != NULL)
    g_ptr_array_free(a.keywords, TRUE);
  imap_parser_clear(&ap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  imap_reader r = {.max_literal = 65536, .max_command = 1048576};
  bool bytes = false, utf8 = size > 0 && (data[0] & 1);
  while (p < end) {
    if (bytes) {
      imap_reader_result res;
      size_t used = imap_reader_bytes(&r, p, (size_t)(end - p), &res);
      p += used;
      if (res == IMAP_READER_LITERAL_DONE)
        bytes = false;
      continue;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL)
      break;
    size_t len = (size_t)(nl - p);
    unsigned flags = 0;
    if (len > 0 && p[len - 1] == '\r')
      len--;
    else
      flags |= CURSUS_LINE_BARE_LF;
    if (len > LINE_LIMIT) {
      len = LINE_LIMIT;
      flags |= CURSUS_LINE_TOO_LONG;
    }
    imap_reader_result res = imap_reader_line(&r, p, len, flags);
    p = nl + 1;
    if (res == IMAP_READER_LITERAL)
      res = imap_reader_accept_literal(&r);
    if (res == IMAP_READER_MORE && r.lit_left > 0) {
      bytes = true;
    } else if (res == IMAP_READER_COMMAND) {
      GString *cmd = imap_reader_take(&r);
      parse_command(cmd->str, cmd->len, utf8);
      g_string_free(cmd, TRUE);
    } else if (res == IMAP_READER_ERROR) {
      g_free(imap_reader_tag(&r));
      imap_reader_reset(&r);
    }
  }
  imap_reader_reset(&r);
  return 0;
}
