"""A clone of the repository is the whole manual: every link in README.md, docs/ and deploy/
leads to a file (and heading) that is there, and nothing points outside the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from heard.cli import cli as heard_main
from tests.helpers import ROOT

PAGES = sorted([ROOT / "README.md", ROOT / "deploy" / "README.md", *(ROOT / "docs").glob("*.md")])
DOCS = ("README.md", "timescales.md", "taxonomy.md", "safeguarding.md", "data-protection.md")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
# A file copied as it came, which names the folder it was copied from.
CITES_ITS_ORIGIN = {"tests/data/email-corpus/README.md"}
THIS_TEST = "tests/test_docs_links.py"  # names what it looks for


def _prose(text: str) -> str:
    """The page without its fenced code blocks (a TOML table header is not a link)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", _prose(page.read_text(encoding="utf-8")), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _links(page: Path) -> list[str]:
    return [target for target in LINK.findall(_prose(page.read_text(encoding="utf-8")))
            if not re.match(r"[a-z]+:", target)]


def test_the_rules_are_in_docs_and_the_readme_links_each_page() -> None:
    readme_links = {(ROOT / link).resolve() for link in _links(ROOT / "README.md")}
    for name in DOCS:
        assert (ROOT / "docs" / name).is_file(), f"docs/{name} is missing"
        assert (ROOT / "docs" / name).resolve() in readme_links, f"README.md does not link docs/{name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_in_the_repository(page: Path) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or ROOT.resolve() not in (file, *file.parents):
            broken.append(f"{target}: no such file in the repository")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: {file.name} has no heading #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def _tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode == 0 and listed.stdout:
        return listed.stdout.splitlines()
    skip = {".git", "node_modules", "var", "__pycache__"}
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts) and not p.parts[-2].startswith(".venv")]


def test_no_file_points_at_the_shared_folder_outside_the_repository() -> None:
    pointing = [name for name in _tracked_files()
                if name not in CITES_ITS_ORIGIN | {THIS_TEST} and (ROOT / name).is_file()
                and (b"../shared" in (raw := (ROOT / name).read_bytes()) or b"DOMAIN.md" in raw or b"DESIGN.md" in raw)]
    assert pointing == []


def _all_help() -> dict[str, str]:
    """Every command's --help page, as `heard` prints it."""
    pages: dict[str, str] = {}

    def walk(command: click.Command, path: list[str]) -> None:
        with click.Context(command, info_name=" ".join(["heard", *path])) as ctx:
            pages[" ".join(path) or "heard"] = command.get_help(ctx)
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(heard_main, [])
    return pages


def test_help_names_only_files_that_are_in_the_repository() -> None:
    pages = _all_help()
    assert len(pages) > 15
    missing = []
    for command, text in pages.items():
        assert "../shared" not in text, command
        for name in re.findall(r"[\w./-]+\.md\b", " ".join(text.split())):
            if not (ROOT / name).is_file():
                missing.append(f"heard {command} --help names {name}")
    assert not missing, missing
    top = subprocess.run([sys.executable, "-m", "heard", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert top.returncode == 0 and "README.md" in top.stdout
