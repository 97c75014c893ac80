"""`python tests/engines/dstack_recording.py ARGS`: the real `dstack` CLI (fleetstack.cli.main)
in a process with the recording stack engine registered (`stack_engine: recording` in
config.yml). FLEETSTACK_RECORDING_STATE is the engine's state directory, shared by every
process of a test (a background server started from this entry registers it too).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

STATE_VAR = "FLEETSTACK_RECORDING_STATE"


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fleetstack.cli.main import run
    from fleetstack.stacks.engine import register_test_engine
    from recording import RecordingEngine  # this folder, whatever the caller's cwd

    engine = RecordingEngine(Path(os.environ[STATE_VAR]))
    register_test_engine("recording", lambda _provider_config: engine)
    run()


if __name__ == "__main__":
    main()
