"""Render a full page, or just its fragment for a real htmx request.

A boosted request or a history restore needs the whole page, so those get it; anything that
varies by ``HX-Request`` says so in ``Vary`` so no cache mixes the two up.
"""

from __future__ import annotations

from flask import Response, make_response, redirect, render_template

from .extensions import htmx


def wants_fragment() -> bool:
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(page: str, fragment: str, status: int = 200, **context) -> Response:  # noqa: ANN003
    as_fragment = wants_fragment()
    template = fragment if as_fragment else page
    response = make_response(render_template(template, as_fragment=as_fragment, **context), status)
    response.vary.add("HX-Request")
    if as_fragment and status >= 400:
        # A form shown again with its errors is not a new place in the history.
        response.headers["HX-Push-Url"] = "false"
    return response


def leave_to(url: str) -> Response:
    """Send the browser to another full page after a form post.

    A plain post gets a 303. An htmx request would follow a 303 inside its XHR and swap a
    whole page into the fragment's place, so it is told to navigate instead.
    """
    if wants_fragment():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)
