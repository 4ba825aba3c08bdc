"""`canhgiac bench intake`: simulated residents complete the full report flow through the real
bot (a `canhgiac run` process) on the stand-in Bot API server; then the same server and load
shape drive python-telegram-bot's plain echo bot, as the yardstick.

Two phases per bot: saturation (as many updates as it can take, closed loop) gives updates/s;
paced (a fixed offered rate) gives reply latency from update offered to reply received.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from content import fold
from tests.fakes.balancer import RoundRobin
from tests.fakes.telegram_server import FakeTelegram, Sent, callback_update, text_update
from tests.walker import ReportWalker, Story

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figures:
    name: str
    handled: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    offered_rate: float = 0.0
    peak_rss_mb: float = 0.0
    reports: int = 0
    # Flows that did not end as a resident expects (an error reply, no receipt, no answer).
    failed: int = 0

    @property
    def per_second(self) -> float:
        return self.handled / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


class Harness:
    """Pushes updates for many chats and wakes each chat's resident on its reply."""

    def __init__(self, fake: FakeTelegram, loop: asyncio.AbstractEventLoop) -> None:
        self.fake, self.loop = fake, loop
        self.waiting: dict[int, tuple[float, asyncio.Future[Sent]]] = {}
        self.latencies: list[float] = []
        self.recording = False
        fake.on_sent = self._on_sent

    def _on_sent(self, sent: Sent) -> None:  # in the server's thread
        entry = self.waiting.pop(sent.chat_id, None)
        if entry is None:
            return
        offered, future = entry
        if self.recording:
            self.latencies.append(sent.at - offered)
        self.loop.call_soon_threadsafe(_settle, future, sent)

    async def exchange(self, chat_id: int, update: dict[str, Any], patience: float = 30) -> Sent:
        future: asyncio.Future[Sent] = self.loop.create_future()
        self.waiting[chat_id] = (time.perf_counter(), future)
        self.fake.push(update)
        return await asyncio.wait_for(future, patience)


def _settle(future: asyncio.Future[Sent], sent: Sent) -> None:
    if not future.done():
        future.set_result(sent)


class Pacer:
    """Hands out send slots at a fixed overall rate (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1 / rate if rate else 0.0
        self.next_at = time.perf_counter()

    async def slot(self) -> None:
        if not self.interval:
            return
        now = time.perf_counter()
        self.next_at = max(self.next_at + self.interval, now)
        await asyncio.sleep(self.next_at - now)


def _button(sent: Sent, label: str) -> str:
    wanted = fold(label)
    for text, data in sent.buttons:
        if wanted in fold(text):
            return data
    raise RuntimeError(f"no button {label!r} in {sent.text[:80]!r}")


_accounts = itertools.count()


async def report_flow(harness: Harness, pacer: Pacer, chat_id: int) -> int:
    """One full report, as a resident does it (the tests' prompt-reading walker decides each
    answer); returns the number of updates it took."""
    steps = 0
    walker = ReportWalker(
        Story(
            type="Đầu tư",
            account=(
                f"Nhóm đầu tư tiền ảo số {next(_accounts)} hứa lãi 5% mỗi ngày, gọi từ "
                "0912 345 678, bắt nạp vào stk 190312345678 Techcombank"
            ),
            amount="5 triệu",
            when="Hôm qua",
        )
    )

    async def say(text: str) -> Sent:
        nonlocal steps
        await pacer.slot()
        steps += 1
        return await harness.exchange(chat_id, text_update(chat_id, text))

    shown = await say("/totgiac")
    for _ in range(30):
        action = walker.next(shown.text, [label for label, _ in shown.buttons])
        if action is None:
            if "Mã tiếp nhận" not in shown.text:
                raise RuntimeError(f"no receipt: {shown.text[:120]!r}")
            return steps
        if action.kind == "press":
            data = _button(shown, str(action.value))
            await pacer.slot()
            steps += 1
            shown = await harness.exchange(chat_id, callback_update(chat_id, data))
        else:
            shown = await say(str(action.value))
    raise RuntimeError(f"no receipt after 30 answers: {walker.seen}")


_echo_words = itertools.count()


async def echo_flow(harness: Harness, pacer: Pacer, chat_id: int) -> int:
    for _ in range(10):  # the same number of updates as a report, roughly
        await pacer.slot()
        await harness.exchange(chat_id, text_update(chat_id, f"xin chào {next(_echo_words)}"))
    return 10


Flow = Callable[[Harness, Pacer, int], Awaitable[int]]


async def phase(
    harness: Harness,
    flow: Flow,
    residents: int,
    seconds: float,
    rate: float | None,
    first_chat: int,
) -> tuple[int, float, int, int]:
    """Residents loop over `flow` for `seconds`; returns (updates, seconds, flows done,
    flows failed). A failed flow is counted and the resident starts again: the benchmark
    reports failures instead of stopping at the first."""
    pacer = Pacer(rate)
    deadline = time.perf_counter() + seconds
    handled = completed = failed = 0

    async def resident(chat_id: int) -> None:
        nonlocal handled, completed, failed
        while time.perf_counter() < deadline:
            try:
                steps = await flow(harness, pacer, chat_id)  # not `+= await`: that reads first
            except (RuntimeError, TimeoutError) as error:
                failed += 1
                print(f"failed flow (chat {chat_id}): {error}", file=sys.stderr)
                with contextlib.suppress(TimeoutError):  # leave the half-done flow behind
                    await harness.exchange(chat_id, text_update(chat_id, "/huy"))
                continue
            handled += steps
            completed += 1

    started = time.perf_counter()
    await asyncio.gather(*(resident(first_chat + n) for n in range(residents)))
    return handled, time.perf_counter() - started, completed, failed


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def measure(
    name: str,
    command: list[str],
    env: dict[str, str],
    flow: Flow,
    residents: int,
    rate: float,
    seconds: float,
) -> Figures:
    fake = FakeTelegram().start()
    process = subprocess.Popen(
        command,
        env={**env, "TELEGRAM_API_URL": fake.root, "TELEGRAM_BOT_TOKEN": fake.token},
        stdout=subprocess.PIPE,
        cwd=env.get("BENCH_CWD"),
    )
    try:
        assert process.stdout is not None
        await asyncio.to_thread(process.stdout.readline)
        figures = await _phases(name, fake, flow, residents, rate, seconds)
        figures.peak_rss_mb = _peak_rss_mb(process.pid)
        return figures
    finally:
        process.terminate()
        process.wait(30)
        fake.stop()


async def _phases(
    name: str, fake: FakeTelegram, flow: Flow, residents: int, rate: float, seconds: float
) -> Figures:
    """Warm-up, saturation, then the paced phase (whose replies' latencies are kept)."""
    harness = Harness(fake, asyncio.get_running_loop())
    figures = Figures(name)
    *_, figures.failed = await phase(harness, flow, 8, 2, None, 100_000)  # warm-up
    figures.handled, figures.seconds, figures.reports, failed = await phase(
        harness, flow, residents, seconds, None, 200_000
    )
    harness.recording = True
    offered, elapsed, _, failed_paced = await phase(
        harness, flow, max(residents, int(rate)), seconds, rate, 300_000
    )
    harness.recording = False
    figures.failed += failed + failed_paced
    figures.offered_rate = offered / elapsed
    figures.latencies = harness.latencies
    return figures


# --- several web processes: `--workers N` ----------------------------------------------------

WEBHOOK_SECRET = "bench-webhook-secret"


class Fanned(RoundRobin):
    """The stand-in in front of the `canhgiac run` processes (tests/fakes/balancer.py); an
    update no process took is counted as a failed flow by the walker, and said here."""

    def untaken(self, update: dict[str, Any]) -> None:
        print(f"no process took update {update['update_id']}", file=sys.stderr)


async def measure_webhooks(
    name: str, workers: int, env: dict[str, str], residents: int, rate: float, seconds: float
) -> Figures:
    """`workers` processes of `canhgiac run` in webhook mode on one database, the updates
    spread among them in turn."""
    fake = Fanned(secret=WEBHOOK_SECRET)
    fake.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(workers):  # one after the other: the first one migrates
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--role", "all"],
                env={
                    **env,
                    "TELEGRAM_API_URL": fake.root,
                    "TELEGRAM_BOT_TOKEN": fake.token,
                    "TELEGRAM_WEBHOOK_URL": "http://127.0.0.1:9/telegram",
                    "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                    "HTTP_PORT": str(port),
                },
                stdout=subprocess.PIPE,
                cwd=env.get("BENCH_CWD"),
            )
            processes.append(process)
            assert process.stdout is not None
            await asyncio.to_thread(process.stdout.readline)
            fake.backends.append(f"http://127.0.0.1:{port}/telegram")
        figures = await _phases(name, fake, report_flow, residents, rate, seconds)
        figures.peak_rss_mb = sum(_peak_rss_mb(p.pid) for p in processes)
        await fake.close()
        return figures
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        fake.stop()


def _load() -> str:
    """The machine's load average (1, 5, 15 minutes), taken before a benchmark starts (which
    loads the cores itself): the figures mean little when other work shares them."""
    return "load average " + ", ".join(f"{n:.2f}" for n in os.getloadavg())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(
    database_url: str | None, residents: int, rate: float, seconds: float, workers: int = 1
) -> int:
    if workers > 1:
        return run_workers(database_url or "", residents, rate, seconds, workers)
    before = _load()
    with tempfile.TemporaryDirectory() as scratch:
        url = database_url or f"sqlite:///{scratch}/bench.db"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            "TELEGRAM_WEBHOOK_URL": "",
            "REPORTS_PER_DAY": "1000000",
            "PYTHONPATH": str(ROOT),
            "BENCH_CWD": scratch,
        }
        ours = asyncio.run(
            measure(
                "canhgiac",
                [sys.executable, "-m", "bot", "run"],
                env,
                report_flow,
                residents,
                rate,
                seconds,
            )
        )
        echo = asyncio.run(
            measure(
                "PTB echo bot",
                [sys.executable, "-m", "bench.echo_bot"],
                env,
                echo_flow,
                residents,
                rate,
                seconds,
            )
        )
    _print(url.split(":")[0], residents, rate, seconds, ours, echo, before)
    return 1 if ours.failed else 0


def _print(
    backend: str,
    residents: int,
    rate: float,
    seconds: float,
    ours: Figures,
    echo: Figures,
    before: str,
) -> None:
    print(
        f"intake benchmark — {backend}, {residents} residents saturating, then {rate:g} "
        f"updates/s offered, {seconds:g} s each, {os.cpu_count()} cores, {before} at the start"
    )
    print(
        f"{'':14}{'updates/s':>10}{'offered/s':>10}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'peak RSS MB':>12}"
    )
    for f in (ours, echo):
        print(
            f"{f.name:14}{f.per_second:>10.0f}{f.offered_rate:>10.1f}{f.percentile(50):>8.1f}"
            f"{f.percentile(95):>8.1f}{f.percentile(99):>8.1f}{f.peak_rss_mb:>12.0f}"
        )
    ratio = ours.per_second / echo.per_second if echo.per_second else float("nan")
    print(
        f"throughput ratio canhgiac / echo: {ratio:.2f} (target ≥ 0.6); "
        f"canhgiac p99 {ours.percentile(99):.1f} ms at {ours.offered_rate:.0f}/s "
        f"(target < 100 ms); reports filed while saturating: {ours.reports}"
    )
    print(
        f"failed report flows (every resident names the same scammer's number): "
        f"{ours.failed} (target 0)"
    )
    print(
        f"mean latency canhgiac {statistics.fmean(ours.latencies) * 1000:.1f} ms, "
        f"echo {statistics.fmean(echo.latencies) * 1000:.1f} ms"
    )


def run_workers(
    database_url: str, residents: int, rate: float, seconds: float, workers: int
) -> int:
    """The report flow by webhook through one process, then through `workers` processes on
    the same PostgreSQL database (the echo bot has no part here)."""
    if not database_url.startswith("postgresql"):
        print("--workers needs --database-url postgresql+psycopg://…", file=sys.stderr)
        return 2
    before = _load()
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "REPORTS_PER_DAY": "1000000",
            "PYTHONPATH": str(ROOT),
            "BENCH_CWD": scratch,
        }
        runs = [
            asyncio.run(
                measure_webhooks(
                    f"{n} process{'es' if n > 1 else ''}", n, env, residents, rate, seconds
                )
            )
            for n in (1, workers)
        ]
    print(
        f"intake benchmark by webhook — {database_url.split(':')[0]}, {residents} residents "
        f"saturating, then {rate:g} updates/s offered, {seconds:g} s each, {os.cpu_count()} cores, "
        f"{before} at the start"
    )
    print(
        f"{'':14}{'updates/s':>10}{'offered/s':>10}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'RSS MB, all':>12}{'failed':>8}"
    )
    for f in runs:
        print(
            f"{f.name:14}{f.per_second:>10.0f}{f.offered_rate:>10.1f}{f.percentile(50):>8.1f}"
            f"{f.percentile(95):>8.1f}{f.percentile(99):>8.1f}{f.peak_rss_mb:>12.0f}{f.failed:>8}"
        )
    return 1 if any(f.failed for f in runs) else 0


if __name__ == "__main__":
    # `canhgiac bench intake` is wired in bot/cli.py; this takes --workers until it is too.
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.intake")
    parser.add_argument("--residents", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1, help="web processes (PostgreSQL)")
    given = parser.parse_args()
    sys.exit(run(given.database_url, given.residents, given.rate, given.seconds, given.workers))
