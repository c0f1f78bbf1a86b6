"""A scripted browser for login tests, started the way `webbrowser` starts any browser (``BROWSER="python this %s"``):
it loads the authorization page, answers the consent form (``SCRIPTED_BROWSER_DECISION``, default allow) and follows
the redirect back to the loopback address `tools-server login` listens on, as a person's browser would."""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import urljoin

import httpx


def answer(url: str, decision: str = "allow") -> httpx.Response:
    with httpx.Client(timeout=30) as http:
        page = http.get(url)
        page.raise_for_status()
        ticket = re.search(r"name='ticket' value='([^']+)'", page.text)
        action = re.search(r"<form method='post' action='([^']+)'", page.text)
        assert ticket is not None and action is not None, page.text
        reply = http.post(urljoin(url, action.group(1)), data={"ticket": ticket.group(1), "decision": decision})
        assert reply.status_code == 302, reply.text
        return http.get(reply.headers["location"])  # the loopback callback


if __name__ == "__main__":
    answer(sys.argv[1], os.environ.get("SCRIPTED_BROWSER_DECISION", "allow"))
