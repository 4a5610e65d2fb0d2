"""Read an article's headline, outlet and publication date where the file states them.

HTML: ``article:published_time`` and similar ``<meta>`` tags, JSON-LD ``datePublished``/``headline``/
``publisher``, ``og:site_name``, ``<time datetime>``. Markdown and text: a front-matter block
(``---`` lines with ``title:``, ``date:``, ``outlet:``/``source:``/``publisher:``) or a ``Date:`` line
near the top (``index.clean`` removes both from the article body). Pure functions; nothing is guessed
from the file name or the file's time.
"""
from __future__ import annotations

import json
import re

from index.clean import DATE_LINE, FRONT_MATTER, find_date

_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_DATE_META = ("article:published_time", "og:published_time", "datepublished", "date", "dc.date", "dc.date.issued",
              "pubdate", "publishdate", "sailthru.date", "parsely-pub-date")
_OUTLET_META = ("og:site_name", "application-name", "publisher", "dc.publisher")


def iso_date(value: str | None) -> str | None:
    """An ISO ``YYYY-MM-DD`` from a date as pages write it (ISO, with a time, or in words); None if none.

    >>> iso_date("2023-10-11T08:30:00+00:00"), iso_date("October 11, 2023"), iso_date("soon")
    ('2023-10-11', '2023-10-11', None)
    """
    if not value:
        return None
    if m := _ISO.match(value):
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return find_date(value)


def front_matter(text: str) -> tuple[int, dict[str, str]]:
    """(end offset, fields) of a ``---`` front-matter block opening ``text``; (0, {}) without one.

    >>> front_matter("---\\ntitle: Gaza talks\\ndate: 2023-10-11\\n---\\nBody.")
    (43, {'title': 'Gaza talks', 'date': '2023-10-11'})
    """
    m = FRONT_MATTER.match(text)
    if not m:
        return 0, {}
    fields = {}
    for line in m.group("body").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and value.strip():
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return m.end(), fields


def text_meta(text: str) -> dict[str, str]:
    """Title, outlet and date stated by a Markdown/text article's front matter or ``Date:`` line.

    >>> text_meta("---\\ntitle: Gaza talks\\nsource: Daily Planet\\ndate: 2023-10-11\\n---\\nBody.")
    {'title': 'Gaza talks', 'outlet': 'Daily Planet', 'date': '2023-10-11'}
    >>> text_meta("Headline\\nDate: October 12, 2023\\nBody.")
    {'date': '2023-10-12'}
    """
    end, fields = front_matter(text)
    out = {}
    if title := fields.get("title"):
        out["title"] = title
    if outlet := next((fields[k] for k in ("outlet", "source", "publisher", "site") if fields.get(k)), None):
        out["outlet"] = outlet
    if published := iso_date(next((fields[k] for k in ("date", "published", "pubdate") if fields.get(k)), None)):
        out["date"] = published
    if "date" not in out:
        for line in text[end:end + 2000].splitlines()[:8]:
            if (m := DATE_LINE.match(line.strip())) and (published := iso_date(m.group("value"))):
                out["date"] = published
                break
    return out


def html_meta(html: str) -> dict[str, str]:
    """Headline (JSON-LD), outlet and publication date an HTML page states in its metadata.

    >>> html_meta('<meta property="article:published_time" content="2023-10-11T09:00:00Z">'
    ...           '<meta property="og:site_name" content="Daily Planet">')
    {'outlet': 'Daily Planet', 'date': '2023-10-11'}
    >>> html_meta('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Gaza talks", '
    ...           '"datePublished": "2023-10-12", "publisher": {"name": "Planet"}}</script>')
    {'title': 'Gaza talks', 'outlet': 'Planet', 'date': '2023-10-12'}
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    metas = {}
    for tag in soup.find_all("meta"):
        key = (tag.get("property") or tag.get("name") or tag.get("itemprop") or "").strip().lower()
        if key and tag.get("content") and key not in metas:
            metas[key] = tag["content"].strip()
    found: dict[str, str] = {}
    for script in soup.find_all("script", type="application/ld+json"):
        for item in _ld_items(script.string or ""):
            found.setdefault("title", item.get("headline"))
            publisher = item.get("publisher")
            found.setdefault("outlet", publisher.get("name") if isinstance(publisher, dict) else publisher)
            found.setdefault("date", iso_date(item.get("datePublished")))
    out = {}
    title = found.get("title")  # og:title often carries the site's name: the page's <h1> is read instead
    outlet = found.get("outlet") or next((metas[k] for k in _OUTLET_META if k in metas), None)
    published = found.get("date") or next((d for k in _DATE_META if (d := iso_date(metas.get(k)))), None)
    if not published and (time := soup.find("time", datetime=True)):
        published = iso_date(time["datetime"])
    for key, value in (("title", title), ("outlet", outlet), ("date", published)):
        if isinstance(value, str) and value.strip():
            out[key] = value.strip()
    return out


def _ld_items(text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    items = data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []
    return [i for i in items if isinstance(i, dict) and (i.get("datePublished") or i.get("headline"))]
