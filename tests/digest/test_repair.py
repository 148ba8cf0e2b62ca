"""Repair of near-miss replies: each slip undone and named; compliant replies untouched."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.digest_samples import fake_translation
from webplatform_digest.digest.checks import check_chinese, check_english
from webplatform_digest.digest.markdown import headings, link_targets, normalise_url
from webplatform_digest.digest.repair import Repair, repair_chinese, repair_english

TITLES = ("Caret shapes", "Scroll `snap-type` tweaks", "The “smart” popover")
URLS = {"https://a.example.test/1", "https://b.example.test/2", "https://c.example.test/3"}
GOOD = (
    "Overview of the release.\n\n"
    "## Caret shapes\n\nText about carets.\n\n- [Bug](https://a.example.test/1)\n\n"
    "## Scroll `snap-type` tweaks\n\nText about snapping.\n\n- [Spec](https://b.example.test/2)\n\n"
    "## The “smart” popover\n\nText about popovers.\n\n- [Demo](https://c.example.test/3)"
)


def _en(text: str) -> Repair:
    return repair_english(text, TITLES, URLS)


def _accepted(text: str) -> bool:
    return check_english(text, TITLES, URLS, max_chars=20_000).ok


def test_a_compliant_reply_comes_back_unchanged_with_no_repairs() -> None:
    """The canonical shape needs no repair."""
    assert _en(GOOD) == Repair(GOOD, ())


def test_chatter_before_and_after_the_digest_is_dropped() -> None:
    """English and Chinese lead-ins and a closing remark are removed and named."""
    for lead in ("Sure! Here is the digest you asked for:", "以下是摘要：", "Certainly."):
        text = f"{lead}\n\n{GOOD}\n\nI hope this helps! Let me know if you have questions."
        assert _en(text) == Repair(GOOD, ("chatter",))


def test_a_whole_reply_code_fence_with_any_info_string_is_unwrapped() -> None:
    """```markdown title="x" and ~~~md fences around the digest both go."""
    for opening, closing in (('```markdown title="digest"', "```"), ("~~~md", "~~~")):
        assert _en(f"{opening}\n{GOOD}\n{closing}") == Repair(GOOD, ("code_fence",))


def test_a_lone_code_block_is_not_mistaken_for_a_wrapper() -> None:
    """A code example after a paragraph, without headings, stays a code block."""
    text = "An example of the syntax.\n\n```js\nconst a = 1;\n```"
    assert _en(text).markdown == text


def test_near_miss_feature_headings_map_to_the_exact_title() -> None:
    """Numbering, emphasis, punctuation, code marks, case and quote style are undone."""
    slips = {
        "## 1. Caret shapes": "heading_text",
        "## **Caret shapes**": "heading_text",
        "## *caret  SHAPES*:": "heading_text",
        "## Feature 1: Caret shapes.": "heading_text",
    }
    for slip, kind in slips.items():
        repaired = _en(GOOD.replace("## Caret shapes", slip))
        assert repaired == Repair(GOOD, (kind,)), slip
    lost_code = GOOD.replace("## Scroll `snap-type` tweaks", "## Scroll snap-type tweaks")
    assert _en(lost_code) == Repair(GOOD, ("heading_text",))
    quotes = GOOD.replace("## The “smart” popover", '## The "smart" popover')
    assert _en(quotes) == Repair(GOOD, ("heading_text",))


def test_feature_headings_under_an_invented_features_section_move_up_a_level() -> None:
    """``## Features`` with ``###`` feature headings becomes the canonical layout."""
    text = GOOD.replace("## ", "### ").replace(
        "Overview of the release.", "Overview.\n\n## Features"
    )
    repaired = _en(text)
    assert repaired.markdown == GOOD.replace("Overview of the release.", "Overview.")
    assert repaired.kinds == ("heading_level", "extra_section")
    assert _accepted(repaired.markdown)


def test_a_heading_is_never_mapped_when_two_headings_fit_one_title() -> None:
    """Two near-misses of one title are left for the checks to reject."""
    text = GOOD.replace("## Caret shapes", "### caret shapes\n\nOne.\n\n### Caret Shapes")
    repaired = _en(text)
    assert "## Caret shapes" not in repaired.markdown
    assert not _accepted(repaired.markdown)


def test_a_heading_that_fits_two_titles_is_left_alone() -> None:
    """When two titles look the same loosely, only exact headings count."""
    titles = ("Caret shapes", "**Caret shapes**")
    repaired = repair_english("Intro.\n\n## caret shapes\n\nText.", titles, set())
    assert "heading_text" not in repaired.kinds
    assert "## Caret shapes" not in repaired.markdown


def test_summary_sections_are_dropped_and_other_extra_sections_demoted() -> None:
    """A closing summary goes with its text; an unknown level-2 heading becomes level 3."""
    text = GOOD + "\n\n## Summary\n\nA recap of everything."
    assert _en(text) == Repair(GOOD, ("extra_section",))
    text = GOOD.replace("Text about carets.", "Text about carets.\n\n## Caret colours\n\nMore.")
    repaired = _en(text)
    assert "### Caret colours" in repaired.markdown
    assert repaired.kinds == ("extra_section",)
    assert _accepted(repaired.markdown)


def test_a_page_title_at_the_top_is_dropped() -> None:
    """``# Digest`` as the first line is not a feature heading."""
    assert _en("# CSS digest\n\n" + GOOD) == Repair(GOOD, ("title_heading",))


def test_links_to_urls_not_in_the_input_become_plain_text() -> None:
    """Invented links keep their label; invented bare URLs and link-only bullets go."""
    text = GOOD.replace(
        "Text about carets.",
        "Text about [carets](https://evil.example.test/x) and <https://evil.example.test/y>.",
    ).replace(
        "- [Bug](https://a.example.test/1)",
        "- [Bug](https://a.example.test/1)\n- https://evil.example.test/z",
    )
    repaired = _en(text)
    assert repaired.kinds == ("unknown_link",)
    assert "evil" not in repaired.markdown
    assert "Text about carets and ." in repaired.markdown
    assert _accepted(repaired.markdown)


def test_dangerous_links_and_raw_html_are_left_for_the_checks_to_refuse() -> None:
    """Repair never makes a hostile reply acceptable."""
    for hostile in (
        "[Read more](javascript:alert(1))",
        "[Demo](data:text/html;base64,PHNjcmlwdD4=)",
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
    ):
        repaired = _en(f"{GOOD}\n\n{hostile}")
        assert not _accepted(repaired.markdown), hostile


def test_urls_inside_code_are_not_touched() -> None:
    """Example code may mention any URL."""
    text = GOOD + "\n\n```js\nfetch('https://api.example.test/x')\n```\n\nUse `https://x.test`."
    assert _en(text).kinds == ()


def test_a_translation_gets_its_levels_and_lost_link_bullets_back() -> None:
    """Chinese: a lead-in goes, a level-3 heading takes the English level, lost links return."""
    zh = fake_translation(GOOD)
    slipped = zh.replace("## 功能：Caret shapes", "### 功能：Caret shapes").replace(
        "- [相关链接](https://a.example.test/1)", ""
    )
    repaired = repair_chinese(f"以下是翻译：\n\n{slipped}", GOOD)
    assert repaired.kinds == ("chatter", "heading_level", "links_restored")
    assert check_chinese(repaired.markdown, GOOD, max_chars=20_000).ok
    assert "- [Bug](https://a.example.test/1)" in repaired.markdown


def test_a_compliant_translation_comes_back_unchanged() -> None:
    """The fake translation is already canonical."""
    zh = fake_translation(GOOD)
    assert repair_chinese(zh, GOOD) == Repair(zh, ())


def test_a_translation_with_a_title_and_a_summary_loses_both() -> None:
    """A level-1 title and a trailing 总结 section the source lacks are dropped."""
    zh = fake_translation(GOOD)
    repaired = repair_chinese(f"# 摘要\n\n{zh}\n\n## 总结\n\n总之很好。", GOOD)
    assert repaired.markdown == zh
    assert repaired.kinds == ("title_heading",)


# Properties -----------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "carets",
        "snap",
        "scroll",
        "popover",
        "values",
        "authors",
        "widgets",
        "layout",
        "colour",
        "tweaks",
        "the",
        "a",
        "of",
        "to",
        "faster",
        "lets",
        "rendering",
        "功能",
        "变更",
        "`caret-shape`",
        "`snap-type`",
        "`<dialog>`",
    ]
)
_SENTENCE = st.lists(_WORDS, min_size=1, max_size=12).map(
    lambda w: "Authors get " + " ".join(w) + " in this release."
)


@st.composite
def _compliant(draw: st.DrawFn) -> tuple[str, tuple[str, ...], set[str]]:
    titles = tuple(
        draw(
            st.lists(
                st.lists(_WORDS, min_size=1, max_size=4).map(" ".join),
                min_size=1,
                max_size=5,
                unique_by=lambda t: t.casefold(),
            )
        )
    )
    urls = [f"https://ex.example.test/{i}" for i in range(len(titles))]
    parts = [draw(_SENTENCE)]
    for title, url in zip(titles, urls, strict=True):
        section = [f"## {title}", draw(_SENTENCE)]
        if draw(st.booleans()):
            section.append(f"### {draw(_SENTENCE).rstrip('.')}\n\n{draw(_SENTENCE)}")
        if draw(st.booleans()):
            section.append("```css\na { caret-shape: bar; } /* https://x.test */\n```")
        section.append(f"- [{draw(_WORDS)}]({url})")
        parts.append("\n\n".join(section))
    return "\n\n".join(parts), titles, set(urls)


_SLIPS = st.sampled_from(
    (
        lambda t: f"Sure! Here is the digest:\n\n{t}",
        lambda t: f"{t}\n\nLet me know if you need any changes to the digest.",
        lambda t: f"```markdown\n{t}\n```",
        lambda t: t.replace("## ", "## 1. ", 1),
        lambda t: t.replace("## ", "### "),
        lambda t: t.replace("## ", "## **", 1).replace("\n", "**\n", 1),
        lambda t: f"{t}\n\nSee [more](https://invented.example.test/x).",
        lambda t: f"{t}\n\n## Conclusion\n\nThat is all.",
        lambda t: t.upper(),
    )
)


@settings(max_examples=150, deadline=None)
@given(_compliant())
def test_repairing_a_compliant_reply_returns_it_unchanged(
    case: tuple[str, tuple[str, ...], set[str]],
) -> None:
    """No repair applies to a reply that already has the canonical shape."""
    text, titles, urls = case
    assert check_english(text, titles, urls, max_chars=100_000).ok
    assert repair_english(text, titles, urls) == Repair(text, ())


@settings(max_examples=200, deadline=None)
@given(_compliant(), st.lists(_SLIPS, min_size=1, max_size=3))
def test_repair_is_idempotent_and_invents_no_url_or_title(
    case: tuple[str, tuple[str, ...], set[str]], slips: list[object]
) -> None:
    """Repairing twice changes nothing more; every URL and level-2 heading has a source."""
    text, titles, urls = case
    for slip in slips:
        text = slip(text)  # type: ignore[operator]
    once = repair_english(text, titles, urls)
    assert repair_english(once.markdown, titles, urls).markdown == once.markdown
    assert link_targets(once.markdown) <= {normalise_url(u) for u in _URL.findall(text)}
    given_headings = {m.group(1) for m in _ANY_HEADING.finditer(text)}
    for heading in headings(once.markdown):
        assert heading.text in set(titles) | given_headings


@settings(max_examples=100, deadline=None)
@given(_compliant())
def test_repairing_a_compliant_translation_returns_it_unchanged(
    case: tuple[str, tuple[str, ...], set[str]],
) -> None:
    """The Chinese repair leaves a canonical translation alone and is idempotent on slips."""
    english, _, _ = case
    zh = fake_translation(english)
    assert repair_chinese(zh, english) == Repair(zh, ())
    slipped = f"好的，以下是翻译：\n\n```\n{zh.replace('## ', '### ')}\n```"
    once = repair_chinese(slipped, english)
    assert repair_chinese(once.markdown, english).markdown == once.markdown
    assert link_targets(once.markdown) <= link_targets(english)


_URL = re.compile(r"https?://[^\s<>()\[\]`\"']+", re.IGNORECASE)
_ANY_HEADING = re.compile(r"^#{1,6} (.*)$", re.MULTILINE)
