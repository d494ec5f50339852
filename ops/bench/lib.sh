# lib.sh — what the benchmark scripts share (sourced, not run): a free TCP
# port, the clean-up of what a run started, and writing a run's Markdown
# section into docs/BENCHMARKS.md between its markers.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Kills the processes in PIDS and removes TMP: the scripts' EXIT trap.
bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}

# bench_write_section NAME TEXT: TEXT replaces what lies between
# <!-- NAME:begin --> and <!-- NAME:end --> (TEXT carries both markers);
# appended when the markers are not there yet.
bench_write_section() {
  python3 - "$1" "$2" <<'PY'
import sys, re, pathlib
name, new = sys.argv[1], sys.argv[2]
p = pathlib.Path("docs/BENCHMARKS.md")
text = p.read_text() if p.exists() else "# Benchmarks\n\nFigures measured on this project's machine; each section names the command that reproduces it.\n"
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: new, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + new + "\n"
p.write_text(text)
PY
}
