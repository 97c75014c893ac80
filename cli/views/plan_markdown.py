"""The plan as a pull-request comment (`--format markdown`): the summary first (a line per
configuration and the total), the details of each in a collapsible section, and the whole
kept under GitHub's comment limit: sections that do not fit lose their inputs, then are left
out, and the comment says what was cut."""

from __future__ import annotations

from collections.abc import Sequence

from ...engine.models.plan import Plan
from ...engine.services.plans import PlanOutcome
from ...stacks.diff import SYMBOLS
from .plan_text import counts_line, counts_of, total_line

LIMIT = 65_000  # GitHub refuses comments over 65,536 characters
MARKER = "<!-- fleetstack-plan -->"  # the CI workflow finds (and edits) its comment by it


def render_markdown(outcomes: Sequence[PlanOutcome], *, limit: int = LIMIT) -> str:
    """The comment: summary, then details, at most `limit` characters (the summary is
    always whole)."""
    summary = _summary(outcomes)
    sections = [_section(o, inputs=True) for o in outcomes]
    shortened: list[str] = []
    kept = len(outcomes)
    text = _joined(summary, sections, [], [])
    # the last sections lose their inputs first, then whole sections go, until it fits
    for n in reversed(range(len(outcomes))):
        if len(text) <= limit:
            return text
        sections[n] = _section(outcomes[n], inputs=False)
        shortened.insert(0, outcomes[n].path)
        text = _joined(summary, sections, shortened, [])
    while len(text) > limit and kept > 0:
        kept -= 1
        cut = [o.path for o in outcomes[kept:]]
        text = _joined(summary, sections[:kept], shortened[:kept], cut)
    return text


def _joined(summary: str, sections: list[str], shortened: list[str], cut: list[str]) -> str:
    note = _cut_note(shortened, cut)
    return "\n".join([summary, *sections, *([note] if note else [])])


def _summary(outcomes: Sequence[PlanOutcome]) -> str:
    lines = [MARKER, "## fleetstack plan", "", f"**Total: {total_line(outcomes)}**", "",
             "| configuration | type | name | action | changes | offer |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for outcome in outcomes:
        plan = outcome.plan
        if plan is None:
            lines.append(f"| `{outcome.path}` | | | **error** | {_cell(outcome.error or '')} | |")
            continue
        offer = plan.chosen_offer
        where = (f"{offer.backend} {offer.region} {offer.instance_type} ${offer.price:g}/h"
                 if offer else "-")  # fmt: skip
        lines.append(
            f"| `{outcome.path}` | {plan.configuration.type} | {plan.run_name} | "
            f"{plan.action} | {counts_line(counts_of(plan))} | {_cell(where)} |"
        )
    return "\n".join(lines) + "\n"


def _section(outcome: PlanOutcome, *, inputs: bool) -> str:
    plan = outcome.plan
    if plan is None:
        return (f"<details><summary><code>{outcome.path}</code>: error</summary>\n\n"
                f"```\n{outcome.error}\n```\n</details>\n")  # fmt: skip
    lines = [f"<details><summary><code>{outcome.path}</code>: {plan.action}, "
             f"{counts_line(counts_of(plan))}</summary>", ""]  # fmt: skip
    lines += [f"- {key}: {_cell(value)}" for key, value in plan.properties]
    lines += _fleet_change(plan)
    rp = plan.resource_plan
    if rp is not None:
        source = "pulumi preview against the stack's state" if rp.source == "preview" else (
            f"offline, no state compared ({rp.reason})")  # fmt: skip
        lines += ["", f"**Stack** `fleetstack/{rp.spec.stack_name}` ({source}): "
                  f"{rp.diff.summary()}", ""]  # fmt: skip
        for change in rp.diff.changes:
            if change.op == "same":
                continue
            detail = f" — {_cell(', '.join(change.changed))}" if change.changed else ""
            lines.append(f"- `{SYMBOLS[change.op]} {change.op}` `{change.type}` "
                         f"`{change.name}`{detail}")  # fmt: skip
            if inputs and change.inputs:
                lines += _inputs_block(change.inputs)
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _fleet_change(plan: Plan) -> list[str]:
    change = plan.fleet_change
    if change is None or not change.fields:
        return []
    verb = "updated in place" if change.action == "update" else "**re-created**"
    lines = ["", f"Fleet `{plan.run_name}` is {verb}:", "", "| field | old | new |",
             "|---|---|---|"]  # fmt: skip
    lines += [
        f"| {f.field} | `{_cell(str(f.old))}` | `{_cell(str(f.new))}` |" for f in change.fields
    ]
    return lines


def _inputs_block(inputs: dict[str, str]) -> list[str]:
    body = "\n".join(f"{key} = {value}" for key, value in sorted(inputs.items()))
    fence = "~~~~" if "```" in body else "```"
    return ["  <details><summary>inputs</summary>", "", f"{fence}", body, f"{fence}",
            "  </details>"]  # fmt: skip


def _cut_note(shortened: list[str], left_out: list[str]) -> str:
    if not shortened and not left_out:
        return ""
    said = []
    if shortened:
        said.append(f"the inputs of {len(shortened)} configuration(s) were left out")
    if left_out:
        named = ", ".join(left_out[:5]) + (", ..." if len(left_out) > 5 else "")
        said.append(f"the details of {len(left_out)} configuration(s) were cut ({named})")
    return (f"\n_Trimmed to stay under GitHub's comment limit: {'; '.join(said)}. The full "
            "plan is in the job's log (`dstack plan --json`)._\n")  # fmt: skip


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
