"""Which language a question is written in, when that is clearly not English: the refusal then says
that questions are matched against English articles instead of "The articles do not answer".

py3langid (langid.py's model, inside its wheel) names the language; nothing is translated, and a
question is only called foreign when the identifier is sure (short or sloppy English can look like
Dutch or Swedish to it at low probability, so an unsure call stays English).
"""
from __future__ import annotations

import threading

# py3langid's normalised probability (over its 97 languages) that a question must reach before it is
# called foreign. Set before looking at any eval result; on the eval's 254 English questions (tune and
# test, sloppy ones included) none reaches it (tests/test_qa_language.py keeps that true).
SURE = 0.9
NAMES = {"ar": "Arabic", "de": "German", "es": "Spanish", "fr": "French", "he": "Hebrew", "it": "Italian",
         "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ru": "Russian",
         "sv": "Swedish", "tr": "Turkish", "uk": "Ukrainian", "zh": "Chinese", "fa": "Persian", "hi": "Hindi"}
_identifier = None
_lock = threading.Lock()


def _identify(text: str) -> tuple[str, float]:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    code, p = _identifier.classify(text)
    return code, float(p)


# Scripts English is never written in, by the word Unicode names their letters with, and the language
# a question in them is called when the identifier's own guess is not one of ``NAMES``
SCRIPTS = {"CJK": "Chinese", "HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Korean",
           "CYRILLIC": "Russian", "ARABIC": "Arabic", "HEBREW": "Hebrew", "DEVANAGARI": "Hindi", "GREEK": "Greek",
           "THAI": "Thai"}


def script_of(text: str) -> str | None:
    """The non-Latin script most of the letters of ``text`` are in (a key of ``SCRIPTS``), or None when
    most are Latin: a question in Chinese or Russian is not English however short it is, while the
    identifier is unsure of short ones.

    >>> script_of("约翰·柯比是谁？"), script_of("Кто такой Джон Кирби?"), script_of("Who is Kirby?")
    ('CJK', 'CYRILLIC', None)
    """
    import unicodedata
    from collections import Counter

    letters = [c for c in text if c.isalpha()]
    scripts = Counter(next((s for s in SCRIPTS if unicodedata.name(c, "").startswith(s)), None) for c in letters)
    scripts.pop(None, None)  # Latin letters and any others
    best = max(scripts, key=scripts.get, default=None)
    return best if best and scripts[best] * 2 > len(letters) else None


def foreign_language(question: str, sure: float = SURE) -> str | None:
    """The name of the language ``question`` is written in when the identifier is ``sure`` it is not
    English, or when most of its letters are of a script English is not written in; else None.

    >>> foreign_language("Combien de personnes ont été déplacées à Gaza ?")
    'French'
    >>> foreign_language("how many ppl displaced gaza") is None, foreign_language("Wer ist Kirby?") is None
    (True, True)
    >>> foreign_language("约翰·柯比是谁？"), foreign_language("Кто такой Джон Кирби?")
    ('Chinese', 'Russian')
    """
    code, p = _identify(question)
    script = script_of(question)
    if script:
        return NAMES.get(code, SCRIPTS[script])
    if code == "en" or p < sure:
        return None
    return NAMES.get(code, f"a language other than English ({code})")


def refusal(language: str) -> str:
    """The refusal for a question written in ``language`` (a name from ``foreign_language``).

    >>> refusal("German")
    'This question seems to be in German, and questions are matched against English articles: try asking it in English.'
    """
    return (f"This question seems to be in {language}, and questions are matched against English articles: "
            "try asking it in English.")
