/*
 * handoff.h - the messages between the dispatcher and its workers
 *
 * Over a SOCK_SEQPACKET pair.  Dispatcher to worker: CONN (with the
 * socket as SCM_RIGHTS) and RETIRE.  Worker to dispatcher: CLOSED.
 */
#ifndef CURSUS_HANDOFF_H
#define CURSUS_HANDOFF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

enum handoff_type {
  HANDOFF_CONN = 1,   /* a connection, with its fd */
  HANDOFF_CLOSED = 2, /* the connection with this id has ended */
  HANDOFF_RETIRE = 3, /* finish your sessions, take no more, then exit */
};

/* The two ends of a connection, as text ("unix" for a UNIX socket). */
typedef struct handoff_addr {
  char remote_ip[INET6_ADDRSTRLEN];
  char local_ip[INET6_ADDRSTRLEN];
  uint16_t remote_port, local_port;
} handoff_addr;

typedef struct handoff_msg {
  uint32_t type;
  uint8_t implicit_tls;
  uint8_t unix_socket;
  uint16_t reserved;
  uint64_t id;
  handoff_addr addr; /* CONN: its two ends; the socket is non-blocking */
} handoff_msg;

/* handoff_send_fd - send MSG with FD attached, without blocking (false
 * with errno EAGAIN when the worker's socket is full) */
bool handoff_send_fd(int sock, const handoff_msg *msg, int fd);
/* handoff_recv - receive one message; *fd_r is the attached fd or -1.
 * Returns 1, 0 on EOF, -1 on error (errno; EAGAIN when nothing waits). */
int handoff_recv(int sock, handoff_msg *msg, int *fd_r);

#endif
