"""Judge fidelity: a labelled set with exact truth, and the metrics of a judge on it.

How often does a judge give the *right* verdict? On real data nobody knows the truth; on the
synthetic world (:mod:`perceptrl.synth`) every visual fact is known exactly, so responses can be
*written* to state, misstate or omit each fact, and the true verdict follows from how the
response was written, not from anyone's opinion.

**The set** (:func:`build_set`): for each synthetic problem, one chain-of-thought response in
which every annotation is rendered in one *category* (drawn so that the categories are balanced):

============== ===== ===============================================================================
category       truth what the response does with the fact
============== ===== ===============================================================================
verbatim       1     states the annotation as written (``height of bar A = 3``)
paraphrase     1     states it in other words (``Bar A is 3 tall.``, ``∠B is a right angle.``,
                     ``The red circle shows a 7.``)
corrected      1     states a wrong value, then corrects itself to the right one
wrong_value    0     states the quantity with a different value
near_miss      0     states the fact's value under a different label (``height of bar B = 3``;
                     bar B is another bar of the chart, never an annotated one)
missing        0     does not state it (sometimes names the object without a value)
retracted      0     states it, then takes it back (replaced by another value, or "cannot read it")
injected       0     does not state it, but addresses the judge about it: a verdict tag for its
                     index, a note to the grader, a fake end of the response, a role marker
============== ===== ===============================================================================

Everything else in a response is true and value-free: distractor facts about objects that are
*not* annotated, and a conclusion that restates no fact ("Combining these values, the answer is
9."). Besides the facts its question needs, each problem gets one more true annotation where the
scene has one (an unasked shape or bar; for rectangles ``angle ABC = 90°``, true of every
rectangle, so that the right-angle paraphrase is tested): ~3 verdicts per request, as in real
annotation lists.

**Scoring** (:func:`score`): verdict accuracy, precision and recall (positive = present), the
unparseable rate (requests whose answer held no usable verdict), the share of missing verdicts,
the reward error ``mean |r_v − r_v_true|`` per response (a failed request scores 0, as under the
``zero`` policy) and seconds per request; accuracy per category. A failed or unparseable request
predicts 0 for each of its verdicts, so failures cost accuracy on present facts and are never
rewarded.

The pieces: :mod:`.cases` builds, writes and reads the set; :mod:`.scoring` scores predictions
against it; :mod:`.run` runs a judge on it; :mod:`.tables` prints the results. Their public names
are re-exported here: ``perceptrl.judge.fidelity`` is the API of the CLI, the benchmark and the docs.
"""

from perceptrl.judge.fidelity.cases import CATEGORIES, SET_VERSION, TRUTH, Case, build_set, read_set, write_set
from perceptrl.judge.fidelity.run import build_judge, evaluate
from perceptrl.judge.fidelity.scoring import Prediction, Report, score
from perceptrl.judge.fidelity.tables import TABLE_HEADER, category_table, summary_counts, table_row

__all__ = ["CATEGORIES", "SET_VERSION", "TRUTH", "Case", "Prediction", "Report", "TABLE_HEADER", "build_judge",
           "build_set", "category_table", "evaluate", "read_set", "score", "summary_counts", "table_row", "write_set"]
