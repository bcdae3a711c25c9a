"""Iterating a list follows `next_cursor` page by page, lazily, to the end."""

from __future__ import annotations

import httpx
import pytest

from neocloud.sdk.errors import NeocloudError
from tests.sdk import sdk_samples as s
from tests.sdk.api_double import Api

PAGES = {
    None: s.page([s.job(id="job_1"), s.job(id="job_2")], next_cursor="c2"),
    "c2": s.page([s.job(id="job_3")], next_cursor="c3"),
    "c3": s.page([s.job(id="job_4")]),
}


def serve_pages(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=PAGES[request.url.params.get("cursor")])


def test_iter_follows_every_cursor(api: Api) -> None:
    api.handle("GET", "/v1/jobs", serve_pages)

    ids = [job.id for job in api.client().jobs.iter(state="pending", page_size=2)]

    assert ids == ["job_1", "job_2", "job_3", "job_4"]
    assert [r.url.params.get("cursor") for r in api.requests] == [None, "c2", "c3"]
    assert {r.url.params["state"] for r in api.requests} == {"pending"}
    assert {r.url.params["limit"] for r in api.requests} == {"2"}


def test_iter_fetches_a_page_only_when_needed(api: Api) -> None:
    api.handle("GET", "/v1/jobs", serve_pages)

    jobs = api.client().jobs.iter()
    first = next(jobs)

    assert first.id == "job_1"
    assert len(api.requests) == 1


def test_single_page_variant_returns_the_cursor(api: Api) -> None:
    api.handle("GET", "/v1/jobs", serve_pages)

    page = api.client().jobs.list(cursor="c2")

    assert [j.id for j in page.items] == ["job_3"]
    assert page.next_cursor == "c3"


def test_a_repeated_cursor_stops_instead_of_looping(api: Api) -> None:
    api.on("GET", "/v1/orgs", s.page([s.org()], next_cursor="same"))

    with pytest.raises(NeocloudError) as caught:
        list(api.client().orgs.iter())

    assert caught.value.code == "bad_response"
    assert len(api.requests) == 2
