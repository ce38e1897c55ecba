"""The ``/_fake/...`` control endpoints: statistics, deliveries, behaviours, configuration,
reset and update building over HTTP.

Why it exists: a benchmark runs the fake in a child process, where it cannot call Python
methods; these endpoints are the same controls and inspections as JSON.  Each endpoint is
a small function of the ``FakeBotAPI`` and the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fake_bot_api.wire import parse_chat_id

if TYPE_CHECKING:
    from fake_bot_api.server import FakeBotAPI

Endpoint = Callable[["FakeBotAPI", web.Request], Awaitable[web.StreamResponse]]


async def stats(fake: FakeBotAPI, request: web.Request) -> web.StreamResponse:
    """GET /_fake/stats[?per_chat=1]: :meth:`FakeBotAPI.stats`."""
    per_chat = request.query.get("per_chat", "") in ("1", "true", "yes")
    return web.json_response(fake.stats(per_chat=per_chat))


async def delivered(fake: FakeBotAPI, request: web.Request) -> web.StreamResponse:
    """GET /_fake/delivered?since=I&limit=N: deliveries from index I on, at most N."""
    since = int(request.query.get("since", 0))
    limit = request.query.get("limit")
    end = None if limit is None else since + int(limit)
    return web.json_response([d.to_json() for d in fake.delivered[since:end]])


async def behaviour(fake: FakeBotAPI, request: web.Request) -> web.StreamResponse:
    """JSON {"chat_id": X | "chat_ids": [...], "behaviour": "ok" | "blocked" |
    "deactivated" | "cant_initiate" | "not_found" | "migrated" (+"new_chat_id") |
    "flaky" (+"failures", "mode") | "slow" (+"delay")} or
    {"behaviour": "unauthorized", "on": bool}."""
    body = await request.json()
    kind = body["behaviour"]
    if kind == "unauthorized":
        fake.set_unauthorized(bool(body.get("on", True)))
        return web.json_response({"ok": True})
    chat_ids: Iterable[Any] = body["chat_ids"] if "chat_ids" in body else [body["chat_id"]]
    simple: dict[str, Callable[[int | str], None]] = {
        "ok": fake.set_ok,
        "blocked": fake.set_blocked,
        "deactivated": fake.set_deactivated,
        "cant_initiate": fake.set_cant_initiate,
        "not_found": fake.set_not_found,
    }
    n = 0
    for raw in chat_ids:
        cid = parse_chat_id(raw)
        if cid is None:
            raise ValueError("empty chat_id")
        if kind in simple:
            simple[kind](cid)
        elif kind == "migrated":
            fake.set_migrated(cid, int(body["new_chat_id"]))
        elif kind == "flaky":
            fake.set_flaky(cid, int(body["failures"]), str(body.get("mode", "5xx")))
        elif kind == "slow":
            fake.set_slow(cid, float(body["delay"]))
        else:
            raise ValueError(f"unknown behaviour {kind!r}")
        n += 1
    return web.json_response({"ok": True, "chats": n})


async def reset(fake: FakeBotAPI, request: web.Request) -> web.StreamResponse:
    """POST /_fake/reset: :meth:`FakeBotAPI.reset`."""
    fake.reset()
    return web.json_response({"ok": True})


async def config(fake: FakeBotAPI, request: web.Request) -> web.StreamResponse:
    """JSON with any of global_rate, per_chat_interval, retry_after, latency
    (null disables the optional ones).  GET answers the current config."""
    if request.method == "POST":
        body = await request.json()
        if "global_rate" in body:
            rate = body["global_rate"]
            fake.global_rate = None if rate is None else float(rate)
        if "per_chat_interval" in body:
            pci = body["per_chat_interval"]
            fake.per_chat_interval = None if pci is None else float(pci)
        if "retry_after" in body:
            fake.retry_after = int(body["retry_after"])
        if "latency" in body:
            fake.latency = float(body["latency"] or 0.0)
    return web.json_response(
        {
            "global_rate": fake.global_rate,
            "per_chat_interval": fake.per_chat_interval,
            "retry_after": fake.retry_after,
            "latency": fake.latency,
            "token": fake.token,
            "compact": fake.compact,
        }
    )


ENDPOINTS: dict[str, Endpoint] = {
    "stats": stats,
    "delivered": delivered,
    "behaviour": behaviour,
    "reset": reset,
    "config": config,
}


async def handle(fake: FakeBotAPI, request: web.Request) -> web.StreamResponse:
    """/_fake/{name}: the endpoint, or 404; bad input answers 400."""
    name = request.match_info["name"]
    endpoint = ENDPOINTS.get(name)
    if endpoint is None:
        return web.json_response({"error": f"unknown endpoint {name!r}"}, status=404)
    try:
        return await endpoint(fake, request)
    except (ValueError, KeyError, TypeError) as exc:
        return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)


async def build(fake: FakeBotAPI, request: web.Request) -> web.StreamResponse:
    """POST /_fake/build/<kind> with the builder's kwargs as JSON: builds the update
    with make_<kind>_update(**kwargs), pushes it and answers it."""
    kind = request.match_info["kind"]
    builders: dict[str, Callable[..., dict[str, Any]]] = {
        "message": fake.make_message_update,
        "callback": fake.make_callback_update,
        "photo": fake.make_photo_update,
        "document": fake.make_document_update,
        "video": fake.make_video_update,
        "animation": fake.make_animation_update,
        "sticker": fake.make_sticker_update,
        "my_chat_member": fake.make_my_chat_member_update,
    }
    builder = builders.get(kind)
    if builder is None:
        return web.json_response({"error": f"unknown builder {kind!r}"}, status=404)
    try:
        kwargs = await request.json()
        update = builder(**kwargs)
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)
    fake.push_update(update)
    return web.json_response(update)
