"""Prompt-injection evaluation: corpus, hostile model, canary world, runner (``warmline eval injection``)."""
