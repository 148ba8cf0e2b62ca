"""Hand-written digests, hostile model output and a link checker for the site tests."""

import html.parser
import posixpath
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from webplatform_digest.digest.files import render_digest_file
from webplatform_digest.models import AreaDigest, Channel, DigestStatus, Language, ReleaseKey
from webplatform_digest.storage.commit import atomic_write
from webplatform_digest.storage.workspace import Workspace

NAMES = {
    "css": ("CSS and UI", "CSS 与 UI"),
    "javascript": ("JavaScript", "JavaScript"),
    "webgpu": ("Graphics and WebGPU", "图形与 WebGPU"),
}
RELEASES = (ReleaseKey(143), ReleaseKey(144), ReleaseKey(144, Channel.BETA))

#: model output that tries every way out of the page we know of
HOSTILE = """## Widgets `<dialog>` & {{ site.title }}

<script>alert("x")</script> <img src=x onerror=alert(1)> <!-- comment -->
[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) [vb](vbscript:x)
<javascript:alert(2)> ![pixel](javascript:alert(3)) [ok](https://example.com/ok)
{% raw %}{{ 7 | times: 6 }}{% endraw %} {%- include evil.html -%} {{ unterminated
{: onclick="alert(4)"} {::nomarkdown}<b>raw</b>{:/nomarkdown} $$<i>math</i>$$
[ref]: javascript:alert(5)
See [ref] and [good][g].

[g]: https://example.com/good

---
layout: evil
title: "</title><script>alert(6)</script>"
---

```html
<script>alert("in code")</script> {% include code.html %}
```
"""

SAMPLE_BODY = """## {title}

Authors can now use `{code}` to tune widgets. See [the spec](https://example.com/spec/{n})
and the [tracking bug](https://bugs.example.test/{n}).

- first change in {area}
- second change with **bold** text

```css
.widget {{ inset: 0; }}
```
"""

SAMPLE_BODY_ZH = """## {title}

开发者现在可以使用 `{code}` 调整组件。参见[规范](https://example.com/spec/{n})。

- {area} 的第一项更新
- 第二项更新
"""


def digest(
    area: str,
    key: ReleaseKey,
    language: Language,
    markdown: str | None = None,
    status: DigestStatus = DigestStatus.OK,
) -> AreaDigest:
    """A digest with made-up content (or ``markdown``)."""
    name = NAMES.get(area, (area, area))[0 if language is Language.EN else 1]
    template = SAMPLE_BODY if language is Language.EN else SAMPLE_BODY_ZH
    body = markdown or template.format(
        title=f"{name} news", code=f"{area}-x", n=key.version, area=area
    )
    return AreaDigest(
        area=area,
        version=key.version,
        channel=key.channel,
        language=language,
        markdown=body,
        status=status,
        backend="scripted",
        title=f"{name} — Chrome {key.version}",
        generated_at="2026-01-13T10:00:00Z",
    )


def write_digest(workspace: Workspace, item: AreaDigest) -> PurePosixPath:
    """Put one digest file where the digest run writes it."""
    rel = Workspace.digest_rel(item.area, ReleaseKey(item.version, item.channel), item.language)
    atomic_write(workspace.path(rel), render_digest_file(item))
    return rel


def write_sample_digests(
    workspace: Workspace,
    releases: Iterable[ReleaseKey] = RELEASES,
    areas: Iterable[str] = tuple(NAMES),
    languages: Iterable[Language] = tuple(Language),
) -> int:
    """Digests for every release × area × language given; returns how many."""
    count = 0
    for key in releases:
        for area in areas:
            for language in languages:
                write_digest(workspace, digest(area, key, language))
                count += 1
    return count


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append(value)


def link_targets(page: str) -> list[str]:
    """Every href/src in an HTML document."""
    parser = _Links()
    parser.feed(page)
    return parser.targets


def broken_internal_links(site: Path, *, base_url: str = "/") -> list[str]:
    """``page -> target`` for every internal link of the built site that names no file."""
    broken: list[str] = []
    for page in sorted(site.rglob("*.html")):
        url = "/" + page.relative_to(site).as_posix()
        for target in link_targets(page.read_text(encoding="utf-8")):
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            resolved = posixpath.normpath(
                posixpath.join(posixpath.dirname(url), unquote(parts.path))
            )
            if parts.path.startswith("/"):
                resolved = "/" + unquote(parts.path).removeprefix(base_url.rstrip("/")).lstrip("/")
            if not _exists(site, resolved, parts.path.endswith("/")):
                broken.append(f"{url} -> {target}")
    return broken


def _exists(site: Path, resolved: str, directory: bool) -> bool:
    path = site / resolved.lstrip("/")
    if directory or path.is_dir():
        return (path / "index.html").is_file()
    return path.is_file() or path.with_suffix(".html").is_file()
