#!/usr/bin/env python3
"""sql/upgrade/copy_objects.py FRAGMENT NAME... — print, for an upgrade
fragment, the current definitions of the named functions (or views) from an
install fragment: every statement from `CREATE FUNCTION etl.NAME(` (or
`CREATE VIEW etl.NAME`) up to the next blank line after its end, with
`CREATE FUNCTION` turned into `CREATE OR REPLACE FUNCTION`, and the
statements that follow it directly (COMMENT ON, REVOKE, GRANT).

It only copies text, so that an upgrade fragment repeats a definition
exactly; harness case 05_upgrade checks the result.  Usage:

    sql/upgrade/copy_objects.py sql/install/50_config.sql add_connection \\
        >> sql/upgrade/0.1.0--0.2.0/50_config.sql
"""
import re
import sys


def statements(text):
    """Split SQL text into statements, keeping dollar-quoted bodies whole."""
    out, cur, i, tag = [], [], 0, None
    while i < len(text):
        if tag is None:
            m = re.match(r"\$([A-Za-z_]*)\$", text[i:])
            if m:
                tag = m.group(0)
                cur.append(tag)
                i += len(tag)
                continue
            if text.startswith("--", i):
                j = text.find("\n", i)
                j = len(text) if j < 0 else j
                cur.append(text[i:j])
                i = j
                continue
            if text[i] == "'":
                j = i + 1
                while j < len(text):
                    if text[j] == "'" and text[j + 1:j + 2] == "'":
                        j += 2
                        continue
                    if text[j] == "'":
                        break
                    j += 1
                cur.append(text[i:j + 1])
                i = j + 1
                continue
            if text[i] == ";":
                cur.append(";")
                out.append("".join(cur))
                cur = []
                i += 1
                continue
            cur.append(text[i])
            i += 1
        else:
            if text.startswith(tag, i):
                cur.append(tag)
                i += len(tag)
                tag = None
                continue
            cur.append(text[i])
            i += 1
    if "".join(cur).strip():
        out.append("".join(cur))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    stmts = statements(open(sys.argv[1]).read())
    for name in sys.argv[2:]:
        head = re.compile(r"^\s*(--[^\n]*\n\s*)*CREATE (FUNCTION|VIEW|AGGREGATE) etl\.%s\b" % re.escape(name), re.S)
        found = False
        for k, st in enumerate(stmts):
            if not head.match(st):
                continue
            found = True
            body = re.sub(r"^\s*(--[^\n]*\n\s*)*", "", st, flags=re.S)
            body = re.sub(r"^CREATE (FUNCTION|VIEW)", r"CREATE OR REPLACE \1", body)
            print(body.strip() + "\n", end="")
            for follow in stmts[k + 1:]:
                f = follow.strip()
                f = re.sub(r"^(--[^\n]*\n\s*)*", "", f, flags=re.S)
                if re.match(r"(COMMENT ON|REVOKE|GRANT|ALTER FUNCTION)\b", f) and ("etl.%s" % name) in f:
                    print(f)
                else:
                    break
            print()
        if not found:
            sys.exit("no CREATE FUNCTION/VIEW etl.%s in %s" % (name, sys.argv[1]))


if __name__ == "__main__":
    main()
