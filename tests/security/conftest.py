"""Security tests use the API fixtures of tests/api (the app over each database backend)."""

from tests.api.conftest import Api, api

__all__ = ["Api", "api"]
