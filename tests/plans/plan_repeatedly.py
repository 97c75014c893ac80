"""`python plan_repeatedly.py FOLDER N`: the dry-run plan of every configuration under FOLDER,
N times in this process (what `dstack plan -f FOLDER` computes), then exit. Each round prints
`round configurations errors`; the caller reads stderr for what the runtime left behind."""

from __future__ import annotations

import sys

from fleetstack.engine.services.plans import plan_configurations


def main() -> None:
    folder, rounds = sys.argv[1], int(sys.argv[2])
    for n in range(rounds):
        outcomes = plan_configurations([folder], overrides={}, run_args=[], profile=None)
        errors = [o.error for o in outcomes if o.plan is None]
        print(n, len(outcomes), len(errors), *errors, flush=True)


if __name__ == "__main__":
    main()
