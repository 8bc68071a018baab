"""Mail for a user on hold waits in the hold channel of the shipped
configuration and is delivered once the directory says the user is active
again: channel_hold resolves the recipient anew on each retry of its
backoff.  SMTP in, the embedded LDIF directory, the store out."""
import re
import smtplib

from mta_harness import make_mta, shipped

MSG = ("From: carol@example.org\r\nTo: alice@example.com\r\n"
       "Subject: held until active\r\n\r\nhello\r\n")


def with_status(ldif, status):
    """The shipped directory with alice's mailUserStatus set to STATUS."""
    head, _, rest = ldif.partition("dn: uid=alice,")
    entry, sep, tail = rest.partition("\n\n")
    entry = re.sub(r"(?m)^mailUserStatus: \w+$", "mailUserStatus: " + status, entry)
    return head + "dn: uid=alice," + entry + sep + tail


def test_user_on_hold_gets_mail_once_active_again(cursus):
    imta = shipped("imta.cnf")
    assert re.search(r'(?m)^hold backoff "PT15M"$', imta)  # what ships
    srv = make_mta(
        cursus, tls=False, deliver=True,
        imta=imta.replace('hold backoff "PT15M"', 'hold logging backoff "PT1S"'),
        conf_extra="[module dir_ldif]\ncheck_interval = 1\n",
        files={"directory.ldif": with_status(shipped("directory.ldif"), "hold")})
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP"), timeout=10) as s:
        assert s.sendmail("carol@example.org", ["alice@example.com"], MSG) == {}

    def log():
        with open(srv.state + "/log/mail.log") as f:
            return f.read()

    # held: retried, and each time still for the hold channel
    assert srv.wait_until(lambda: len(re.findall(r" hold Q .*held for the recipient",
                                                 log())) >= 2, timeout=20), log()
    assert not re.search(r" ims-ms D", log())
    # the administrator makes alice active: the next retry moves it on
    srv.write("directory.ldif", with_status(shipped("directory.ldif"), "active"))
    assert srv.wait_until(lambda: re.search(r" ims-ms D\S* .*alice", log()),
                          timeout=30), log()
