"""The prompts this project lists as MCP prompts: name, description and arguments only.

Listing them needs none of the prompt machinery (texts, checks, language profiles), so the
server lists them from here at start-up; ``digest/prompts.py`` renders them.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """How one prompt is listed: string arguments in, prompt text out."""

    name: str
    description: str
    arguments: tuple[str, ...]


PROMPT_SPECS = (
    PromptSpec(
        "digest_english",
        "Write an English digest of one focus area from its release-note entries.",
        ("area_name", "version", "release_notes"),
    ),
    PromptSpec(
        "translate_chinese",
        "Translate an English area digest into Simplified Chinese, keeping code terms.",
        ("english_digest",),
    ),
    PromptSpec(
        "glossary",
        "Terms that stay in English in every digest, and preferred Chinese terms.",
        (),
    ),
)
