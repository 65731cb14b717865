from pathlib import Path

import pytest

from kb.retriever import KnowledgeBase
from tests.kb.fakes import make_fake_kb


@pytest.fixture
def fake_kb(tmp_path: Path) -> KnowledgeBase:
    return make_fake_kb(tmp_path / "chroma")
