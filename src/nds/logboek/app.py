"""One organisation's logboek as a web application: read API and public register together."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.routing import Mount

from nds.logboek.auth import Authenticator
from nds.logboek.pseudonym import Keyring
from nds.logboek.read_api import create_read_api
from nds.logboek.register import Register
from nds.logboek.register_api import create_register_api
from nds.logboek.store import Logboek

READ_API_PATH = "/ldv/v1"
REGISTER_PATH = "/register"


def create_logboek_app(
    *,
    logboek: Logboek,
    keyring: Keyring,
    register: Register,
    authenticator: Authenticator,
    entity: str,
    inzage_activity_uri: str,
    chain_entity: Callable[[str], bool] | None = None,
) -> Starlette:
    """``/ldv/v1/processing-activities`` (read API) and ``/register/verwerkingsactiviteiten/…``.

    ``register.base_uri`` must be ``<public base>/register`` so activity URIs resolve here.
    ``chain_entity``: which foreign-operation entities are other organisations (see ``read_api``)."""
    read_api = create_read_api(
        engine=logboek.engine,
        logboek=logboek,
        keyring=keyring,
        register=register,
        authenticator=authenticator,
        entity=entity,
        inzage_activity_uri=inzage_activity_uri,
        chain_entity=chain_entity,
    )
    return Starlette(
        routes=[Mount(READ_API_PATH, app=read_api), Mount(REGISTER_PATH, app=create_register_api(register))]
    )
