"""Zendesk endpoints `tierdesk doctor` reads besides the main ones: brands and user search.

`GET /api/v2/brands` answers the account's one brand; `GET /api/v2/users/search?query=` matches
an e-mail address exactly or a name by its words, case-insensitively, as Zendesk's user search
does for plain queries."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from plugins.zendesk.emulator.records import BRAND_ID, User

if TYPE_CHECKING:
    from plugins.zendesk.emulator.app import ZendeskAPI

BRAND_NAME = "Support"
BRAND_SUBDOMAIN = "support"


def _json(payload: Any) -> Response:
    return Response(json.dumps(payload), status=200, mimetype="application/json")


def _brand_json(base: str) -> dict[str, Any]:
    return {
        "id": BRAND_ID,
        "url": f"{base}/api/v2/brands/{BRAND_ID}.json",
        "name": BRAND_NAME,
        "brand_url": base,
        "subdomain": BRAND_SUBDOMAIN,
        "has_help_center": False,
        "active": True,
        "default": True,
        "is_deleted": False,
    }


def _matches(user: User, query: str) -> bool:
    wanted = query.strip().lower()
    if not wanted:
        return False
    if user.email is not None and user.email.lower() == wanted:
        return True
    return all(word in user.name.lower().split() for word in wanted.split())


def register(api: ZendeskAPI) -> None:
    """Add the endpoints to the emulator's routes."""

    def brands(request: Request, user: User) -> Response:
        brand = _brand_json(api._base(request))
        return _json({"brands": [brand], "next_page": None, "previous_page": None, "count": 1})

    def users_search(request: Request, user: User) -> Response:
        query = request.args.get("query") or request.args.get("external_id") or ""
        base = api._base(request)
        found = sorted((u for u in api.account.users.values() if _matches(u, query)), key=lambda u: u.id)
        users = [api._user_json(base, u) for u in found]
        return _json({"users": users, "next_page": None, "previous_page": None, "count": len(users)})

    api._routes.add(Rule("/api/v2/brands", endpoint="brands", methods=["GET"]))
    api._routes.add(Rule("/api/v2/users/search", endpoint="users_search", methods=["GET"]))
    api._handlers["brands"] = brands
    api._handlers["users_search"] = users_search
