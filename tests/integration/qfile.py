"""qfile - read Cursus queue files (docs/queue-format.md) in tests.

An independent reader of the format: it checks the preamble, the
envelope's CRC and the content's CRC, and applies the records, so the tests
check the files the server writes against the documentation rather than
against the server's own reader."""
import glob
import os
import zlib


class QueueFileError(Exception):
    pass


def unescape(tok):
    if tok == "-":
        return ""
    out = bytearray()
    i = 0
    b = tok.encode()
    while i < len(b):
        if b[i] == 0x25:  # %
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    return out.decode()


class Recipient:
    def __init__(self, fields):
        (self.address, self.original, self.orcpt, self.host, notify,
         self.state, when, self.code, self.diag, self.remote, dsn) = fields[:11]
        self.address = unescape(self.address)
        self.original = unescape(self.original)
        self.orcpt = unescape(self.orcpt) or None
        self.host = unescape(self.host) or None
        self.notify = "" if notify == "-" else notify
        self.when = int(when)
        self.code = unescape(self.code) or None
        self.diag = unescape(self.diag) or None
        self.remote = unescape(self.remote) or None
        self.dsn = int(dsn)

    def __repr__(self):
        return "<rcpt %s %s>" % (self.address, self.state)


class QueueFile:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.id = self.name.split(".")[0]
        data = open(path, "rb").read()
        pre = data[:64]
        if len(pre) != 64 or not pre.startswith(b"cursus-queue 1 ") or pre[63:64] != b"\n":
            raise QueueFileError("%s: bad preamble" % path)
        words = pre[:63].split()
        clen = int(words[2].split(b"=")[1])
        elen = int(words[3].split(b"=")[1])
        self.content = data[64:64 + clen]
        env = data[64 + clen:64 + clen + elen]
        rest = data[64 + clen + elen:]
        if len(self.content) != clen or len(env) != elen:
            raise QueueFileError("%s: truncated" % path)
        lines = env.decode().split("\n")
        assert lines[-1] == ""
        end = lines[-2]
        body = "\n".join(lines[:-2]) + "\n"
        if not end.startswith("end ") or int(end[4:], 16) != zlib.crc32(body.encode()):
            raise QueueFileError("%s: envelope check failed" % path)
        self.env = {}
        self.rcpts = []
        for line in lines[:-2]:
            key, _, value = line.partition(" ")
            if key == "rcpt":
                self.rcpts.append(Recipient(value.split(" ")))
            else:
                self.env[key] = unescape(value)
        if int(self.env["size"]) != clen:
            raise QueueFileError("%s: size mismatch" % path)
        if int(self.env["crc"], 16) != zlib.crc32(self.content):
            raise QueueFileError("%s: content check failed" % path)
        self.records = []
        for line in rest.split(b"\n")[:-1]:
            text, _, crc = line.decode().rpartition(" ~")
            if int(crc, 16) != zlib.crc32(text.encode()):
                break
            self.records.append(text)

    @property
    def channel(self):
        return self.env["channel"]

    @property
    def sender(self):
        return self.env["sender"]

    def header(self, name):
        """The first header field NAME of the content, unfolded."""
        head = self.content.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
        lines = head.split("\r\n")
        for i, l in enumerate(lines):
            if l.lower().startswith(name.lower() + ":"):
                value = l.split(":", 1)[1]
                for cont in lines[i + 1:]:
                    if cont[:1] in (" ", "\t"):
                        value += " " + cont.strip()
                    else:
                        break
                return value.strip()
        return None

    def body(self):
        return self.content.split(b"\r\n\r\n", 1)[1]


def queue_files(queue_dir, channel=None):
    """Every queue file below QUEUE_DIR (of CHANNEL), parsed."""
    pat = os.path.join(queue_dir, channel or "*", "**", "*.[0-9][0-9]")
    return [QueueFile(p) for p in sorted(glob.glob(pat, recursive=True))
            if not os.path.basename(p).startswith(".")]
