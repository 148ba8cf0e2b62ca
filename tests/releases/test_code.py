"""Indented code of the notes becomes fenced code with its language; prose is untouched."""

from webplatform_digest.releases.code import code_segments, fence_code, guess_language

NOTE = "\n".join(
    [
        "See the following snippet.",
        "    ",
        "",
        "    const adapter = await navigator.gpu.requestAdapter();",
        '    if (adapter.features.has("subgroups")) {',
        "      // `template` {{ braces }}",
        "    }",
        "    ",
        "",
        "Big thanks.",
    ]
)


def test_indented_code_becomes_a_fenced_block_with_its_lines_verbatim() -> None:
    assert fence_code(NOTE).split("\n") == [
        "See the following snippet.",
        "    ",
        "",
        "```js",
        "const adapter = await navigator.gpu.requestAdapter();",
        'if (adapter.features.has("subgroups")) {',
        "  // `template` {{ braces }}",
        "}",
        "```",
        "",
        "Big thanks.",
    ]


def test_a_list_continuation_stays_text_and_a_fence_keeps_its_info() -> None:
    text = "- item\n\n    more of the item\n\n```css\n.a { b: c; }\n```"
    assert fence_code(text) == text


def test_a_fence_without_info_gets_the_language_its_code_shows() -> None:
    assert fence_code("~~~\n@compute @workgroup_size(64)\nfn main() {}\n~~~") == (
        "~~~wgsl\n@compute @workgroup_size(64)\nfn main() {}\n~~~"
    )


def test_code_with_a_fence_inside_gets_a_longer_fence() -> None:
    fenced = fence_code("Text.\n\n    ```\n    inner\n    ```\n").split("\n")
    assert fenced[2:] == ["````", "```", "inner", "```", "````"]


def test_languages_are_guessed_only_where_the_text_shows_them() -> None:
    assert guess_language("enable f16;\nfn main() {}") == "wgsl"
    assert (
        guess_language("const x = 1;\nconst m = device.createShaderModule({ code: `fn f() {}` });")
        == "js"
    )
    assert guess_language(".card {\n  container-type: inline-size;\n}") == "css"
    assert guess_language('<meta name="x" content="y">') == "html"
    assert guess_language("Permissions-Policy: camera=()\nAccept-CH: Sec-CH-UA") == "http"
    assert guess_language("GET /resource HTTP/1.1") == "http"
    assert guess_language("chrome://flags/#enable-thing") == ""


def test_segments_split_prose_from_code_and_join_back() -> None:
    text = "intro\n```js\nlet a;\n```\noutro\n# heading"
    segments = list(code_segments(text))
    assert segments == [(False, "intro"), (True, "```js\nlet a;\n```"), (False, "outro\n# heading")]
    assert "\n".join(part for _, part in segments) == text
