"""Reply checks: English structure and links, Chinese structure, URLs and CJK share."""

from tests.digest_samples import fake_translation, sample_subjects, valid_english
from webplatform_digest.digest.checks import check_chinese, check_english
from webplatform_digest.digest.markdown import clean_reply, headings, link_targets
from webplatform_digest.digest.prompts import fallback_english

TITLES = ("Caret shapes", "Scroll `snap-type` tweaks")
URLS = {"https://a.example.test/1", "https://b.example.test/2"}
GOOD = (
    "Overview of the release.\n\n"
    "## Caret shapes\n\nText about carets.\n\n- [Bug](https://a.example.test/1)\n\n"
    "## Scroll `snap-type` tweaks\n\nText about snapping.\n\n- [Spec](https://b.example.test/2)\n"
)


def _problems(text: str) -> str:
    return " | ".join(check_english(text, TITLES, URLS, max_chars=10_000).problems)


def test_a_digest_with_every_feature_heading_and_known_links_passes() -> None:
    """The reference reply has no problems."""
    assert _problems(GOOD) == ""


def test_a_missing_feature_heading_is_named() -> None:
    """Dropping a feature's section is reported with its title."""
    text = GOOD.split("## Scroll")[0]
    assert "no '## <title>' heading: Scroll `snap-type` tweaks" in _problems(text)


def test_headings_match_loosely_on_case_emphasis_and_spacing() -> None:
    """Bold markers, case and extra spaces in a heading still match the title."""
    text = GOOD.replace("## Caret shapes", "## **caret   Shapes**")
    assert _problems(text) == ""


def test_a_link_not_in_the_input_is_rejected() -> None:
    """An invented URL is reported."""
    text = GOOD + "\nSee [this](https://evil.example.test/x).\n"
    assert "not in the input: https://evil.example.test/x" in _problems(text)


def test_bare_urls_and_autolinks_count_as_links() -> None:
    """A bare URL or an autolink outside code must also come from the input."""
    assert "https://evil.example.test/a" in _problems(GOOD + "\nhttps://evil.example.test/a\n")
    assert "https://evil.example.test/b" in _problems(GOOD + "\n<https://evil.example.test/b>\n")


def test_urls_inside_code_are_not_links() -> None:
    """Example code may mention a URL without it being a link."""
    text = GOOD + "\n```js\nfetch('https://api.example.test/x')\n```\n\nUse `https://x.test`.\n"
    assert _problems(text) == ""


def test_front_matter_level_one_headings_and_raw_html_are_rejected() -> None:
    """Structure rules of the prompt are enforced."""
    assert "front matter" in _problems("---\ntitle: x\n---\n" + GOOD)
    assert "level-1 heading" in _problems("# Title\n\n" + GOOD)
    problems = _problems(GOOD + "\n<script>alert(1)</script>\n")
    assert "raw HTML (</script>, <script>)" in problems


def test_element_names_in_inline_code_are_not_raw_html() -> None:
    """`<dialog>` in backticks is fine; a bare <dialog> is not."""
    assert _problems(GOOD + "\nThe `<dialog>` element.\n") == ""
    assert "raw HTML (<dialog>)" in _problems(GOOD + "\nThe <dialog> element.\n")


def test_javascript_links_are_rejected_even_when_the_word_appears_in_prose() -> None:
    """Only a javascript: link target is dangerous; the language name in prose is not."""
    assert _problems(GOOD + "\nJavaScript: faster now.\n") == ""
    assert "javascript:" in _problems(GOOD + "\n[x](javascript:alert)\n")


def test_extra_and_duplicate_level_two_headings_are_rejected() -> None:
    """Only feature titles may be level-2 headings, each once."""
    assert "not feature titles from the input: Summary" in _problems(GOOD + "\n## Summary\n\nx\n")
    assert "more than once: Caret shapes" in _problems(GOOD + "\n## Caret shapes\n\nagain\n")


def test_long_and_empty_replies_are_rejected() -> None:
    """Length is bounded and an empty reply is one clear problem."""
    assert "too long" in _problems(GOOD + "x" * 10_000)
    assert _problems("   \n") == "the reply is empty"


def test_harmless_wrapping_is_removed_before_checking() -> None:
    """A whole-reply code fence, a think block and CRLF are undone."""
    wrapped = "<think>plan</think>\n```markdown\n" + GOOD.replace("\n", "\r\n") + "\n```"
    assert clean_reply(wrapped) == GOOD.strip()
    assert _problems(wrapped) == ""


def test_headings_inside_code_blocks_are_ignored() -> None:
    """A '#' comment in a fenced block is not a heading."""
    text = "## A\n\n```sh\n# comment\n```\n\n### B ##\n"
    assert [(h.level, h.text) for h in headings(text)] == [(2, "A"), (3, "B")]


def test_a_title_ending_in_a_hash_keeps_it() -> None:
    """'C#' is not a closing sequence."""
    assert headings("## Support for C#")[0].text == "Support for C#"


def test_link_targets_are_normalised() -> None:
    """Trailing slashes and punctuation do not make a different URL."""
    assert link_targets("See https://a.test/x/. and [y](https://a.test/x)") == {"https://a.test/x"}


def test_a_faithful_translation_passes_the_chinese_checks() -> None:
    """Same heading levels, same URLs, Chinese prose."""
    english = valid_english(sample_subjects()[0])
    assert check_chinese(fake_translation(english), english, max_chars=50_000).problems == ()


def test_untranslated_english_fails_the_cjk_check() -> None:
    """Returning the English source is not a translation."""
    english = valid_english(sample_subjects()[0])
    problems = check_chinese(english, english, max_chars=50_000).problems
    assert len(problems) == 1
    assert "too little Chinese text" in problems[0]


def test_a_translation_with_other_heading_levels_is_rejected() -> None:
    """A heading demoted from ## to ### changes the structure."""
    english = valid_english(sample_subjects()[0])
    translated = fake_translation(english).replace("## 功能", "### 功能", 1)
    problems = " ".join(check_chinese(translated, english, max_chars=50_000).problems)
    assert "heading structure differs" in problems


def test_a_translation_with_a_dropped_or_added_url_is_rejected() -> None:
    """The URL set must be the same as the source's."""
    english = valid_english(sample_subjects()[0])
    translated = fake_translation(english)
    dropped = translated.replace("https://bugs.example.test/issues/100", "https://x.test/y")
    problems = " ".join(check_chinese(dropped, english, max_chars=50_000).problems)
    assert "missing https://bugs.example.test/issues/100" in problems
    assert "not in the source https://x.test/y" in problems


def test_the_english_fallback_translates_to_a_checkable_structure() -> None:
    """A translation of the fallback page passes against the fallback as source."""
    english = fallback_english(sample_subjects()[0])
    assert check_chinese(fake_translation(english), english, max_chars=50_000).ok


def test_tags_the_input_titles_show_unquoted_are_tolerated_but_script_never_is() -> None:
    """A title such as 'Allow <use> …' may be repeated; <script> is always rejected."""
    titles = ("Allow <use> to reference a root", "Escape <script> text")
    text = (
        "## Allow <use> to reference a root\n\nA root element can be referenced now.\n\n"
        "## Escape <script> text\n\nScript text is escaped in attributes.\n"
    )
    problems = check_english(text, titles, set(), max_chars=10_000).problems
    assert problems == (
        "the reply contains raw HTML (<script>); write element names in inline code such as "
        "`<dialog>`",
    )


SOURCES = {
    "Caret shapes": "Caret shapes\nThe `caret-shape` property picks a bar, block or underscore.",
    "Scroll `snap-type` tweaks": "Scroll `snap-type` tweaks\nSnapping respects `scroll-padding`.",
}


def _content(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    verdict = check_english(text, TITLES, URLS, max_chars=10_000, sources=SOURCES)
    return verdict.problems, verdict.missing


def test_a_reply_echoing_the_prompt_under_the_right_headings_is_not_accepted() -> None:
    """Instructions repeated as a section's text make that section missing."""
    echo = (
        "The focus area has 1 feature(s). Your reply must contain exactly these level-2 "
        "headings, in this order:"
    )
    problems, missing = _content(GOOD.replace("Text about carets.", echo))
    assert missing == ("Caret shapes",)
    assert "repeat the prompt's instructions" in " ".join(problems)


def test_prompt_markers_before_the_first_section_are_not_accepted() -> None:
    """``<<<RELEASE NOTES`` or a feature block header in the overview rejects the reply."""
    for marker in ("<<<RELEASE NOTES", "--- Feature 1 of 2 ---"):
        problems, _ = _content(f"{marker}\n\n{GOOD}")
        assert any("repeats the prompt" in p for p in problems), marker


def test_a_section_with_only_its_heading_or_links_is_missing() -> None:
    """No prose of its own: the title is reported missing."""
    links_only = GOOD.replace("Text about carets.\n\n", "")
    problems, missing = _content(links_only)
    assert missing == ("Caret shapes",)
    assert "no prose of their own" in " ".join(problems)


def test_a_section_about_something_else_is_missing() -> None:
    """Prose sharing no title word, API or code name with the release note is off-topic."""
    problems, missing = _content(GOOD.replace("Text about carets.", "Bananas are yellow fruit."))
    assert missing == ("Caret shapes",)
    assert "do not mention anything from their feature's release note" in " ".join(problems)


def test_a_section_sharing_a_code_name_or_a_title_word_is_on_topic() -> None:
    """`scroll-padding` from the body, or a word of the title, is enough."""
    for text in ("Honours `scroll-padding` now.", "Snapping got better in small ways."):
        problems, missing = _content(GOOD.replace("Text about snapping.", text))
        assert (problems, missing) == ((), ()), text


def test_a_translation_echoing_the_prompt_is_not_accepted() -> None:
    """A Chinese reply repeating the translation markers is rejected."""
    english = fallback_english(sample_subjects()[0])
    zh = "<<<DIGEST\n" + fake_translation(english) + "\nDIGEST>>>"
    assert any(
        "repeats the prompt" in p for p in check_chinese(zh, english, max_chars=50_000).problems
    )
