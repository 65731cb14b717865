"""Staff corrections of the classifier's labels, kept for retraining (``warmline train classifier``)."""
