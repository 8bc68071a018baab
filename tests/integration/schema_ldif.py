"""schema_ldif - the cn=config form (config/ldap/cursus.ldif) of an
OpenLDAP .schema file (config/ldap/cursus.schema).

    python3 schema_ldif.py cursus.schema > cursus.ldif

Used to write cursus.ldif and by the tests that check both files say the
same (test_dir_schema.py)."""
import re
import sys

HEADER = """\
# cursus.ldif - the Cursus mail schema for OpenLDAP's cn=config
# (the same as cursus.schema, which explains it; generated from it by
# tests/integration/schema_ldif.py).  Load it with
#   ldapadd -Y EXTERNAL -H ldapi:/// -f cursus.ldif
# after core, cosine, inetorgperson and dyngroup.
"""


def definitions(text):
    """(keyword, definition) pairs of a .schema text, in order."""
    out = []
    cur = None
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            if cur:
                out.append(cur)
                cur = None
            continue
        if line[0].isspace() and cur:
            cur = (cur[0], cur[1] + " " + line.strip())
            continue
        if cur:
            out.append(cur)
        kw, _, rest = line.strip().partition(" ")
        cur = (kw.lower(), rest.strip())
    if cur:
        out.append(cur)
    return [(k, re.sub(r"\s+", " ", v)) for k, v in out]


def fold(line, width=76):
    if len(line) <= width:
        return line + "\n"
    parts = [line[:width]]
    line = line[width:]
    while line:
        parts.append(" " + line[:width - 1])
        line = line[width - 1:]
    return "\n".join(parts) + "\n"


def to_ldif(text, name="cursus"):
    keys = {"objectidentifier": "olcObjectIdentifier",
            "attributetype": "olcAttributeTypes",
            "objectclass": "olcObjectClasses"}
    out = [HEADER, "dn: cn=%s,cn=schema,cn=config\n" % name,
           "objectClass: olcSchemaConfig\n", "cn: %s\n" % name]
    for kw, value in definitions(text):
        out.append(fold("%s: %s" % (keys[kw], value)))
    return "".join(out)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        sys.stdout.write(to_ldif(f.read()))
