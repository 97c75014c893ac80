"""Job logs: raw bytes, `since` through the time index, `follow` until the job has ended."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from fleetstack.engine.runner import jobfiles
from fleetstack.engine.runner.jobcontrol import start_supervisor, wait_for_exit
from fleetstack.engine.runner.jobfiles import ExitStatus, LogWriter, follow_log, read_log


class _PollCounter:
    """How many times the follower has polled; the producer waits on it instead of sleeping."""

    def __init__(self) -> None:
        self.count = 0
        self.stalled = False
        self._changed = threading.Condition()

    def tick(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_beyond(self, seen: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.count > seen, timeout=30):
                self.stalled = True


def _finished(job_dir) -> None:
    jobfiles.write_exit_status(
        job_dir,
        ExitStatus(
            code=0,
            signal=None,
            finished_at=time.time(),
            status="done",
            termination_reason="done_by_runner",
            exit_status=0,
        ),
    )


def test_since_starts_at_the_first_chunk_written_at_or_after_it(tmp_path):
    writer = LogWriter(tmp_path)
    writer.append(b"one\n", at=100.0)
    writer.append(b"two ", at=200.0)
    writer.append(b"three\n", at=300.0)
    writer.close()
    assert read_log(tmp_path) == b"one\ntwo three\n"
    assert read_log(tmp_path, since=150.0) == b"two three\n"
    assert read_log(tmp_path, since=200.0) == b"two three\n"
    assert read_log(tmp_path, since=datetime.fromtimestamp(250.0, UTC)) == b"three\n"
    assert read_log(tmp_path, since=301.0) == b""


def test_an_appending_writer_continues_the_offsets(tmp_path):
    first = LogWriter(tmp_path)
    first.append(b"abc", at=1.0)
    first.close()
    second = LogWriter(tmp_path)
    second.append(b"def", at=2.0)
    second.close()
    assert read_log(tmp_path, since=2.0) == b"def"


def test_a_torn_index_line_is_ignored(tmp_path):
    writer = LogWriter(tmp_path)
    writer.append(b"abc", at=10.0)
    writer.close()
    with open(tmp_path / jobfiles.INDEX_FILE, "ab") as f:
        f.write(b"3 2")  # a line still being written
    assert jobfiles.read_index(tmp_path) == ([0], [10.0])


def test_missing_log_reads_empty(tmp_path):
    assert read_log(tmp_path) == b""
    assert read_log(tmp_path, since=5.0) == b""


def test_follow_yields_everything_then_stops_when_the_job_ends(tmp_path):
    chunks = [b"line %d\n" % i for i in range(20)] + [b"\xff\x00 no newline"]
    polls = _PollCounter()

    def finished() -> bool:  # the default check, counting the follower's polls
        polls.tick()
        return (tmp_path / jobfiles.EXIT_STATUS_FILE).exists()

    def produce() -> None:
        polls.wait_beyond(0)  # the follower starts before the log exists
        writer = LogWriter(tmp_path)
        for chunk in chunks:
            seen = polls.count
            writer.append(chunk)
            polls.wait_beyond(seen)  # the follower reads while the job still writes
        writer.close()
        _finished(tmp_path)

    thread = threading.Thread(target=produce)
    thread.start()
    got = list(follow_log(tmp_path, poll_interval=0.01, is_finished=finished, timeout=30))
    thread.join()
    assert not polls.stalled, "the follower stopped polling while the job was writing"
    assert b"".join(got) == b"".join(chunks)
    assert len(got) > 1  # followed as it grew, not read once at the end


def test_follow_with_since_skips_older_output(tmp_path):
    writer = LogWriter(tmp_path)
    writer.append(b"old\n", at=1.0)
    writer.append(b"new\n", at=2.0)
    writer.close()
    _finished(tmp_path)
    assert b"".join(follow_log(tmp_path, since=2.0)) == b"new\n"


def test_follow_gives_up_at_its_timeout(tmp_path):
    writer = LogWriter(tmp_path)
    writer.append(b"still running\n")
    writer.close()
    assert b"".join(follow_log(tmp_path, poll_interval=0.01, timeout=0.2)) == b"still running\n"


def test_follow_a_real_job_to_its_end(tmp_path):
    script = tmp_path / "job.sh"
    script.write_text('for i in 1 2 3 4 5; do echo "step $i"; sleep 0.1; done\nprintf done\n')
    job_dir = tmp_path / "job"
    start_supervisor(job_dir, script=script)
    followed = b"".join(follow_log(job_dir, poll_interval=0.02, timeout=60))
    assert wait_for_exit(job_dir, 30).status == "done"
    assert followed == b"step 1\nstep 2\nstep 3\nstep 4\nstep 5\ndone"
    assert followed == read_log(job_dir)
