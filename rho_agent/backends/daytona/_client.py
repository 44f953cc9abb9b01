"""Making the SDK's `AsyncDaytona` client: credentials checked first, errors translated."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
from typing import Any

from rho_agent.errors import ConfigError, MissingCredentialsError

PIP_LINE = "pip install 'rho-agent[daytona]'"
_NO_KEY = (
    "No Daytona API key: set DAYTONA_API_KEY (create one at https://app.daytona.io/dashboard/keys), "
    "or pass DaytonaBackend(config=DaytonaConfig(api_key=...)). "
    "To try it locally: python -m rho_agent.testing.daytona prints the variables to export."
)


def check_credentials(config: Any = None) -> None:
    """Fail fast, without importing the SDK (that takes a second; it happens in the
    background), when the SDK is missing or no credentials are where it looks for them."""
    if importlib.util.find_spec("daytona") is None:
        raise ConfigError(f"The daytona backend needs the Daytona SDK: {PIP_LINE}")
    if config is not None and (
        getattr(config, "api_key", None) or getattr(config, "jwt_token", None)
    ):
        return
    names = ("DAYTONA_API_KEY", "DAYTONA_JWT_TOKEN")
    if any(os.environ.get(n) for n in names):
        return
    from dotenv import dotenv_values  # a dependency of the SDK, and light

    for dotenv in (".env.local", ".env"):
        if any(dotenv_values(dotenv).get(n) for n in names):
            return
    raise MissingCredentialsError(_NO_KEY)


def make_client(config: Any = None) -> Any:
    """`AsyncDaytona(config)`, its errors translated."""
    from daytona import AsyncDaytona
    from daytona.common.errors import DaytonaAuthenticationError, DaytonaError

    _keep_sigint()
    try:
        return AsyncDaytona(config)
    except DaytonaAuthenticationError as exc:
        raise MissingCredentialsError(f"{_NO_KEY} ({exc.message})") from exc
    except DaytonaError as exc:
        raise ConfigError(f"Daytona client configuration: {exc.message}") from exc


async def connect(config: Any = None) -> Any:
    """Check credentials, import the SDK off the event loop (it takes a second), make a client.
    The caller closes it (`await client.close()`)."""
    check_credentials(config)
    await asyncio.to_thread(importlib.import_module, "daytona")
    return make_client(config)


def _keep_sigint() -> None:
    """Stop the SDK's socket.io client from taking over Ctrl-C.

    On its first connection python-engineio puts its own SIGINT handler on the running loop,
    one that cancels every task and stops the loop: a second Ctrl-C would then cancel the
    deletion of the sandbox. Marking its handler as installed keeps the application's own
    (the CLI cancels the run and lets the session delete the sandbox).
    """
    try:
        import engineio.async_client

        engineio.async_client.async_signal_handler_set = True  # type: ignore[attr-defined]
    except (ImportError, AttributeError):  # a later engineio without this switch
        pass
