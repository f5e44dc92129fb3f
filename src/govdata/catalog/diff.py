"""What changed between two revisions of a resource: fields, and items matched by key."""

from __future__ import annotations

from typing import Any


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    fields = {k: {"from": old.get(k), "to": new.get(k)}
              for k in sorted(set(old) | set(new)) if k != "items" and old.get(k) != new.get(k)}
    old_items = {i["key"]: i for i in old.get("items", [])}
    new_items = {i["key"]: i for i in new.get("items", [])}
    changed = {}
    for key in old_items.keys() & new_items.keys():
        delta = {f: {"from": old_items[key].get(f), "to": new_items[key].get(f)}
                 for f in new_items[key] if old_items[key].get(f) != new_items[key].get(f)}
        if delta:
            changed[key] = delta
    return {
        "fields": fields,
        "items_added": [new_items[k] for k in new_items if k not in old_items],
        "items_removed": [old_items[k] for k in old_items if k not in new_items],
        "items_changed": changed,
    }
