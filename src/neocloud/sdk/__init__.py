"""The neocloud Python SDK: `Client` and the one exception it raises."""

from neocloud.sdk.client import Client
from neocloud.sdk.errors import NeocloudError

__all__ = ["Client", "NeocloudError"]
