"""A link whose percent-encoding is not UTF-8 is a 400 problem on every public route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fixtures.codes import GTIN

PATHS = (
    "/01/%ff",
    f"/01/{GTIN}/21/%c0%af",
    f"/01/{GTIN}/10/%ed%a0%80/21/ABC",
    f"/report/01/{GTIN}/21/%ff",
)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_get_and_post_answer_400_problem(client: TestClient, path: str, accept: str) -> None:
    for method in ("GET", "POST"):
        response = client.request(method, path, headers={"Accept": accept}, data={"pin": "1"})
        assert response.status_code == 400, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "UTF-8" in response.json()["detail"]
    assert client.head(path, headers={"Accept": accept}).status_code < 500
