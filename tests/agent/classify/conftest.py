import pytest

from agent.classify import MessageClassifier


@pytest.fixture(scope="session")
def classifier(shared_classifier: MessageClassifier) -> MessageClassifier:
    """The same bundled model the app tests use: it is trained once per test session."""
    return shared_classifier
