#!/usr/bin/python3
"""test/harness/docs/docsrun.py — run the ```sql blocks of a Markdown page
with psql and check what the page says about them.

    docsrun.py script PAGE.md OUT.sql OUT.json
        Writes the psql script of PAGE's ```sql blocks (in order; blocks fenced
        ```sql no-run are left out) and, in OUT.json, what the page expects.
    docsrun.py check PAGE.md OUT.json STDOUT STDERR SCRIPT_NAME
        Checks psql's output of that script against the expectations; prints
        one line per problem, as PAGE:LINE: message, and exits 1 if any.
    docsrun.py paths REPO PAGE.md...
        Prints every repository file a page names that does not exist.

Conventions a page follows (docs/testing.md describes them for writers):

  -- ERROR:  message            on the line(s) right after a statement: the
  -- DETAIL:  text               statement must fail with that error (the
  -- HINT:  text                 message starts with the text; "..." elides
                                 part of a text).  Every other error fails.
  -- WARNING:  text / -- NOTICE:  text   the statement raises that message.
  SELECT ...;  -- → value       (or `-- → value` on the lines after it) a row
                                 the statement returns, printed unaligned with
                                 " | " between columns; several `→` lines
                                 are rows in that order ("..." elides part of
                                 a row).
  \\watch N                      runs the query once (as \\g).

Why a lexer: psql reports an error with the script line where the statement
ended, and the output of a statement is found between markers (\\echo) that
this script inserts after every line on which psql's query buffer is empty.
Inserting a marker inside a string would change the statement, so lines are
scanned the way psql does: quotes, E'' strings, dollar quotes, comments and
backslash commands.
"""
import json
import re
import sys

MARK = '@@metaetl-docs-line '
SEND_COMMANDS = {'g', 'gx', 'gset', 'gexec', 'gdesc', 'watch', 'crosstabview'}
DOLLAR = re.compile(r'\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$')
ANNOT = re.compile(r'^\s*(ERROR|WARNING|NOTICE|DETAIL|HINT):\s*(.*?)\s*$')
ARROW = re.compile(r'^\s*→\s?(.*?)\s*$')


class PageError(Exception):
    pass


def sql_blocks(path):
    """[(first_line_number, [lines])] of the ```sql blocks to run."""
    blocks, lines = [], open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        m = re.match(r'^(\s*)(```+|~~~+)\s*(.*?)\s*$', lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.group(1), m.group(2), m.group(3).split()
        start = i + 1
        j = start
        while j < len(lines) and not re.match(r'^\s*' + re.escape(fence) + r'\s*$', lines[j]):
            j += 1
        if j == len(lines):
            raise PageError('%s:%d: code fence never closed' % (path, i + 1))
        if info[:1] == ['sql'] and 'no-run' not in info[1:]:
            body = [l[len(indent):] if l.startswith(indent) else l.lstrip() for l in lines[start:j]]
            blocks.append((start + 1, body))
        i = j + 1
    return blocks


class Lexer:
    """psql's view of a script, one line at a time."""

    def __init__(self):
        self.state = 'normal'     # normal | quote | equote | dquote | dollar | comment
        self.tag = None           # dollar-quote tag
        self.depth = 0            # block-comment nesting
        self.pending = False      # the query buffer holds something

    def line(self, text):
        """Scan one line: (statement_sent_on_this_line, comment_text or None,
        line with \\watch rewritten)."""
        sent, comment, i, n = False, None, 0, len(text)
        if self.state == 'normal' and not self.pending and text.lstrip().startswith('\\'):
            return self._meta(text, text.index('\\'), False)
        while i < n:
            c = text[i]
            if self.state == 'normal':
                if text.startswith('--', i):
                    comment = text[i + 2:]
                    break
                if text.startswith('/*', i):
                    self.state, self.depth = 'comment', 1
                    i += 2
                    continue
                if c == "'":
                    prev = text[i - 1] if i else ''
                    before = text[i - 2] if i > 1 else ''
                    e = prev in 'eE' and not (before.isalnum() or before == '_')
                    self.state = 'equote' if e else 'quote'
                    self.pending = True
                elif c == '"':
                    self.state = 'dquote'
                    self.pending = True
                elif c == '$':
                    prev = text[i - 1] if i else ''
                    m = DOLLAR.match(text, i)
                    if m and not (prev.isalnum() or prev == '_'):
                        self.state, self.tag = 'dollar', m.group(0)
                        self.pending = True
                        i = m.end()
                        continue
                    self.pending = True
                elif c == ';':
                    if self.pending:
                        sent = True
                    self.pending = False
                elif c == '\\':
                    s, _, t = self._meta(text, i, sent)
                    return s, comment, t
                elif not c.isspace():
                    self.pending = True
                i += 1
            elif self.state in ('quote', 'equote'):
                if self.state == 'equote' and c == '\\':
                    i += 2
                    continue
                if c == "'":
                    if text.startswith("''", i):
                        i += 2
                        continue
                    self.state = 'normal'
                i += 1
            elif self.state == 'dquote':
                if c == '"':
                    self.state = 'normal'
                i += 1
            elif self.state == 'dollar':
                j = text.find(self.tag, i)
                if j < 0:
                    break
                self.state, i = 'normal', j + len(self.tag)
            else:  # block comment
                if text.startswith('/*', i):
                    self.depth, i = self.depth + 1, i + 2
                elif text.startswith('*/', i):
                    self.depth, i = self.depth - 1, i + 2
                    if self.depth == 0:
                        self.state = 'normal'
                else:
                    i += 1
        return sent, comment, text

    def _meta(self, text, i, sent):
        """A backslash command from text[i] to the end of the line."""
        m = re.match(r'\\([A-Za-z]+)', text[i:])
        cmd = m.group(1) if m else ''
        if cmd == 'watch':        # run once: the harness must end
            text = text[:i] + '\\g'
        if cmd in SEND_COMMANDS:
            sent = sent or self.pending or cmd == 'watch'
            self.pending = False
        return sent, None, text

    def idle(self):
        return self.state == 'normal' and not self.pending


def build_script(page):
    """The psql script and the expectations of a page."""
    out = ['\\set ON_ERROR_STOP off', '\\set VERBOSITY default', '\\pset pager off',
           '\\pset format unaligned', '\\pset tuples_only on', "\\pset fieldsep ' | '",
           "\\pset null ''"]
    linemap = {}              # script line -> page line
    stmts = {}                # page line where a statement ended -> expectations
    lex = Lexer()
    blocks = sql_blocks(page)
    for first, body in blocks:
        last_end = None       # the statement an own-line annotation belongs to
        waiting = []          # annotations written inside a statement not yet ended
        for k, text in enumerate(body):
            lineno = first + k
            was_pending = lex.pending or lex.state != 'normal'
            sent, comment, text = lex.line(text)
            out.append(text)
            linemap[len(out)] = lineno
            note = None
            if comment is not None:
                m, a = ANNOT.match(comment), ARROW.match(comment)
                if m:
                    note = ('msg', m.group(1), m.group(2))
                elif a:
                    note = ('row', a.group(1))
            if sent:
                last_end = lineno
                st = stmts.setdefault(lineno, {'rows': [], 'msgs': []})
                for w in waiting:
                    _add(st, w)
                waiting = []
            if note:
                if sent or (not was_pending and lex.idle() and last_end is not None
                            and text.lstrip().startswith('--')):
                    if last_end is None:
                        raise PageError('%s:%d: an annotation before any statement' % (page, lineno))
                    _add(stmts[last_end], note)
                else:
                    waiting.append(note)
            if lex.idle():
                out.append('\\echo ' + MARK + str(lineno))
                linemap[len(out)] = lineno
        if not lex.idle():
            raise PageError('%s:%d: the sql block ends inside a statement (a missing ";" or '
                            'an unclosed quote)' % (page, first + len(body) - 1))
        if waiting:
            raise PageError('%s:%d: an annotation that belongs to no statement' % (page, first))
    return out, {'blocks': len(blocks), 'linemap': linemap, 'stmts': stmts}


def _add(st, note):
    if note[0] == 'row':
        st['rows'].append(note[1])
    elif note[1] in ('DETAIL', 'HINT'):
        if not st['msgs']:
            raise PageError('a %s: line needs an ERROR:, WARNING: or NOTICE: line before it' % note[1])
        st['msgs'][-1][note[1].lower()] = note[2]
    else:
        st['msgs'].append({'level': note[1], 'text': note[2]})


def matches(expected, actual, anchored):
    """expected, with "..." eliding parts, matches actual (from its start
    when anchored); whitespace runs compare equal."""
    norm = lambda s: re.sub(r'\s+', ' ', s.strip())
    parts = [norm(p) for p in re.split(r'\.\.\.|…', expected)]
    actual, pos = norm(actual), 0
    for k, p in enumerate(parts):
        if not p:
            continue
        j = actual.find(p, pos)
        if j < 0 or (k == 0 and anchored and j != 0):
            return False
        pos = j + len(p)
    tail_elided = re.search(r'(\.\.\.|…)\s*$', expected) is not None
    return tail_elided or not anchored or pos == len(actual) or not expected.strip()


def parse_stderr(path, script_name, linemap):
    """[[page_line, level, message, detail, hint]] and the lines psql printed
    outside any message (a failing backtick command, say)."""
    msgs, loose, field = [], [], None
    prefix = re.compile(r'^psql:(.*?):(\d+): (?:(ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|LOG|DEBUG'
                        r'|error|warning):\s+)?(.*)$')
    for raw in open(path, encoding='utf-8', errors='replace').read().split('\n'):
        m = prefix.match(raw)
        if m and m.group(1) == script_name:
            level = (m.group(3) or 'ERROR').upper()
            msgs.append([linemap.get(int(m.group(2)), 0), level, m.group(4), '', ''])
            field = 2
        elif msgs and re.match(r'^(DETAIL|HINT):', raw):
            field = 3 if raw.startswith('DETAIL') else 4
            msgs[-1][field] = raw.split(':', 1)[1].strip()
        elif msgs and re.match(r'^(CONTEXT|LINE \d+|QUERY|LOCATION|STATEMENT):', raw):
            field = None
        elif msgs and field is not None and raw.strip():
            msgs[-1][field] += ' ' + raw.strip()   # a message of several lines
        elif not msgs and raw.strip():
            loose.append(raw)
    return msgs, loose


def outputs(path):
    """page line -> the output lines printed since the previous marker."""
    chunks, cur = {}, []
    for raw in open(path, encoding='utf-8', errors='replace').read().split('\n'):
        if raw.startswith(MARK):
            chunks[int(raw[len(MARK):])] = cur
            cur = []
        else:
            cur.append(raw)
    return chunks


def check(page, exp_path, stdout, stderr, script_name):
    exp = json.load(open(exp_path))
    linemap = {int(k): v for k, v in exp['linemap'].items()}
    stmts = {int(k): v for k, v in exp['stmts'].items()}
    msgs, loose = parse_stderr(stderr, script_name, linemap)
    chunks = outputs(stdout)
    problems = []
    seen = {}
    for line, level, text, detail, hint in msgs:
        if level not in ('ERROR', 'FATAL', 'PANIC', 'WARNING', 'NOTICE'):
            continue
        wanted = [m for m in stmts.get(line, {}).get('msgs', []) if m['level'] == level]
        ok = None
        for m in wanted:
            if matches(m['text'], text, True) and \
                    ('detail' not in m or matches(m['detail'], detail, False)) and \
                    ('hint' not in m or matches(m['hint'], hint, False)):
                ok = m
                break
        if ok is not None:
            seen[id(ok)] = True
        elif level in ('ERROR', 'FATAL', 'PANIC'):
            what = 'unexpected %s:  %s' % (level, text)
            if detail:
                what += ' | DETAIL: ' + detail
            if hint:
                what += ' | HINT: ' + hint
            if wanted:
                what += '  (the page expects: %s)' % wanted[0]['text']
            problems.append((line, what))
    for line, st in stmts.items():
        for m in st['msgs']:
            if id(m) not in seen:
                problems.append((line, 'the page says this raises %s:  %s%s%s — it did not' % (
                    m['level'], m['text'],
                    ' | DETAIL: ' + m['detail'] if 'detail' in m else '',
                    ' | HINT: ' + m['hint'] if 'hint' in m else '')))
        if st['rows']:
            got = [l.rstrip() for l in chunks.get(line, [])]
            pos = 0
            for want in st['rows']:
                elided = re.search(r'\.\.\.|…', want)
                k = pos
                while k < len(got) and not (matches(want, got[k], True) if elided else got[k] == want):
                    k += 1
                if k == len(got):
                    problems.append((line, 'the page shows the row [%s]; the output was:\n    %s' % (
                        want, '\n    '.join(got[pos:] or ['(no rows)']))))
                    break
                pos = k + 1
    for raw in loose:
        problems.append((0, 'psql said: ' + raw))
    for line, what in sorted(problems, key=lambda p: p[0]):
        print('%s:%d: %s' % (page, line, what))
    return 1 if problems else 0


REPO_PATH = re.compile(r'(?<![\w./-])((?:src|sql|test|docs|expected)/[\w./+-]*[\w/])')
# NN_name, test_NAME.c, A--B, *.sql: a pattern, not a file
PLACEHOLDER = re.compile(r'[*?<>{}\[\]]|\bNN|[A-Z]{2,}|(?:^|/)[A-Z](?:[-_./]|$)|…|\.\.\.')


def cited_paths(page, repo):
    """The repository files a page names (markdown links, and paths such as
    src/transform/transform.h anywhere in its text) that do not exist."""
    import os
    text = open(page, encoding='utf-8').read()
    missing = []
    for n, line in enumerate(text.split('\n'), 1):
        for m in re.finditer(r'\]\(([^)\s]+)\)', line):
            target = m.group(1).split('#')[0]
            if not target or re.match(r'^[a-z]+:', target):
                continue
            if not os.path.exists(os.path.join(os.path.dirname(page), target)):
                missing.append((n, target))
        for m in REPO_PATH.finditer(line):
            path = m.group(1).rstrip('.')
            if PLACEHOLDER.search(path) or line[m.end():m.end() + 1] in ('*', '['):
                continue
            if not os.path.exists(os.path.join(repo, path)):
                missing.append((n, path))
        for m in re.finditer(r'(?<![\w./-])([A-Z][A-Z_]+\.md)\b', line):
            if not os.path.exists(os.path.join(repo, m.group(1))):
                missing.append((n, m.group(1)))
    return missing


def main(argv):
    try:
        if argv[1] == 'script':
            page, out_sql, out_json = argv[2:5]
            script, exp = build_script(page)
            with open(out_sql, 'w', encoding='utf-8') as f:
                f.write('\n'.join(script) + '\n')
            with open(out_json, 'w') as f:
                json.dump(exp, f)
            return 0
        if argv[1] == 'check':
            page, exp_path, stdout, stderr, script_name = argv[2:7]
            return check(page, exp_path, stdout, stderr, script_name)
        if argv[1] == 'paths':
            repo, pages, bad = argv[2], argv[3:], 0
            for page in pages:
                for n, path in cited_paths(page, repo):
                    print('%s:%d: names %s, which does not exist' % (page, n, path))
                    bad = 1
            return bad
    except PageError as e:
        print(e)
        return 1
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
