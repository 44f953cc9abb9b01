"""A local Daytona server for tests and for trying rho-agent without a Daytona account.

The real `daytona` SDK talks real HTTP to it; commands run in a bubblewrap jail per sandbox::

    from rho_agent.testing.daytona import LocalDaytona

    with LocalDaytona() as server:
        config = DaytonaConfig(api_url=server.api_url, api_key=server.api_key)
        ...
        server.inject("POST /process/execute", status=503, times=2)   # faults
        server.received_files                                          # what uploads delivered
        server.create_requests                                         # headers and bodies
        server.kill(sandbox.id)                                        # a sandbox that dies
        assert server.sandboxes() == []                                # nothing leaked

`python -m rho_agent.testing.daytona` serves in the foreground and prints the `export` lines.
"""

from .control import CreateRequest, SandboxInfo
from .files import TransferredFile
from .server import Fault, LocalDaytona, RequestRecord

__all__ = [
    "CreateRequest",
    "Fault",
    "LocalDaytona",
    "RequestRecord",
    "SandboxInfo",
    "TransferredFile",
]
