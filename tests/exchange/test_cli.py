"""``govdata exchange warm`` as an operator runs it after a deployment."""

from __future__ import annotations

from govdata.exchange import cache, serving
from tests.test_cli import run


def test_warm_builds_the_serving_file_of_each_published_version(db, collected):
    version = cache.latest_version(db, collected)
    assert not serving.path_for(version, cache.published_doc(db, collected)["items"]).exists()
    result = run("exchange", "warm")
    assert "已建立 1 个网关查询文件" in result.stderr
    assert serving.path_for(version, cache.published_doc(db, collected)["items"]).exists()
    assert "已建立 0 个" in run("exchange", "warm").stderr  # already there: nothing to do
