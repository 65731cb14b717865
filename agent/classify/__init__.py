"""Message classification: category, emotion and urgency for every resident message."""

from agent.classify.classifier import Classification, MessageClassifier, make_classifier

__all__ = ["Classification", "MessageClassifier", "make_classifier"]
