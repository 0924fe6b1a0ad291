"""Write the VLMEvalKit result fixtures (``MODEL_DATASET_JUDGE.tsv``) the import tests read.

VLMEvalKit writes its judged per-sample files with ``vlmeval.smp.file.dump``: xlsx by default,
tsv with ``PRED_FORMAT=tsv`` (``DataFrame.to_csv(sep='\\t', index=False, quoting=csv.QUOTE_ALL)``),
which is what this script does. Column names are those VLMEvalKit's dataset classes and scoring
functions read and add (``vlmeval/dataset/image_vqa.py``, ``image_mcq.py``, ``utils/mathvista.py``,
``mathverse.py``, ``multiple_choice.py``): see perceptrl.eval.import_vlmevalkit.

    python tests/eval/data/vlmevalkit/build_fixture.py
"""

import csv
from pathlib import Path

import pandas as pd

OUT = Path(__file__).parent / "Qwen2.5-VL-7B-Instruct"
MODEL = "Qwen2.5-VL-7B-Instruct"
VISTA_HINT = "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\n"
INT_HINT = "Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at the end.\n"

MATHVISTA = [  # index, pid, question (the query), answer, choices, answer_option, types, prediction, res, log
    dict(index=1, pid="1", question=VISTA_HINT + "Question: What fraction of the shape is blue?\nChoices:\n(A) 3/11\n"
         "(B) 8/11\n(C) 6/11\n(D) 3/5", answer="8/11", choices="['3/11', '8/11', '6/11', '3/5']", answer_option="B",
         question_type="multi_choice", answer_type="text", precision="", unit="", task="figure question answering",
         skills="['arithmetic reasoning']", prediction="The blue part is 8 of 11 equal parts, so the answer is (B).",
         res="B", log="Succeed"),
    dict(index=2, pid="2", question=INT_HINT + "Question: How many bars are taller than 5?", answer="3", choices="[]",
         answer_option="", question_type="free_form", answer_type="integer", precision="", unit="",
         task="figure question answering", skills="['statistical reasoning']", prediction="3", res="3",
         log="Prefetch succeed"),
    dict(index=3, pid="3", question=INT_HINT + "Question: What is the value of the smallest bar?", answer="2", choices="[]",
         answer_option="", question_type="free_form", answer_type="integer", precision="", unit="",
         task="figure question answering", skills="['statistical reasoning']", prediction="The smallest bar is 2.5.",
         res="2.5", log="Succeed"),  # 2.5 is wrong here (lmms-eval would truncate it to 2)
    dict(index=4, pid="4", question=INT_HINT + "Question: How many people were surveyed?", answer="1000", choices="[]",
         answer_option="", question_type="free_form", answer_type="integer", precision="", unit="",
         task="figure question answering", skills="['statistical reasoning']", prediction="In total 1000 people.",
         res="1000", log="Succeed"),
]
MATHVERSE = [
    dict(index=7, question="As shown in the figure, AB is the diameter and angle C = 40°. Find angle B.\nChoices:\nA:40°\n"
         "B:50°\nC:60°\nD:80°", answer="B", question_type="multi-choice", question_for_eval="Find angle B.\nChoices:\nA:40°\n"
         "B:50°\nC:60°\nD:80°", metadata="{'split': 'testmini', 'source': 'GeoQA', 'subject': 'Plane Geometry', "
         "'subfield': 'Angle', 'problem_version': 'Text Dominant', 'sample_index': '7'}",
         prediction="Angle ACB is 90°, so angle B = 50°. The answer is B.", extract="B", log_extract="Succeed",
         score="True", log_score="Prefetch succeed"),
    dict(index=8, question="Find the length of the ladder.", answer="4.4 m", question_type="free-form",
         question_for_eval="Find the length of the ladder.", metadata="{'split': 'testmini', 'source': 'GeoQA', "
         "'subject': 'Plane Geometry', 'subfield': 'Length', 'problem_version': 'Vision Only', 'sample_index': '8'}",
         prediction="The ladder is about 4.4 metres long.", extract="4.4", log_extract="Succeed", score="True",
         log_score="Succeed"),
    dict(index=9, question="Find x.", answer="12", question_type="free-form", question_for_eval="Find x.",
         metadata="{'split': 'testmini', 'source': 'GeoQA', 'subject': 'Plane Geometry', 'subfield': 'Length', "
         "'problem_version': 'Vision Only', 'sample_index': '9'}", prediction="x = 10", extract="10",
         log_extract="Succeed", score="False", log_score="Succeed"),
]
WEMATH = [
    dict(index=1, ID=1, split="testmini", **{"knowledge concept": "Area of rectangles"}, key="2steps_1",
         question="What is the area of the rectangle?", answer="B", A="12 cm²", B="24 cm²", C="36 cm²", D="No correct answer",
         prediction="<Answer>: B", hit=1, log="Match Log: <Answer>: B. "),
    dict(index=2, ID=1, split="testmini", **{"knowledge concept": "Area of rectangles"}, key="2steps_2",
         question="What is the width?", answer="A", A="4 cm", B="6 cm", C="8 cm", D="No correct answer",
         prediction="The width is 6 cm.", hit=0, log="Match Log: B. "),
]
LOGICVISTA = [
    dict(index=0, question="Which two tiles are identical? Select two of A-D.", answer="A, C", skill="['spatial']",
         prediction="Tiles A and C are identical.", res="AC", log="Succeed", hit=1),
    dict(index=1, question="Which shape comes next?", answer="B", skill="['inductive']", prediction="D", res="D",
         log="Succeed", hit=0),
]


def dump_tsv(rows, name):
    OUT.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(OUT / f"{MODEL}_{name}.tsv", sep="\t", index=False, encoding="utf-8",
                              quoting=csv.QUOTE_ALL)


if __name__ == "__main__":
    dump_tsv(MATHVISTA, "MathVista_MINI_gpt-4o-mini")
    dump_tsv(MATHVERSE, "MathVerse_MINI_gpt-4o-mini_score")
    dump_tsv(WEMATH, "WeMath_gpt4o-mini")
    dump_tsv(LOGICVISTA, "LogicVista_gpt4o-mini")
