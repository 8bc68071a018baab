/*
 * gate.c - turnstiles in front of the store's file locks, one per key
 * (a user), for the threads of one process
 *
 * The store's locks are flock(2) locks: they keep other processes out,
 * but threads of one process contend on them like strangers, and a
 * thread that finds one taken can only try again after a nap (sc_flock).
 * In a channel job several threads often deliver to the same user at
 * once; each nap costs a context switch and up to a millisecond of
 * delay.  A thread first passes the key's gate: only the one inside
 * takes the file lock, the others sleep on a condition variable and the
 * next one is woken the moment the holder leaves.  The gate keeps the
 * file lock's time limit: a thread that cannot enter before it fails as
 * the file lock would.
 *
 * Offers sc_gate_enter and sc_gate_leave; needs GLib.
 */
#include "user.h"

struct sc_gate {
  char *key;
  GCond cond;
  bool held;
  unsigned users; /* threads inside or waiting */
};

static GMutex gates_lock;
static GHashTable *gates; /* key -> sc_gate* */

/* gate_drop - one user fewer; the last one frees the gate */
static void gate_drop(sc_gate *g) {
  if (--g->users > 0)
    return;
  g_hash_table_remove(gates, g->key);
  g_cond_clear(&g->cond);
  g_free(g->key);
  g_free(g);
}

sc_gate *sc_gate_enter(const char *key, unsigned timeout_ms) {
  g_mutex_lock(&gates_lock);
  if (gates == NULL)
    gates = g_hash_table_new(g_str_hash, g_str_equal);
  sc_gate *g = g_hash_table_lookup(gates, key);
  if (g == NULL) {
    g = g_new0(sc_gate, 1);
    g->key = g_strdup(key);
    g_cond_init(&g->cond);
    g_hash_table_insert(gates, g->key, g);
  }
  g->users++;
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (g->held) {
    if (!g_cond_wait_until(&g->cond, &gates_lock, deadline) && g->held) {
      gate_drop(g);
      g_mutex_unlock(&gates_lock);
      return NULL;
    }
  }
  g->held = true;
  g_mutex_unlock(&gates_lock);
  return g;
}

void sc_gate_leave(sc_gate **gp) {
  sc_gate *g = *gp;
  if (g == NULL)
    return;
  *gp = NULL;
  g_mutex_lock(&gates_lock);
  g->held = false;
  if (g->users > 1)
    g_cond_signal(&g->cond);
  gate_drop(g);
  g_mutex_unlock(&gates_lock);
}
