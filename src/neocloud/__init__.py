"""neocloud: turn an organisation's own AI fleet into a GPU cloud it can sell."""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from neocloud.sdk.client import Client

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    # The SDK pulls in httpx; import it only when asked for so the core stays light.
    if name == "Client":
        from neocloud.sdk.client import Client

        return Client
    raise AttributeError(name)
