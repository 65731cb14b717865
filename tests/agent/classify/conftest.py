import pytest

from agent.classify import MessageClassifier, make_classifier


@pytest.fixture(scope="session")
def classifier() -> MessageClassifier:
    return make_classifier()
