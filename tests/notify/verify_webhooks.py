"""Checks webhook signatures with the `standardwebhooks` package (an implementation
independent of herald's).

Reads a JSON list on stdin, each item {"secret", "headers": {name: value}, "body"}; prints a
JSON list of booleans: whether each item verifies.
"""
import json
import sys

from standardwebhooks.webhooks import Webhook


def check(item):
    try:
        Webhook(item["secret"]).verify(item["body"], item["headers"])
        return True
    except Exception:  # noqa: BLE001 - any failure is "does not verify"
        return False


print(json.dumps([check(i) for i in json.load(sys.stdin)]))
