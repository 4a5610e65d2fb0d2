import os

from index.read import read_corpus
from index.types import Skipped


def test_bad_files_are_reported_by_name_and_the_rest_still_read(corpus, tmp_path):
    (corpus / "latin1.txt").write_bytes("Caf\xe9 au lait in Gaza.".encode("latin-1"))
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02 binary data")
    (corpus / "empty.txt").write_text("   \n")
    outside = tmp_path / "secret.txt"
    outside.write_text("A secret outside the corpus.")
    os.symlink(outside, corpus / "link.txt")
    items = {i.source: i for i in read_corpus(corpus)}
    skipped = {s: i.reason for s, i in items.items() if isinstance(i, Skipped)}
    assert "not valid UTF-8" in skipped["latin1.txt"]
    assert "binary" in skipped["binary.txt"]
    assert "empty" in skipped["empty.txt"]
    assert "outside the corpus" in skipped["link.txt"]
    assert sum(1 for i in items.values() if not isinstance(i, Skipped)) == 5


def test_html_is_read_as_text_without_scripts(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Talks in Cairo</title><script>window.x=1</script></head>"
        "<body><nav>Home | World</nav><h1>Talks in Cairo</h1><p>Blinken met officials in Cairo.</p>"
        "<p>They discussed aid &amp; hostages.</p></body></html>")
    (article,) = list(read_corpus(tmp_path))
    assert article.title == "Talks in Cairo"
    assert "window.x" not in article.text and "Home | World" not in article.text
    assert "They discussed aid & hostages." in article.text


def test_names_with_spaces_and_accents_are_read(tmp_path):
    (tmp_path / "Café noir été.md").write_text("Blinken arrived in Amman on Sunday.\n", encoding="utf-8")
    (article,) = list(read_corpus(tmp_path))
    assert article.source == "Café noir été.md"
