from types import SimpleNamespace as NS

from fleetstack.stacks.diff import StackDiff, diff_from_events, diff_rows


def _event(op, rtype, name, diffs=None):
    urn = f"urn:pulumi:s::fleetstack::{rtype}::{name}"
    meta = NS(op=NS(value=op), type=rtype, urn=urn, diffs=diffs, keys=None)
    return NS(resource_pre_event=NS(metadata=meta))


def test_events_become_a_typed_diff_with_counts_and_summary():
    events = [
        NS(resource_pre_event=None),
        _event("same", "pulumi:pulumi:Stack", "fleetstack-s"),
        _event("create", "pulumi:providers:aws", "default"),
        _event("create", "aws:ec2/instance:Instance", "node-0"),
        _event("update", "aws:ec2/securityGroup:SecurityGroup", "sg", ["ingress"]),
        _event("create-replacement", "aws:ec2/keyPair:KeyPair", "key", ["publicKey"]),
        _event("same", "aws:ec2/instance:Instance", "node-1"),
    ]
    diff = diff_from_events(events)
    assert diff.counts == {"create": 1, "update": 1, "replace": 1, "delete": 0, "same": 1}
    assert diff.summary() == "+ 1 to create, ~ 1 to update, +- 1 to replace, 1 unchanged"
    assert diff_rows(diff)[:2] == [
        ("+", "create", "aws:ec2/instance:Instance", "node-0", ""),
        ("~", "update", "aws:ec2/securityGroup:SecurityGroup", "sg", "ingress"),
    ]


def test_empty_diff_says_no_changes():
    assert StackDiff([], state_compared=True).summary() == "no changes"
    assert not StackDiff([], state_compared=False).has_changes
