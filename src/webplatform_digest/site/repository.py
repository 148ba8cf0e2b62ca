"""A ready site repository (pure): the files ``webplatform-digest init-site`` writes.

The repository is a workspace: the weekly workflow runs ``update`` in it, commits what changed
(release notes, per-area data, digests, the monitor's ledger) so the next run knows what is
present, builds ``digest_markdown/`` with Jekyll and deploys it to GitHub Pages.
"""

from pathlib import PurePosixPath

from webplatform_digest.site.jekyll import config_yml

WORKFLOW = PurePosixPath(".github/workflows/update-site.yml")
CONFIG = PurePosixPath("digest_markdown/_config.yml")
README = PurePosixPath("README.md")

#: repository secrets the workflow reads, and the variables they become
SECRETS = {
    "WEBPLATFORM_LLM_BASE_URL": "LLM_BASE_URL",
    "WEBPLATFORM_LLM_API_KEY": "LLM_API_KEY",
    "WEBPLATFORM_LLM_MODEL": "LLM_MODEL",
}

_WORKFLOW = """\
# Runs `webplatform-digest update` every Monday and deploys the site to GitHub Pages.
# Exit codes of update: 0 nothing new, 10 updated, 1 failed.
name: Update the web-platform digest

on:
  schedule:
    - cron: "17 6 * * 1"
  workflow_dispatch: {}

permissions:
  contents: write
  pages: write
  id-token: write

concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  update:
    runs-on: ubuntu-latest
    env:
      WEBPLATFORM_LLM_BACKEND: openai
%(secrets)s
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install webplatform-digest
        run: pip install %(package)s
      - name: Update
        run: |
          code=0
          webplatform-digest update --root . --json > update.json || code=$?
          cat update.json
          if [ "$code" -ne 0 ] && [ "$code" -ne 10 ]; then exit "$code"; fi
      - name: Commit the workspace
        run: |
          git config user.name "webplatform-digest"
          git config user.email "webplatform-digest@users.noreply.github.com"
          git add release_notes processed digest_markdown .monitoring/versions.json
          git diff --cached --quiet || git commit -m "Update the digest" && git push
      - uses: actions/configure-pages@v5
      - uses: actions/jekyll-build-pages@v1
        with:
          source: ./digest_markdown
          destination: ./_site
      - uses: actions/upload-pages-artifact@v3

  deploy:
    needs: update
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""

_README = """\
# Web-platform digest

Per-area digests of the Chrome web-platform release notes, in English and Chinese, kept up to
date by [webplatform-digest](https://pypi.org/project/webplatform-digest/) and published with
GitHub Pages.

## Set up

1. Push this repository to GitHub.
2. Settings → Pages → Source: **GitHub Actions**.
3. Settings → Secrets and variables → Actions: add the secrets of an OpenAI-compatible endpoint:
%(secrets)s
4. Actions → *Update the web-platform digest* → Run workflow (then it runs every Monday).

Without the secrets the digests are offline fallbacks (feature lists, no summaries).

## By hand

    pip install webplatform-digest
    webplatform-digest update --root .    # 0 nothing new, 10 updated, 1 failed
    webplatform-digest pages --root . --html
"""


def workflow_yml(package: str = "webplatform-digest") -> bytes:
    """The GitHub Actions workflow: weekly ``update``, commit, Jekyll build, Pages deploy."""
    secrets = "\n".join(
        f"      {variable}: ${{{{ secrets.{secret} }}}}" for variable, secret in SECRETS.items()
    )
    return (_WORKFLOW % {"secrets": secrets, "package": package}).encode("utf-8")


def readme_md() -> bytes:
    """The repository's README: what it is and the three set-up steps."""
    secrets = "\n".join(f"   - `{secret}` ({variable})" for variable, secret in SECRETS.items())
    return (_README % {"secrets": secrets}).encode("utf-8")


def repository_files(package: str = "webplatform-digest") -> dict[PurePosixPath, bytes]:
    """Every file of a new site repository, by path relative to its root."""
    return {CONFIG: config_yml(), WORKFLOW: workflow_yml(package), README: readme_md()}
