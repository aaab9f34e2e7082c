"""config.progress: the time left from the rate so far, the figures a status endpoint
answers, the line under the bar, batched writes, and task arguments that never look like a
My Number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config.progress import (
    ProgressWriter,
    eta_seconds,
    job_status,
    percent,
    progress_text,
)

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


# --- eta_seconds --------------------------------------------------------------------------


def test_the_time_left_follows_the_rate_so_far():
    # 3,200 rows in 8 s is 400 rows/s: 6,800 left take 17 s.
    assert eta_seconds(3_200, 10_000, START, at(8)) == 17
    # Half done in 60 s: another 60 s.
    assert eta_seconds(50, 100, START, at(60)) == 60


def test_the_time_left_is_rounded_up_to_a_whole_second():
    # 1 of 3 in 1 s: 2 s left exactly; 1 of 3 in 1.1 s: 2.2 s, shown as 3.
    assert eta_seconds(1, 3, START, at(1)) == 2
    assert eta_seconds(1, 3, START, at(1.1)) == 3


def test_no_estimate_without_a_rate_to_go_by():
    assert eta_seconds(0, 100, START, at(5)) is None  # nothing done yet
    assert eta_seconds(10, 100, None, at(5)) is None  # not started
    assert eta_seconds(10, 0, START, at(5)) is None  # no total
    assert eta_seconds(10, 100, START, START) is None  # no time passed
    assert eta_seconds(10, 100, START, at(-1)) is None  # a clock that went back


def test_nothing_left_once_done_reaches_the_total():
    assert eta_seconds(100, 100, START, at(5)) == 0
    assert eta_seconds(120, 100, START, at(5)) == 0  # a total counted at the start fell behind


# --- figures and text ----------------------------------------------------------------------


def test_percent_is_whole_and_bounded():
    assert [percent(0, 10), percent(1, 3), percent(32, 100), percent(15, 10)] == [0, 33, 32, 100]
    assert percent(5, 0) == 0


def test_the_status_of_a_job_partway_done():
    figures = job_status(status="running", done=3_200, total=10_000, started_at=START, now=at(8))
    assert figures == {"status": "running", "done": 3_200, "total": 10_000, "percent": 32,
                       "eta_seconds": 17, "error": ""}  # fmt: skip
    assert progress_text(figures) == "3,200 / 10,000 件・残り約 17 秒"


def test_long_waits_are_shown_in_minutes_and_other_states_without_an_estimate():
    slow = job_status(status="running", done=100, total=10_000, started_at=START, now=at(10))
    assert slow["eta_seconds"] == 990 and progress_text(slow) == "100 / 10,000 件・残り約 17 分"
    queued = job_status(status="queued", done=0, total=500, started_at=None)
    assert queued["eta_seconds"] is None and progress_text(queued) == "開始を待っています"
    early = job_status(status="running", done=0, total=500, started_at=START, now=at(1))
    assert progress_text(early) == "0 / 500 件"
    sealing = job_status(status="running", done=500, total=500, started_at=START, now=at(9))
    assert progress_text(sealing) == "500 / 500 件・仕上げ中"
    done = job_status(status="done", done=480, total=500, started_at=START)
    assert (done["percent"], done["done"], done["total"]) == (100, 500, 500)
    failed = job_status(status="failed", done=5, total=10, started_at=START, error="だめ")
    assert failed["eta_seconds"] is None and failed["error"] == "だめ"


# --- batched writes ------------------------------------------------------------------------


class _Recording(ProgressWriter):
    def __init__(self, **options):
        super().__init__(object, 1, schema="public", **options)
        self.written: list[dict] = []

    def _write(self, values):
        self.written.append(values)


def test_progress_is_written_in_batches_not_per_row(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("config.progress.time.monotonic", lambda: clock[0])
    with _Recording(interval=0.5) as writer:
        writer.update(0, 10_000)
        for done in range(1, 10_001):
            writer.update(done)
            if done % 1_000 == 0:
                clock[0] += 0.3  # 1,000 rows take 0.3 s
    # Once at the start, then at most every 0.5 s, and the last figures on close.
    assert 5 <= len(writer.written) <= 8
    assert writer.written[0] == {"progress_done": 0, "progress_total": 10_000}
    assert writer.written[-1] == {"progress_done": 10_000, "progress_total": 10_000}
