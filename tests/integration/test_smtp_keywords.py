"""Channel keywords the SMTP server interprets, each against a live
server: name lookups, VRFY, ETRN, line ends and long lines, msexchange,
and the per-session limits."""
import smtplib

import pytest

from mta_harness import Raw, make_mta, queued, shipped

MSG = b"Subject: k\r\nMessage-ID: <k@example.org>\r\n\r\nbody\r\n"


def with_keywords(cursus, words, **kw):
    imta = shipped("imta.cnf").replace("\ntcp_local ", "\ntcp_local %s " % words)
    assert words in imta
    return make_mta(cursus, imta=imta, **kw)


def session(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO client.example.org")
    return r


def test_identnone_names_the_client(cursus):
    imta = shipped("imta.cnf").replace(" identnonenumeric ", " identnone ")
    assert " identnone " in imta
    mta = make_mta(cursus, imta=imta)
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        assert s.sendmail("joe@example.org", ["alice@example.com"], MSG) == {}
    rec = queued(mta)[0].header("Received")
    assert rec.startswith("from ") and "(localhost [127.0.0.1])" in rec


def test_noreceivedfor(cursus):
    mta = with_keywords(cursus, "noreceivedfor")
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        s.sendmail("joe@example.org", ["alice@example.com"], MSG)
    assert " for <" not in queued(mta)[0].header("Received")


def test_vrfy_modes(cursus):
    mta = with_keywords(cursus, "vrfyallow")
    r = session(mta)
    assert r.cmd("VRFY <alice@example.com>") == (250, ["2.1.5 <alice@example.com>"])
    code, text = r.cmd("VRFY nobody@example.com")
    assert code == 550 and text[0].startswith("5.1.1")
    mta2 = with_keywords(cursus, "novrfy")
    assert session(mta2).cmd("VRFY alice@example.com")[0] == 502


@pytest.mark.parametrize("word,code", [("allowetrn", 250), ("silentetrn", 250),
                                       ("blocketrn", 458), ("disableetrn", 502)])
def test_etrn(cursus, word, code):
    mta = with_keywords(cursus, word)
    r = session(mta)
    c, text = r.cmd("ETRN example.org")
    assert c == code, text
    if word == "allowetrn":
        assert text == ["2.0.0 Queuing for node example.org started"]
    assert r.cmd("ETRN bad node")[0] in (501, 502, 458)


def test_domainetrn(cursus):
    mta = with_keywords(cursus, "domainetrn")
    r = session(mta)
    assert r.cmd("ETRN #tcp_local")[0] == 459
    assert r.cmd("ETRN example.org")[0] == 250


def test_msexchange(cursus):
    mta = with_keywords(cursus, "msexchange")
    code, lines = session(mta).cmd("EHLO again")
    assert "AUTH SCRAM-SHA-256 PLAIN LOGIN" in lines
    assert "AUTH=SCRAM-SHA-256 PLAIN LOGIN" in lines


def send_data(r, data):
    r.cmd("MAIL FROM:<joe@example.org>")
    r.cmd("RCPT TO:<alice@example.com>")
    assert r.cmd("DATA")[0] == 354
    r.send(data + b".\r\n")
    return r.reply()


def test_smtp_lf_turns_bare_lf_into_crlf(cursus):
    mta = with_keywords(cursus, "smtp_lf")
    assert send_data(session(mta), b"Subject: lf\n\nbare\nline ends\r\n")[0] == 250
    assert queued(mta)[0].body() == b"bare\r\nline ends\r\n"


LONG = b"Subject: long\r\n\r\n" + b"a" * 1500 + b"\r\nshort\r\n"


def test_long_lines_accepted_by_default(cursus):
    mta = make_mta(cursus)
    assert send_data(session(mta), LONG)[0] == 250
    assert queued(mta)[0].body() == b"a" * 1500 + b"\r\nshort\r\n"


def test_long_lines_refused(cursus):
    mta = with_keywords(cursus, "rejectsmtplonglines")
    code, text = send_data(session(mta), LONG)
    assert code == 554 and text[0].startswith("5.6.0")


def test_long_lines_wrapped(cursus):
    mta = with_keywords(cursus, "wrapsmtplonglines")
    assert send_data(session(mta), LONG)[0] == 250
    body = queued(mta)[0].body()
    assert body == b"a" * 998 + b"\r\n " + b"a" * 502 + b"\r\nshort\r\n"


def test_long_lines_truncated(cursus):
    mta = with_keywords(cursus, "truncatesmtplonglines")
    assert send_data(session(mta), LONG)[0] == 250
    assert queued(mta)[0].body() == b"a" * 998 + b"\r\nshort\r\n"


def test_nochunkingserver(cursus):
    mta = with_keywords(cursus, "nochunkingserver")
    r = session(mta)
    code, lines = r.cmd("EHLO x")
    assert "CHUNKING" not in lines and "BINARYMIME" not in lines
    assert r.cmd("BDAT 0 LAST")[0] == 502
    assert r.cmd("MAIL FROM:<joe@example.org> BODY=BINARYMIME")[0] == 555


def test_recipientcutoff(cursus):
    mta = with_keywords(cursus, "recipientcutoff 2")
    r = session(mta)
    r.cmd("MAIL FROM:<joe@example.org>")
    for rcpt in ("alice", "bob", "carol"):
        assert r.cmd("RCPT TO:<%s@example.com>" % rcpt)[0] == 250
    r.cmd("DATA")
    r.send(MSG + b".\r\n")
    code, text = r.reply()
    assert code == 452 and text[0].startswith("4.5.3")
    assert queued(mta) == []


def test_transaction_and_reject_limits(cursus):
    mta = with_keywords(cursus, "transactionlimit 2 disconnectrejectlimit 2")
    r = session(mta)
    for _ in range(2):
        assert send_data(r, MSG)[0] == 250
    assert r.cmd("MAIL FROM:<joe@example.org>")[0] == 421
    assert r.closed()
    r = session(mta)
    r.cmd("MAIL FROM:<joe@example.org>")
    assert r.cmd("RCPT TO:<nobody@example.com>")[0] == 550
    assert r.cmd("RCPT TO:<nobody2@example.com>")[0] == 550
    assert r.reply()[0] == 421
    assert r.closed()
