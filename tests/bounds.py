"""Generous time bounds for tests that must run on a loaded 2-core machine.

A time bound in a test says "not pathologically slow" or "not stuck", never "fast": speed is
measured in ``benchmarks/`` (baseline and ours in one run, the ratio printed). Each bound sits far
above what the code takes and far below the failure it guards against, so load cannot flake it
and a regression still fails it.
"""

#: one scan of a ~200 KB degenerate response: linear code takes well under 0.1 s; the quadratic
#: rescans these tests guard against took 14-25 s on ~50 KB (minutes on 200 KB)
LINEAR_SCAN_S = 10.0

#: slack over a batch budget, deadline or kill time (forking a replacement worker, starting a
#: thread, scheduling on a busy machine); the stalls these tests guard against last 30 s or more
DEADLINE_SLACK_S = 5.0

#: a command refused before any work: argument parsing and config checks only (imports included:
#: a cold ``import trl`` alone takes 5-10 s on a loaded core); the work it must not start (a warm
#: start) takes minutes
REFUSED_BEFORE_WORK_S = 60.0
