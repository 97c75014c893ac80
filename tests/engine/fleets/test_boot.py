"""Reading cloud-init's JSON status (engine/fleets/boot.py) in its forms across versions."""

from __future__ import annotations

import json

from fleetstack.engine.fleets.boot import BootStatus, boot_error, parse_status


def test_newer_cloud_init_with_recoverable_errors_still_reads():
    text = json.dumps(
        {"status": "done", "errors": [], "recoverable_errors": {"WARNING": ["x"]}, "detail": "ok"}
    )

    assert parse_status(text) == BootStatus("done", [], "ok")


def test_output_that_is_not_json_is_unknown_and_not_finished():
    status = parse_status("Traceback: no status\n")

    assert status.status == "unknown" and not status.finished and not status.failed


def test_the_message_without_a_log_tail_keeps_to_one_line():
    message = boot_error("fs-a-node-0", BootStatus("error", [], "modules failed"), "")

    assert message == "instance fs-a-node-0: cloud-init failed: modules failed"
