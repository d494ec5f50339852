#!/usr/bin/env python3
"""manpages.py — builds a known-item retrieval evaluation set from the
manual pages installed on this machine: text no one here wrote.

Each page with a usable NAME line and a body becomes one document (its
DESCRIPTION, then the sections after it such as OPTIONS or METHODS, up to
--max-words words; never NAME, which holds the summary, nor SYNOPSIS,
SEE ALSO and the credits) and one query (the NAME line's one-line
summary, e.g. "list directory contents" for ls(1)), whose one relevant
document is its own page. Where a body repeats its summary word for word,
that repetition is taken out, so no query is a substring of its answer. Pages that only include
another (.so), pages without both parts, and summaries that are too short
to be a query are left out; of several pages with the same summary, only
the first is kept, so every query has exactly one right answer.

Queries are split in two halves by a hash of the page, stably: tune on
"tune", report on "report".

    ops/eval/manpages.py --out DIR [--man-dir /usr/share/man] [--max-words 300]
                         [--skip PREFIX]...

writes DIR/docs.jsonl   {"id": "ls.1", "text": "...", "metadata": {"section": "1"}}
       DIR/queries.jsonl {"query": "...", "relevant": ["ls.1"], "split": "tune"|"report"}
       DIR/queries_misspelled.jsonl  the same queries with one typing slip in
                         every word of five letters or more ("certifcate",
                         "inetrface"), as users type them
and prints the counts. Only the standard library is used.
"""
import argparse
import gzip
import hashlib
import json
import os
import re
import sys

SECTIONS = [str(n) for n in range(1, 9)]

# Font and spacing escapes carry no words; named characters become their text.
ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\s[+-]?\d+"), ""),
    (re.compile(r"\\\((em|en|hy)"), "-"),
    (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\((oq|cq|aq)"), "'"),
    (re.compile(r"\\\(..|\\\[[^\]]*\]|\\\*(\(..|\[[^\]]*\]|.)"), ""),
    (re.compile(r"\\[-e]"), lambda m: "-" if m.group(0) == "\\-" else "\\"),
    (re.compile(r"\\[&|^%:/,)]"), ""),
    (re.compile(r"\\ "), " "),
    (re.compile(r"\\."), ""),
]

# Macros whose arguments are text; every other request line is dropped.
TEXT_MACROS = {
    "B", "I", "BR", "BI", "IB", "IR", "RB", "RI", "SM", "SB", "TP", "IP", "Nm", "Nd", "Ar",
    "Fl", "Cm", "Ic", "Pa", "Va", "Ev", "Xr", "Em", "Sy", "Li", "Dq", "Sq", "Ql", "Op", "Fn",
    "Fa", "Ft", "Dv", "Er", "Tn", "Ux", "Bx", "At", "St", "Ns", "Pq", "Aq", "Qq", "It",
}


def read_page(path):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read(2_000_000).decode("utf-8", errors="replace")
    except (OSError, EOFError):
        return None


def plain(line):
    for pattern, repl in ESCAPES:
        line = pattern.sub(repl, line)
    return line


def text_of(lines):
    """The words of roff source lines, macros and escapes removed."""
    out = []
    for line in lines:
        if line.startswith(('.\\"', "'\\\"", '.\\#')):
            continue
        if line.startswith((".", "'")):
            parts = line[1:].strip().split(None, 1)
            if not parts or parts[0] not in TEXT_MACROS or len(parts) == 1:
                continue
            line = parts[1]
            if parts[0] in ("IP", "TP"):  # the tag only, not the indent after it
                tag = re.match(r'\s*("([^"]*)"|\S+)', line)
                line = tag.group(2) if tag and tag.group(2) is not None else (tag.group(1) if tag else "")
            line = line.replace('"', " ")
        out.append(plain(line))
    return " ".join(" ".join(out).split())


def sections(src):
    """Maps each section heading (upper case) to its source lines."""
    found, name = {}, None
    for line in src.splitlines():
        m = re.match(r'^\.(SH|Sh)\s+"?([^"]*)"?\s*$', line)
        if m:
            name = plain(m.group(2)).strip().upper()
            found.setdefault(name, [])
        elif name is not None:
            found[name].append(line)
    return found


def summary_of(name_lines):
    """The one-line summary of a NAME section: man's `foo \\- text` or mdoc's .Nd."""
    for line in name_lines:
        if line.startswith(".Nd"):
            return text_of([line[3:].strip()])
    text = text_of(name_lines)
    for sep in (" - ", " -- "):
        if sep in text:
            return text.split(sep, 1)[1].strip()
    return ""


# Sections that say who, where or how to call, not what: left out of documents.
NOT_BODY = {"NAME", "SYNOPSIS", "SEE ALSO", "AUTHOR", "AUTHORS", "COPYRIGHT", "REPORTING BUGS",
            "BUGS", "HISTORY", "AVAILABILITY", "COLOPHON", "LICENSE", "COPYRIGHT AND LICENSE"}


def body_words(parts, max_words):
    """DESCRIPTION first, then the other body sections in page order."""
    order = ["DESCRIPTION"] + [k for k in parts if k != "DESCRIPTION"]
    words = []
    for name in order:
        if name in parts and name not in NOT_BODY:
            words += text_of(parts[name]).split()
            if len(words) >= max_words:
                break
    return words[:max_words]


def page_id(path, section):
    base = os.path.basename(path)
    base = base[:-3] if base.endswith(".gz") else base
    return base if base.endswith("." + section) or "." in base else f"{base}.{section}"


def pages(man_dir, skip):
    for section in SECTIONS:
        folder = os.path.join(man_dir, "man" + section)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not any(name.startswith(prefix) for prefix in skip):
                yield section, os.path.join(folder, name)


def build(man_dir, max_words, skip):
    docs, queries, seen_summaries = [], [], set()
    for section, path in pages(man_dir, skip):
        src = read_page(path)
        if not src or re.match(r"^\.so\s", src.lstrip()):
            continue
        parts = sections(src)
        summary = summary_of(parts.get("NAME", []))
        words = body_words(parts, max_words) if "DESCRIPTION" in parts else []
        key = summary.lower()
        if len(summary.split()) < 3 or len(words) < 20 or key in seen_summaries:
            continue
        seen_summaries.add(key)
        doc_id = page_id(path, section)
        # Many pages repeat their summary in their body word for word; the
        # query is then a substring of its answer, which tests nothing.
        text = re.sub(re.escape(summary), " ", " ".join(words), flags=re.IGNORECASE)
        docs.append({"id": doc_id, "text": " ".join(text.split()),
                     "metadata": {"section": section}})
        half = int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 2
        queries.append({"query": summary, "relevant": [doc_id],
                        "split": "tune" if half == 0 else "report"})
    return docs, queries


def misspell(word, seed):
    """One typing slip in a word of five letters or more, chosen by a hash
    (two inner letters swapped, or one left out), so the set is the same on
    every run; shorter words and words with digits stay as they are."""
    if len(word) < 5 or not word.isalpha():
        return word
    h = int(hashlib.sha256((seed + word).encode()).hexdigest(), 16)
    i = 1 + h % (len(word) - 2)
    if (h >> 8) % 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:]


def misspelled(queries):
    return [dict(q, query=re.sub(r"[A-Za-z]+", lambda m: misspell(m.group(0), q["relevant"][0]),
                                 q["query"]))
            for q in queries]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--man-dir", default="/usr/share/man")
    ap.add_argument("--max-words", type=int, default=300)
    ap.add_argument("--skip", action="append", default=None,
                    help="leave out pages whose file name starts with this (repeatable; "
                         "default: gcloud_alpha_ and gcloud_beta_, near-copies of the GA pages)")
    args = ap.parse_args()
    docs, queries = build(args.man_dir, args.max_words,
                          args.skip if args.skip is not None else ["gcloud_alpha_", "gcloud_beta_"])
    if not docs:
        sys.exit(f"no usable manual pages under {args.man_dir}")
    os.makedirs(args.out, exist_ok=True)
    write_jsonl(os.path.join(args.out, "docs.jsonl"), docs)
    write_jsonl(os.path.join(args.out, "queries.jsonl"), queries)
    write_jsonl(os.path.join(args.out, "queries_misspelled.jsonl"), misspelled(queries))
    tune = sum(q["split"] == "tune" for q in queries)
    words = sum(len(d["text"].split()) for d in docs)
    with open(os.path.join(args.out, "docs.jsonl"), "rb") as f:
        fingerprint = hashlib.sha256(f.read()).hexdigest()[:16]
    print(f"{len(docs)} documents ({words / len(docs):.0f} words on average), "
          f"{len(queries)} queries ({tune} tune, {len(queries) - tune} report) in {args.out}; "
          f"docs.jsonl sha256 {fingerprint}... (the set depends on the pages installed)")


if __name__ == "__main__":
    main()
