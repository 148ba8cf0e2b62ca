"""The site's user-interface strings per language (pure data and one lookup).

English and Chinese are written here; every other language's strings come from the ``site``
block of its data file (``digest.profiles``), English filling any key it leaves out.
"""

from webplatform_digest.digest.profiles import profile
from webplatform_digest.models import Language


class _ByLanguage(dict[Language, dict[str, str]]):
    """Strings by language; a language not written here is read from its data file once."""

    def __missing__(self, language: Language) -> dict[str, str]:
        made = self[language] = {**self[Language.EN], **profile(language).site}
        return made


class _HtmlLang(dict[Language, str]):
    """``lang`` / ``hreflang`` values; a language not written here takes its data file's."""

    def __missing__(self, language: Language) -> str:
        made = self[language] = profile(language).hreflang
        return made


#: the ``lang`` attribute of a page in each language (CJK fonts pick the right glyphs)
HTML_LANG = _HtmlLang({Language.EN: "en", Language.ZH: "zh-CN"})

_WRITTEN: dict[Language, dict[str, str]] = {
    Language.EN: {
        "site": "Web Platform Digest",
        "intro": "Digests of the Chrome web-platform release notes, one per focus area, "
        "in English and Chinese.",
        "home": "Home",
        "latest": "Latest release",
        "releases": "Releases",
        "versions_title": "Chrome releases",
        "areas": "Focus areas",
        "areas_in_release": "Focus areas in this release",
        "releases_of_area": "Releases with a digest of this area",
        "all_releases_of": "All releases of {name}",
        "count_areas": "{n} areas",
        "count_area": "1 area",
        "count_releases": "{n} releases",
        "count_release": "1 release",
        "other_language": "(in Chinese)",
        "switch": "中文",
        "none": "No digests yet.",
        "status_fallback": "Written without an LLM: a deterministic digest of the release notes.",
        "status_partial": "Partly written without an LLM: the marked sections repeat the "
        "release notes (or stay in English) because the model's text for them was unusable.",
        "status_error": "The digest could not be written; this page shows what is available.",
        "status_empty": "This release has no changes in this area.",
        "status_untranslated": "The Chinese translation is not available; the English original "
        "follows.",
        "status_kept": "Kept from an earlier run: the release notes have changed since.",
        "count_features": "{n} features",
        "count_feature": "1 feature",
        "contents": "In this digest",
        "sources": "Source release notes",
        "source_stable": "Chrome {version} release notes",
        "source_beta": "Chrome {version} beta announcement",
        "source_webgpu": "What's New in WebGPU (Chrome {version})",
        "older": "← {release}",
        "newer": "{release} →",
        "feed": "Atom feed",
        "written": "Written {date}",
        "footer": "Digests of the Chrome web-platform release notes, one per focus area, in "
        "English and Chinese. Source: developer.chrome.com.",
        "badge_model": "model",
        "badge_repaired": "repaired",
        "badge_partial": "partial",
        "badge_fallback": "fallback",
        "badge_untranslated": "untranslated",
        "badge_kept": "kept (stale)",
        "badge_error": "error",
        "badge_empty": "no changes",
        "badge_other": "{status}",
        "timeline": "Timeline across releases",
        "timeline_of": "{name}: timeline",
        "timeline_intro": "Every feature of this area, release by release, newest first.",
        "also_in": "In other releases",
        "seen_in": "{title} — {release}",
        "stage_origin-trials": "origin trial",
        "stage_deprecations": "deprecation or removal",
    },
    Language.ZH: {
        "site": "Web 平台更新摘要",
        "intro": "按关注领域整理的 Chrome Web 平台发布说明摘要，提供英文和中文版本。",
        "home": "首页",
        "latest": "最新版本",
        "releases": "版本",
        "versions_title": "Chrome 版本",
        "areas": "关注领域",
        "areas_in_release": "本版本的关注领域",
        "releases_of_area": "包含此领域摘要的版本",
        "all_releases_of": "{name}的所有版本",
        "count_areas": "{n} 个领域",
        "count_area": "1 个领域",
        "count_releases": "{n} 个版本",
        "count_release": "1 个版本",
        "other_language": "（英文）",
        "switch": "English",
        "none": "暂无摘要。",
        "status_fallback": "本摘要未使用 LLM，由发布说明直接生成（确定性摘要）。",
        "status_partial": "本摘要部分内容未使用 LLM：标注的小节直接取自发布说明"
        "（或保留英文原文）。",
        "status_error": "未能生成本摘要，本页显示现有内容。",
        "status_empty": "此版本在该领域没有更新。",
        "status_untranslated": "未翻译：自动翻译暂不可用，以下正文为英文原文。",
        "status_kept": "本摘要沿用此前生成的版本，发布说明此后已有更新。",
        "count_features": "{n} 项更新",
        "count_feature": "1 项更新",
        "contents": "本页内容",
        "sources": "原始发布说明",
        "source_stable": "Chrome {version} 发布说明",
        "source_beta": "Chrome {version} Beta 版公告",
        "source_webgpu": "WebGPU 新功能（Chrome {version}）",
        "older": "← {release}",
        "newer": "{release} →",
        "feed": "Atom 订阅",
        "written": "生成于 {date}",
        "footer": "按关注领域整理的 Chrome Web 平台发布说明摘要，提供英文和中文版本。"
        "来源：developer.chrome.com。",
        "badge_model": "模型撰写",
        "badge_repaired": "已修复",
        "badge_partial": "部分",
        "badge_fallback": "离线生成",
        "badge_untranslated": "未翻译",
        "badge_kept": "沿用旧版",
        "badge_error": "出错",
        "badge_empty": "无更新",
        "badge_other": "状态：{status}",
        "timeline": "跨版本时间线",
        "timeline_of": "{name}：时间线",
        "timeline_intro": "按版本列出本领域的每项更新，最新版本在前。",
        "also_in": "其他版本中的同一功能",
        "seen_in": "{title} — {release}",
        "stage_origin-trials": "源试用",
        "stage_deprecations": "弃用或移除",
    },
}
LABELS = _ByLanguage(_WRITTEN)


def label(language: Language, key: str, **values: object) -> str:
    """A user-interface string in ``language``."""
    return LABELS[language][key].format(**values)


def language_name(language: Language) -> str:
    """A language's own name, as a language switcher lists it (``中文``, ``日本語``, …)."""
    if language is Language.EN:
        return LABELS[Language.ZH]["switch"]
    if language is Language.ZH:
        return LABELS[Language.EN]["switch"]
    return profile(language).native_name
