"""JSON values as the state database and plans store them."""

import json

JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject = dict[str, JSONValue]


def json_object(value: object) -> JSONObject:
    """A dict of plain values (a dataclass's `asdict`) as the JSON object it is stored as:
    tuples become lists; anything JSON cannot hold raises TypeError."""
    loaded = json.loads(json.dumps(value))
    if not isinstance(loaded, dict):
        raise TypeError(f"expected an object, got {type(loaded).__name__}")
    return loaded
