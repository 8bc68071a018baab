"""Where the SMTP server resolves MAIL FROM and RCPT TO (and the
dispatcher asks PORT_ACCESS): on the event
loop when every mapping and directory module in use answers from memory
or local files (CURSUS_MODULE_LOCAL_LOOKUPS), on a host thread as soon as
one may wait (here the test_mapfn module, which does not declare the
flag, named by a rewrite rule).  The worker's threads tell: host threads
are named "pool"."""
import os
import smtplib
import socket

from mta_harness import TEST_MAPPINGS, make_mta, queued, shipped

MESSAGE = "Subject: where\r\n\r\nresolved somewhere\r\n"


def worker_threads(srv, word="worker"):
    """Names of the threads of SRV's processes whose command line has
    WORD."""
    names = []
    for pid in srv.processes(word):
        try:
            for t in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                    names.append(f.read().strip())
        except OSError:
            continue
    return names


def send(srv, count=3):
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP"), timeout=20) as c:
        for _ in range(count):
            c.sendmail("sender@example.org", ["alice@example.com"], MESSAGE)
        # refusals come from the same lookups
        code, _ = c.docmd("MAIL FROM:<sender@example.org>")
        assert code == 250
        code, text = c.docmd("RCPT TO:<nobody@example.com>")
        assert code == 550 and b"5.1.1" in text, text
        code, text = c.docmd("RCPT TO:<someone@elsewhere.example>")
        assert code == 550 and b"5.7.1" in text, text


def test_local_lookups_run_on_the_loop(cursus):
    srv = make_mta(cursus, tls=False)
    send(srv)
    assert srv.wait_until(lambda: len(queued(srv)) == 3)
    threads = worker_threads(srv)
    assert threads and not [t for t in threads if t.startswith("pool")], threads


def test_a_module_that_may_wait_moves_them_to_host_threads(cursus):
    imta = ("callout.example         $U@$[test_mapfn,upper,x]\n" +
            shipped("imta.cnf"))
    srv = make_mta(cursus, tls=False, imta=imta)
    send(srv)
    assert srv.wait_until(lambda: len(queued(srv)) == 3)
    assert [t for t in worker_threads(srv) if t.startswith("pool")]


def test_port_access_is_asked_on_the_dispatchers_loop(cursus):
    srv = make_mta(cursus, tls=False, start=False)
    srv.write("mappings", TEST_MAPPINGS + """
PORT_ACCESS

  TCP|*|*|127.0.0.2|*     $N421$ 4.7.1$ Not$ you
  *                       $Y
""")
    srv.start()
    send(srv, count=1)
    s = socket.create_connection(("127.0.0.1", srv.port("SMTP")), source_address=("127.0.0.2", 0))
    assert s.recv(200).startswith(b"421 4.7.1 Not you")
    s.close()
    threads = worker_threads(srv, "dispatcher")
    assert threads and not [t for t in threads if t.startswith("pool")], threads
