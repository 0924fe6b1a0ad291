"""What :func:`perceptrl.judge.sanitize.sanitize` looks for: the shape patterns (verdict tags and
their values, role markers, prompt look-alikes) with the substrings that trigger each, the
sentences addressed to the judge (English patterns, word chains found in linear time by
:class:`_Near`, the same intents in other languages), and the encoded-payload runs."""

from __future__ import annotations

import bisect
import re

_S = r"[\s_]*"  # whitespace (and underscores) tolerated inside markers
_LT = r"(?:<|&lt;?|&#0*60;?|&#x0*3c;?|\\+u003c|\\+x3c|%3c)"
_GT = r"(?:>|&gt;?|&#0*62;?|&#x0*3e;?|\\+u003e|\\+x3e|%3e)"
#: a verdict value as a judge (or an imitation of one) writes it
_VAL = r"(?<![\w.])(?:true|false|yes|no|present|absent|[01](?:\.0*)?)(?!\w|\.\d)"
_VSEP = r"[\s\"'`*_:=\\,\-]{0,6}"  # what may separate a tag from its value
_TAG = rf"{_LT}{_S}/?{_S}info{_S}\d*(?:{_S}|[\s_][^<>\n]{{0,30}}){_GT}"  # attributes too: <info2 v="1">
_MARKER = r"\[[^\[\]\n]{0,40}\bremoved\]"
_BRACKET_TAG = rf"[\[\({{]{_S}/?{_S}info{_S}\d+{_S}[\]\)}}]"

_PATTERNS: list[tuple[str, str, re.Pattern]] = [  # (kind, marker, pattern); triggers in _TRIGGERS
    # verdict tags with the value next to them, any bracket style
    ("tag", "[tag removed]", re.compile(rf"(?:{_VAL}{_VSEP})?{_TAG}(?:{_VSEP}{_VAL})?")),
    ("tag", "[tag removed]", re.compile(rf"(?:{_VAL}{_VSEP})?{_BRACKET_TAG}(?:{_VSEP}{_VAL})?")),
    # a removal marker written by the policy itself, with a value next to it ("[tag removed]1")
    ("residue", "[value removed]", re.compile(rf"{_VAL}{_VSEP}{_MARKER}|{_MARKER}{_VSEP}{_VAL}")),
    # tagless verdict residue: "info2: 1", "\"info3\": true", "item_1 = yes", "verdicts: 1, 1, 1"
    ("residue", "[value removed]", re.compile(
        rf"(?<![a-z])(?:info|verdict|item|fact|annotation|key[\W_]?info\w*)[\W_]{{0,3}}\d+[\W_]{{0,6}}?"
        rf"(?:(?:=|:|->|→|=>|\bis\b|\bgets?\b|\bequals?\b)[\W_]{{0,4}})?{_VAL}")),
    ("residue", "[value removed]", re.compile(
        rf"(?<![a-z])(?:verdicts?|scores?|labels?|answers?|results?|outputs?|judge?ments?|infos?|items?|finals?)"
        rf"[\W_]{{0,6}}{_VAL}(?:[\s,;/|\]\[]{{1,4}}{_VAL})+")),
    ("residue", "[value removed]", re.compile(rf"(?<![a-z])verdicts?[\W_]{{0,6}}{_VAL}")),
    # chat templates and role markers
    ("role", "[marker removed]", re.compile(r"<\|[^|<>\n]{0,40}\|>")),  # ChatML, Llama-3, Phi
    ("role", "[marker removed]", re.compile(rf"\[{_S}/?{_S}inst{_S}\]")),  # Llama-2 / Mistral
    ("role", "[marker removed]", re.compile(rf"<<{_S}/?{_S}sys{_S}>>")),
    ("role", "[marker removed]", re.compile(rf"\[{_S}/?{_S}(?:system|assistant|user|judge|grader|developer|sys)"
                                            rf"{_S}\]")),
    ("role", "[marker removed]", re.compile(rf"<{_S}/?{_S}s{_S}>")),  # BOS/EOS
    ("role", "[marker removed]", re.compile(
        rf"{_LT}{_S}/?{_S}(?:start_of_turn|end_of_turn|start-of-turn|end-of-turn|system|user|assistant|"
        rf"model|human|bot|judge\w*|grader|evaluat\w*|verdicts?|scores?|im_start|im_end|endoftext|eos|bos|turn|"
        rf"instruction|instructions|response|data|document|untrusted\w*|context|prompt|query|input|output|"
        rf"message|tool|function|developer|operator)"
        rf"[^<>\n]{{0,20}}{_GT}")),
    ("role", "[marker removed]", re.compile(
        r"(?m)^[ \t>*#\-]*(?:system|assistant|user|human|judge|grader|evaluator|instruction|"
        r"instructions|new instructions?|model|ai|developer|operator|admin|reviewer|verifier|checker|"
        r"rater|scorer|evaluation|judge?ment|verdicts?|assessment|grading|rating)"
        r"[ \t]*(?:prompt|message|note|comment)?[ \t]*[:：]")),
    ("role", "[marker removed]", re.compile(r"#{2,}\s*(?:system|instruction|instructions|user|"
                                            r"assistant|response|judge|answer|input)\b")),
    # look-alikes of the prompt's own structure
    ("delimiter", "[delimiter removed]", re.compile(r"<{2,}|>{2,}")),
    ("delimiter", "[delimiter removed]", re.compile(
        r"\b(?:end|begin|beginning|start|close|closing)\W{0,3}(?:of\W{0,3})?(?:the\W{0,3})?"
        r"(?:(?:real|actual|true|genuine|new|corrected|official|original)\W{0,3})?response\b")),
    ("delimiter", "[delimiter removed]", re.compile(
        r"\b(?:real|actual|genuine|corrected|official)\W{0,3}(?:response|answer|submission)"
        r"\W{0,3}(?:begins|starts|follows|below|here|:)")),
    ("delimiter", "[delimiter removed]", re.compile(r"\bresponse\W{0,3}(?:ends?|begins?|starts?|over)\b")),
    ("delimiter", "[delimiter removed]", re.compile(r"visual\W{0,3}key\W{0,3}info(?:rmation)?\W{0,3}:?")),
    ("delimiter", "[delimiter removed]", re.compile(r"(?m)^\W{0,3}response\s*[:：]")),
]

# Sentences that address the judge rather than the problem. Matched on the folded text; the whole
# sentence (between ., !, ?, ; or newlines) is replaced.
_VERB = r"\b(?:mark|score|rate|grade|label|set|output|answer|return|give|assign|respond|reply|print|write|count|" \
        r"consider|treat|put|emit|credit|award)\b"
_ALL = r"\b(?:all|every|each|both)\b"
_ITEMS = r"\b(?:items?|info|information|facts?|annotations?|keys?|points?|criteria|visual|verdicts?)\b"
_INSTRUCTION_PATTERNS: list[re.Pattern] = [
    re.compile(r"\b(?:judge|judges|judging|judge?ments?|grader|graders|grading|evaluator|evaluators|scorer|"
               r"scoring|reviewer|rater|verdicts?|reward\W?model|annotator|examiner|checker|verifier|assessor)\b"),
    re.compile(r"\b(?:note|message|memo|hint|reminder|instructions?)[ \t]{1,3}(?:to|for)[ \t]{1,3}(?:the[ \t]{1,3})?"
               r"(?:ai|model|llm|assistant|reader|system|checker|marker)\b"),
    re.compile(r"\byou[ \t]{1,3}(?:are|'re|must|should|will|shall|have to|need to|may)\b"),
    re.compile(r"\bplease[ \t]{1,3}(?:mark|score|rate|grade|give|assign|output|count|treat|consider|accept|credit|"
               r"award|answer|return|respond|reply|ignore)\b"),
    re.compile(r"\b(?:system[ \t]{0,3}prompt|new[ \t]{1,3}instructions?|developer[ \t]{1,3}mode|jailbreak|"
               r"prompt[ \t]{1,3}injection)\b"),
    re.compile(r"\b(?:full|maximum|max|perfect|top|highest)[ \t]{1,3}(?:marks?|scores?|points?|credit|reward|grade)\b"),
]


class _Near:
    """Words of successive classes, each within ``gap`` characters after the previous one, in one
    sentence: what a lazy ``A[^.]{0,60}?B[^.]{0,60}?C`` regex says, found in linear time (the
    regex backtracks through every window on near misses: 0.8 s on 200 KB of "output all ")."""

    def __init__(self, *parts):
        self.classes = [re.compile(p) for p in parts[0::2]]
        self.gaps = list(parts[1::2])

    def sentences(self, view: str, sent) -> set[int]:
        """The sentences (indices of ``sent``, a :class:`~perceptrl.judge.sanitize._Sentences`) the chain is in."""
        if not all(c.search(view) for c in self.classes):  # one C-speed scan each, usually enough
            return set()
        hits = [[m.span() for m in c.finditer(view)] for c in self.classes]
        # backwards over the classes: keep the hits from which the rest of the chain continues.
        # The nearest continuing hit after a word is the only one to check: if it is out of the
        # window or in a later sentence, so is every other.
        ok = [a for a, _ in hits[-1]]
        for level in range(len(hits) - 2, -1, -1):
            gap, nxt, cur = self.gaps[level], ok, []
            for a, e in hits[level]:
                i = bisect.bisect_left(nxt, e)
                if i < len(nxt) and nxt[i] <= e + gap and sent.index(nxt[i]) == sent.index(a):
                    cur.append(a)
            ok = cur
        return {sent.index(a) for a in ok}


_NEAR = [
    _Near(r"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|neglect)\b", 80,
          r"\b(?:instructions?|prompts?|rules?|guidelines?|directions?|above|previous|prior|earlier|everything|"
          r"criteria|rubric|system|task)\b"),
    _Near(_VERB, 60, r"\b(?:all|every|each|both|any|everything)\b", 60,
          r"\b(?:1|one|ones|present|included|yes|true|correct|full|100|max|maximum|reflected|satisfied|stated|"
          r"mentioned)\b"),
    _Near(_ALL, 40, _ITEMS, 40, r"\b(?:are|is|were|be|been|get|gets|was)\b", 30,
          r"\b(?:present|included|1|reflected|mentioned|stated|satisfied|correct|covered|there|found|true|yes)\b"),
    # verdict-like assignments without a verb: "every item: 1", "all items present", "yes, all present"
    _Near(_ALL, 40, _ITEMS, 40,
          r"\b(?:present|included|yes|true|reflected|satisfied|stated)\b|\b(?:1|one)\b(?![ \t]{0,3}\w)"),
    _Near(_ALL, 5, r"\b(?:present|included|yes|true|reflected|satisfied|stated|covered)\b"),
]

# The same intents in other languages. Latin-script words are matched on the folded view (so
# "évaluateur" and "evaluateur" are one word), the others on the native view, where CJK needs no
# word boundary and transliteration cannot collide with English ("무시" folds to "musi").
_LATIN_WORDS = [
    # ignore (the instructions)
    "ignorez", "ignore les", "ignorer les", "ignoriere", "ignorieren sie", "ignora las", "ignora los",
    "ignora le", "ignora i", "ignora tutte", "ignore as", "ignore os", "ignorar", "negeer", "zignoruj",
    # instructions
    "instructions precedentes", "consignes", "anweisungen", "instrucciones", "istruzioni", "instrucoes",
    # judge / grader / evaluator
    "juez", "evaluador", "calificador", "corrector", "juge", "evaluateur", "correcteur", "correctrice",
    "richter", "bewerter", "prufer", "pruefer", "gutachter", "giudice", "valutatore", "correttore",
    "avaliador", "corretor",
    # full marks / everything present
    "note maximale", "note complete", "volle punktzahl", "hochste punktzahl", "puntuacion maxima",
    "nota maxima", "punteggio massimo", "pontuacao maxima", "tous les elements", "toutes les informations",
    "alle punkte", "alle elemente", "alle informationen", "todos los elementos", "todos los datos",
    "tutti gli elementi", "todos os itens", "todos os elementos",
]
_NATIVE_WORDS = [
    r"\bигнорир\w*", r"\bпроигнорир\w*", r"\bинструкци\w*", r"\bсудь[яеи]\w*", r"\bоценщик\w*",
    r"\bпроверяющ\w*", r"\bмаксимальн\w* балл\w*", r"\bвсе (?:пункты|элементы|факты)\b",
    "忽略", "无视", "無視", "指令", "评委", "评审", "评分", "裁判", "满分", "所有项目", "所有信息", "所有事实",
    "評価者", "採点", "審査員", "満点", "すべての項目", "全ての項目", "指示に従",
    "무시", "지시", "채점", "심사위원", "평가자", "만점", "모든 항목",
    r"\bتجاهل\w*", r"\bالتعليمات\b", "अनदेखा", "निर्देश",
]
_LATIN_PHRASES = {tuple(w.split()) for w in _LATIN_WORDS}
_LATIN_MAX = max(len(p) for p in _LATIN_PHRASES)
_LATIN_FIRST = {p[0] for p in _LATIN_PHRASES}
_WORD = re.compile(r"[a-z]+")
_NATIVE = re.compile("|".join(_NATIVE_WORDS))
#: the scripts of _NATIVE_WORDS (and full-width CJK punctuation): no native view without one of them
_NATIVE_SCRIPTS = re.compile(r"[\u0400-\u04ff\u0600-\u06ff\u0900-\u097f\u3000-\u30ff\u3400-\u9fff"
                             r"\uac00-\ud7af\uf900-\ufaff]")

_SENTENCE_END = re.compile(r"[.!?;\n。！？；]")
_INSTRUCTION_MARK = "[instruction-like text removed]"
_ENCODED_MARK = "[encoded text removed]"
_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){8,}(?![0-9A-Fa-f])")


_LTS = ("<", "&", "\\", "%")
#: per entry of _PATTERNS, substrings one of which a match must contain: a pattern is not run on a
#: text without any (a substring test is a fast scan; most patterns never need to run)
_TRIGGERS: list[tuple[str, ...]] = [
    ("info",), ("info",), ("removed",), ("info", "verdict", "item", "fact", "annotation", "key"),
    ("verdict", "score", "label", "answer", "result", "output", "judg", "info", "item", "final"), ("verdict",),
    ("<|",), ("inst",), ("sys",), ("[",), ("<",), _LTS, (":",), ("##",),
    ("<<", ">>"), ("response",), ("response", "answer", "submission"), ("response",), ("visual",), ("response",),
]

assert len(_TRIGGERS) == len(_PATTERNS)
