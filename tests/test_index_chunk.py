from index.chunk import chunk_article, split_sentences
from index.read import read_article

from conftest import SEEDS


def test_offsets_are_exact_for_every_chunk_and_sentence_of_the_seeds():
    total = 0
    for path in sorted(SEEDS.glob("*.txt")):
        original = path.read_text(encoding="utf-8")
        article = read_article(path)
        assert article.text == original
        chunks = chunk_article(article.source, article.text, article.body)
        assert chunks
        for chunk in chunks:
            assert original[chunk.start:chunk.end] == chunk.text
            assert chunk.sentences[0].start == chunk.start and chunk.sentences[-1].end == chunk.end
            for s in chunk.sentences:
                assert chunk.start <= s.start < s.end <= chunk.end
                assert original[s.start:s.end].strip() == original[s.start:s.end]
            total += 1
    assert total > 10


def test_every_body_sentence_is_in_some_chunk():
    for path in sorted(SEEDS.glob("*.txt")):
        article = read_article(path)
        sentences = split_sentences(article.text, article.body)
        chunked = {s for c in chunk_article(article.source, article.text, article.body) for s in c.sentences}
        assert set(sentences) == chunked


def test_chunk_ids_are_stable_and_unique():
    path = next(SEEDS.glob("001_*.txt"))
    a, b = read_article(path), read_article(path)
    ids_a = [c.id for c in chunk_article(a.source, a.text, a.body)]
    assert ids_a == [c.id for c in chunk_article(b.source, b.text, b.body)]
    assert len(set(ids_a)) == len(ids_a)


def test_sentences_do_not_split_abbreviations():
    text = "The U.S. demand was clear. Blinken left."
    from index.types import Span

    assert [text[s.start:s.end] for s in split_sentences(text, [Span(0, len(text))])] == [
        "The U.S. demand was clear.", "Blinken left."]
