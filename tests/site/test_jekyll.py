"""The Jekyll rendering: configuration, layouts, and pages whose text cannot escape."""

import re
from pathlib import PurePosixPath

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.site_samples import HOSTILE, NAMES, digest
from webplatform_digest.digest.files import render_digest_file
from webplatform_digest.models import Language, ReleaseKey
from webplatform_digest.site.jekyll import config_yml, render_jekyll_site, render_page, yaml_string
from webplatform_digest.site.model import (
    PageKind,
    PageRef,
    build_site_model,
    entry_from_file,
)
from webplatform_digest.site.pages import PageContent
from webplatform_digest.storage.workspace import Workspace


def _body(page: bytes) -> str:
    """The markdown after the front matter."""
    return page.decode("utf-8").split("\n---\n", 1)[1]


def test_config_keeps_the_safe_mode_whitelist_and_excludes_digest_sources() -> None:
    """``--safe`` needs ``whitelist``; raw digest files must never be rendered by Jekyll."""
    config = yaml.safe_load(config_yml())
    assert config["whitelist"] == config["plugins"] == []
    assert config["exclude"] == ["areas/*/chrome-*.md"]
    assert config["kramdown"]["input"] == "GFM"
    assert config["kramdown"]["parse_block_html"] is False


def test_front_matter_is_yaml_whatever_the_title_contains() -> None:
    """A title that tries to close the front matter stays a plain YAML string."""
    title = 'Evil\n---\nlayout: x\n"</title><script>'
    page = render_page(PageContent(PageRef(PageKind.HOME, Language.EN), title, (), None))
    text = page.decode("utf-8")
    assert text.startswith("---\n")
    front = yaml.safe_load(text[4 : text.index("\n---\n")])
    assert front == {"layout": "default", "title": " ".join(title.split()), "lang": "en"}


def test_a_hostile_digest_page_has_no_liquid_and_no_raw_html_from_the_model() -> None:
    """The page body has no brace at all and only our own tags."""
    key = ReleaseKey(144)
    item = digest("css", key, Language.EN, HOSTILE)
    entry = entry_from_file(Workspace.digest_rel("css", key, Language.EN), render_digest_file(item))
    model = build_site_model([entry], NAMES)
    page = PageRef(PageKind.DIGEST, Language.EN, key, "css")
    files = render_jekyll_site(model, [page])
    body = _body(files[PurePosixPath("versions/chrome-144/css.md")])
    assert re.findall(r"\{[^}]*\}", body) == ["{#feature-1}"]  # our heading id, nothing else
    body = body.replace("{#feature-1}", "")
    assert "{" not in body
    assert "}" not in body
    assert "<script" not in body
    assert "onerror=" not in body.replace("onerror=alert", "")  # only as escaped text
    assert "](javascript" not in body


def test_the_site_ships_its_layouts_and_stylesheet() -> None:
    """Both layouts and the stylesheet are part of every render."""
    files = render_jekyll_site(build_site_model([], NAMES), [])
    assert {str(p) for p in files} == {
        "_config.yml",
        "assets/site.css",
        "_layouts/default.html",
        "_layouts/digest.html",
        "feed.xml",
    }
    assert b"page.title | escape" in files[PurePosixPath("_layouts/default.html")]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_title_is_one_yaml_line_that_reads_back(title: str) -> None:
    """Property: the front-matter title is one line and parses back to the normalised text."""
    line = f"title: {yaml_string(title)}"
    assert "\n" not in line
    value = yaml.safe_load(line)["title"]
    assert value == " ".join(value.split())
    assert set(value) <= set(title) | {" "}
