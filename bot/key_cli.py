"""`canhgiac key new|rotate|reseal|status`: the keys that seal personal data at rest.

Rotation: `key rotate` appends a new key to DATA_KEY_FILE (the last key seals new values)
and seals every stored value and reporter tag with it. Stop the bot first: a process still
holding the old key ring could not open what was sealed with the new key. With keys in
DATA_KEYS instead, `key new` prints a key to append there; restart, then `key reseal`. An old
key can be removed once `key status` shows nothing sealed with it."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from dotenv import load_dotenv

from db import rekey, sealing
from db.engine import Database


def add_arguments(commands: argparse._SubParsersAction) -> None:
    key = commands.add_parser("key", help="the keys that encrypt personal data at rest")
    actions = key.add_subparsers(dest="action", required=True)
    actions.add_parser("new", help="print a new key line (for DATA_KEYS or a key file)")
    actions.add_parser(
        "rotate", help="append a new key to DATA_KEY_FILE and reseal everything (bot stopped)"
    )
    actions.add_parser("reseal", help="seal every stored value with the current (last) key")
    actions.add_parser("status", help="how many stored values each key sealed")


def next_id(ring: sealing.KeyRing | None) -> str:
    numbers = [
        int(m.group(1)) for k in (ring.keys if ring else ()) if (m := re.match(r"k(\d+)$", k))
    ]
    return f"k{max(numbers, default=0) + 1}"


def ring_if_any() -> sealing.KeyRing | None:
    """The configured keys if any can be read (to number the next one), else None."""
    load_dotenv(".env", override=False)  # keys kept in .env count too: a new id must differ
    raw, named = os.environ.get("DATA_KEYS", "").strip(), os.environ.get("DATA_KEY_FILE", "")
    try:
        if raw:
            return sealing.KeyRing.parse(raw)
        if named.strip() and Path(named.strip()).exists():
            return sealing.load_key_file(Path(named.strip()))
    except (sealing.NoKey, OSError):
        pass
    return None


def new_line(ring: sealing.KeyRing | None) -> int:
    print(sealing.KeyRing.new_line(next_id(ring)))
    return 0


def rotate(key_file: Path | None) -> Path:
    """Append a new current key to the key file and install the grown ring."""
    if key_file is None:
        raise SystemExit(
            "canhgiac: the keys come from DATA_KEYS: add the line `canhgiac key new` prints "
            "at its end, restart, then run `canhgiac key reseal`"
        )
    before = key_file.read_text(encoding="utf-8")
    grown = before.rstrip("\n") + "\n" + sealing.KeyRing.new_line(next_id(sealing.ring())) + "\n"
    ring = sealing.KeyRing.parse(grown)  # parse before writing: never leave a broken file
    # The old file kept beside, the new one written whole and renamed over it: a crash or a
    # full disk midway never leaves no keys.
    _write_private(key_file.with_name(key_file.name + ".bak"), before)
    fresh = key_file.with_name(key_file.name + ".new")
    _write_private(fresh, grown)
    os.replace(fresh, key_file)
    sealing.install(ring)
    return key_file


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def run(args: argparse.Namespace, db: Database, key_file: Path | None) -> int:
    if args.action == "rotate":
        rotate(key_file)
        print(f"new key {sealing.ring().current} added to {key_file}", file=sys.stderr)
    if args.action in ("rotate", "reseal"):
        changed = rekey.reseal(db.connection)
        for place, count in sorted(changed.items()):
            print(f"{place}\t{count}")
        print(
            f"sealed with key {sealing.ring().current}: {sum(changed.values())} value(s); "
            "restart every canhgiac process so they use it"
        )
        return 0
    counts = rekey.status(db.connection)
    current = sealing.ring().current
    for key_id in sorted(counts):
        label = key_id or "(not sealed)"
        mark = " (current)" if key_id == current else ""
        print(f"{label}{mark}\t{counts[key_id]}")
    unused = [k for k in sealing.ring().keys if k != current and not counts.get(k)]
    if unused:
        print("no value uses: " + ", ".join(unused) + " (may be removed)")
    return 0
