"""``warmline eval all``: every component eval in one run, written as one report folder.

A run measures each of our numbers beside its baseline in the same process and on the same data
(keyword classifier, dense-only and BM25-only retrieval, the bot without a knowledge base), records
the commit, settings and machine it ran on, and writes ``report.md``, ``report.json`` and PNG plots.
Profiles bound the cost: ``minimal`` (CI), ``quick`` (a few minutes) and ``full`` (on demand).
"""
