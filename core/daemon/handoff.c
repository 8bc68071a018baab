/*
 * handoff.c - passing connections between the dispatcher and workers
 */
#include "build-config.h"
#include "handoff.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

bool handoff_send_fd(int sock, const handoff_msg *msg, int fd) {
  struct iovec iov = {.iov_base = (void *)msg, .iov_len = sizeof(*msg)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  memset(&u, 0, sizeof(u));
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof(u.buf);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  ssize_t n;
  /* never block the dispatcher on a worker that does not read */
  do
    n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof(*msg);
}

int handoff_recv(int sock, handoff_msg *msg, int *fd_r) {
  struct iovec iov = {.iov_base = msg, .iov_len = sizeof(*msg)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof(u.buf);
  *fd_r = -1;
  ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0)
    return -1;
  if (n == 0)
    return 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL;
       cm = CMSG_NXTHDR(&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
      memcpy(fd_r, CMSG_DATA(cm), sizeof(int));
  if (n != (ssize_t)sizeof(*msg)) {
    errno = EPROTO;
    return -1;
  }
  return 1;
}
