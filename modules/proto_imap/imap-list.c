/*
 * imap-list.c - LIST and LSUB, with LIST-EXTENDED (RFC 5258) selection
 * and return options, LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154) and
 * CHILDREN (RFC 3348)
 */
#include "imap.h"

#include <string.h>

enum list_return {
  RET_SUBSCRIBED = 1u << 0,
  RET_CHILDREN = 1u << 1,
  RET_SPECIAL_USE = 1u << 2,
  RET_STATUS = 1u << 3,
};

/* parse_options - "(OPT OPT ...)" into selection or return bits */
static bool parse_options(imap_parser *ip, imap_list_args *a, bool selection) {
  if (!imap_parse_char(ip, '('))
    return false;
  for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
    const char *opt;
    if ((!first && !imap_parse_sp(ip)) || !imap_parse_atom(ip, &opt))
      return false;
    if (selection) {
      if (g_ascii_strcasecmp(opt, "SUBSCRIBED") == 0)
        a->select |= CURSUS_STORE_LIST_SELECT_SUBSCRIBED;
      else if (g_ascii_strcasecmp(opt, "SPECIAL-USE") == 0)
        a->select |= CURSUS_STORE_LIST_SELECT_SPECIAL_USE;
      else if (g_ascii_strcasecmp(opt, "RECURSIVEMATCH") == 0)
        a->select |= CURSUS_STORE_LIST_RECURSIVE_MATCH;
      else if (g_ascii_strcasecmp(opt, "REMOTE") == 0)
        a->remote = true;
      else
        return imap_parser_fail(ip, "unknown LIST selection option");
      continue;
    }
    if (g_ascii_strcasecmp(opt, "SUBSCRIBED") == 0) {
      a->ret |= RET_SUBSCRIBED;
    } else if (g_ascii_strcasecmp(opt, "CHILDREN") == 0) {
      a->ret |= RET_CHILDREN;
    } else if (g_ascii_strcasecmp(opt, "SPECIAL-USE") == 0) {
      a->ret |= RET_SPECIAL_USE;
    } else if (g_ascii_strcasecmp(opt, "STATUS") == 0) {
      a->ret |= RET_STATUS;
      if (!imap_parse_sp(ip) ||
          !imap_parse_status_items(ip, a->status_items))
        return false;
    } else {
      return imap_parser_fail(ip, "unknown LIST return option");
    }
  }
  ip->p++;
  return true;
}

bool imap_list_parse(imap_parser *ip, imap_list_args *a) {
  const char *pattern;
  a->patterns = g_ptr_array_new();
  a->status_items = imap_parser_array(ip, sizeof(guint));
  if (!imap_parse_sp(ip))
    return false;
  if (!a->lsub && imap_parse_peek(ip, '(')) {
    a->extended = true;
    if (!parse_options(ip, a, true) || !imap_parse_sp(ip))
      return false;
    if ((a->select & CURSUS_STORE_LIST_RECURSIVE_MATCH) &&
        !(a->select & (CURSUS_STORE_LIST_SELECT_SUBSCRIBED |
                       CURSUS_STORE_LIST_SELECT_SPECIAL_USE)))
      return imap_parser_fail(ip, "RECURSIVEMATCH needs another selection "
                                  "option");
  }
  if (imap_parse_peek(ip, '"') && ip->end - ip->p >= 2 && ip->p[1] == '"') {
    ip->p += 2;
    a->reference = "";
  } else if (!imap_parse_mailbox(ip, &a->reference)) {
    return false;
  }
  if (!imap_parse_sp(ip))
    return false;
  if (!a->lsub && imap_parse_peek(ip, '(')) {
    a->extended = true;
    ip->p++;
    for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
      if ((!first && !imap_parse_sp(ip)) ||
          !imap_parse_list_mailbox(ip, &pattern))
        return false;
      g_ptr_array_add(a->patterns, (gpointer)pattern);
    }
    ip->p++;
    if (a->patterns->len == 0)
      return imap_parser_fail(ip, "empty pattern list");
  } else {
    if (!imap_parse_list_mailbox(ip, &pattern))
      return false;
    g_ptr_array_add(a->patterns, (gpointer)pattern);
  }
  if (!a->lsub && imap_parse_peek(ip, ' ')) {
    const char *kw;
    ip->p++;
    if (!imap_parse_atom(ip, &kw) || g_ascii_strcasecmp(kw, "RETURN") != 0)
      return imap_parser_fail(ip, "expected RETURN");
    a->extended = true;
    if (!imap_parse_sp(ip) || !parse_options(ip, a, false))
      return false;
  }
  return imap_parse_end(ip);
}

typedef struct list_ctx {
  imap_session *s;
  imap_list_args *a;
  GPtrArray *lines;  /* char*: LIST responses */
  GPtrArray *names;  /* char*: mailbox name for STATUS, NULL if none */
} list_ctx;

static int on_entry(void *data, const cursus_store_list_entry *e) {
  list_ctx *lc = data;
  imap_session *s = lc->s;
  imap_list_args *a = lc->a;
  GString *line = g_string_new(a->lsub ? "* LSUB (" : "* LIST (");
  bool first = true;
  uint32_t at = e->attributes;
  bool nonexistent = (at & CURSUS_STORE_LIST_NONEXISTENT) != 0;
  bool extended = a->extended || (s->enabled & IMAP_ENABLE_REV2);
#define ATTR(text)                                                             \
  do {                                                                         \
    if (!first)                                                                \
      g_string_append_c(line, ' ');                                            \
    g_string_append(line, text);                                               \
    first = false;                                                             \
  } while (0)
  if (nonexistent && extended)
    ATTR("\\NonExistent");
  else if (nonexistent || (at & CURSUS_STORE_LIST_NOSELECT))
    ATTR("\\Noselect");
  if (at & CURSUS_STORE_LIST_NOINFERIORS)
    ATTR("\\Noinferiors");
  else if (at & CURSUS_STORE_LIST_HASCHILDREN)
    ATTR("\\HasChildren");
  else if (at & CURSUS_STORE_LIST_HASNOCHILDREN)
    ATTR("\\HasNoChildren");
  if ((at & CURSUS_STORE_LIST_SUBSCRIBED) && !a->lsub &&
      ((a->ret & RET_SUBSCRIBED) ||
       (a->select & CURSUS_STORE_LIST_SELECT_SUBSCRIBED)))
    ATTR("\\Subscribed");
  if (at & CURSUS_STORE_LIST_MARKED)
    ATTR("\\Marked");
  else if (at & CURSUS_STORE_LIST_UNMARKED)
    ATTR("\\Unmarked");
#undef ATTR
  imap_append_special_use(line, e->special_use, &first);
  g_string_append(line, ") ");
  if (e->separator == '\0')
    g_string_append(line, "NIL ");
  else if (e->separator == '"' || e->separator == '\\')
    g_string_append_printf(line, "\"\\%c\" ", e->separator);
  else
    g_string_append_printf(line, "\"%c\" ", e->separator);
  imap_append_mailbox(s, line, e->name);
  if ((a->select & CURSUS_STORE_LIST_RECURSIVE_MATCH) &&
      (e->child_info & CURSUS_STORE_LIST_SUBSCRIBED))
    g_string_append(line, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
  g_string_append(line, "\r\n");
  g_ptr_array_add(lc->lines, g_string_free(line, FALSE));
  bool selectable =
      !nonexistent && !(at & CURSUS_STORE_LIST_NOSELECT);
  g_ptr_array_add(lc->names, (a->ret & RET_STATUS) && selectable
                                 ? g_strdup(e->name)
                                 : NULL);
  return 0;
}

/* root_response - LIST "" "": the hierarchy separator */
static void root_response(imap_session *s, imap_list_args *a) {
  size_t n = 0;
  const cursus_store_namespace *ns = STORE->user_namespaces(s->user, &n);
  char sep = n > 0 ? ns[0].separator : '/';
  imap_printf(s, "* %s (\\Noselect) ", a->lsub ? "LSUB" : "LIST");
  if (sep == '\0')
    g_string_append(s->out, "NIL");
  else
    g_string_append_printf(s->out, "\"%s%c\"",
                           sep == '"' || sep == '\\' ? "\\" : "", sep);
  g_string_append(s->out, " \"\"\r\n");
}

bool imap_cmd_list(imap_session *s, imap_cmd *cmd) {
  imap_list_args a = {0};
  const char *error = NULL;
  a.lsub = strcmp(cmd->name, "LSUB") == 0;
  if (!imap_list_parse(&cmd->parser, &a)) {
    if (a.patterns != NULL)
      g_ptr_array_free(a.patterns, TRUE);
    return imap_cmd_bad(s, cmd);
  }
  if (a.lsub)
    a.select |= CURSUS_STORE_LIST_SELECT_SUBSCRIBED;
  if (a.patterns->len == 1 && *(const char *)a.patterns->pdata[0] == '\0' &&
      !a.extended) {
    root_response(s, &a);
    g_ptr_array_free(a.patterns, TRUE);
    return imap_cmd_done(s, cmd, "OK", "%s completed.", cmd->name);
  }
  /* the reference is prefixed to each pattern (RFC 3501 6.3.8) */
  GPtrArray *full = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < a.patterns->len; i++) {
    const char *p = a.patterns->pdata[i];
    if (*p == '\0')
      continue;
    g_ptr_array_add(full, g_strconcat(a.reference, p, NULL));
  }
  g_ptr_array_add(full, NULL);
  list_ctx lc = {s, &a, g_ptr_array_new_with_free_func(g_free),
                 g_ptr_array_new_with_free_func(g_free)};
  int rc = CURSUS_OK;
  if (full->len > 1)
    rc = STORE->mailbox_list(s->user, (const char *const *)full->pdata,
                             a.select, on_entry, &lc, &error);
  for (guint i = 0; rc == CURSUS_OK && i < lc.lines->len; i++) {
    imap_printf(s, "%s", (const char *)lc.lines->pdata[i]);
    const char *name = lc.names->pdata[i];
    const char *serr = NULL;
    if (name != NULL && !imap_write_status(s, name, a.status_items, &serr))
      imap_log(s, CURSUS_LOG_DEBUG, "LIST-STATUS of %s: %s", name,
               serr != NULL ? serr : "failed");
  }
  g_ptr_array_free(lc.lines, TRUE);
  g_ptr_array_free(lc.names, TRUE);
  g_ptr_array_free(full, TRUE);
  g_ptr_array_free(a.patterns, TRUE);
  if (rc != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  return imap_cmd_done(s, cmd, "OK", "%s completed.", cmd->name);
}
