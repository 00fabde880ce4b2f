"""The rules of case transfer and joint operations, as data (``data/police_rules_*.toml``).

Each article of the legal basis carries its document, number, article, a paraphrase, its
source and a verification tag (``V`` checked against the text, ``S`` secondary, ``U``
unchecked) from the governance notes; the transfer's time limits name the article they come
from. A bureau may load its own file (:func:`load_rules`).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bishui.errors import ConfigError

DEFAULT_FILE = "police_rules_2026.12-1.toml"
TAGS = ("V", "S", "U", "V/S")


@dataclass(frozen=True)
class Article:
    id: str
    document: str
    number: str
    article: str
    summary: str
    source: str
    tag: str
    use: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "document": self.document, "number": self.number,
                "article": self.article, "summary": self.summary, "source": self.source,
                "tag": self.tag, "use": list(self.use)}  # fmt: skip


@dataclass(frozen=True)
class Deadline:
    state: str
    hours: int
    article: str
    what: str


@dataclass(frozen=True)
class Rules:
    edition: str
    articles: Mapping[str, Article]
    deadlines: Mapping[str, Deadline]
    outcomes: Mapping[str, str]
    max_hours: int
    night_earliest: dt.time
    night_latest: dt.time
    severities: tuple[str, ...]
    task_severity: str


def _time(v: Any, what: str) -> dt.time:
    try:
        return dt.time.fromisoformat(str(v))
    except ValueError:
        raise ConfigError(what, "a time HH:MM", str(v)) from None


def parse_rules(doc: Mapping[str, Any]) -> Rules:
    """:class:`Rules` from a parsed file; :class:`ConfigError` naming the bad entry."""
    arts: dict[str, Article] = {}
    for aid, a in dict(doc.get("articles", {})).items():
        missing = [k for k in ("document", "article", "summary", "source", "tag") if not a.get(k)]
        if missing:
            raise ConfigError(f"articles.{aid}", "document, article, summary, source, tag", missing)
        if a["tag"] not in TAGS:
            raise ConfigError(f"articles.{aid}.tag", f"one of {', '.join(TAGS)}", a["tag"])
        arts[aid] = Article(aid, a["document"], a.get("number", ""), a["article"], a["summary"],
                            a["source"], a["tag"], tuple(a.get("use", ())))  # fmt: skip
    dls: dict[str, Deadline] = {}
    for state, d in dict(doc.get("deadlines", {})).items():
        hours = d.get("hours")
        if not isinstance(hours, int) or hours <= 0:
            raise ConfigError(f"deadlines.{state}.hours", "a positive integer", hours)
        if d.get("article") not in arts:
            raise ConfigError(f"deadlines.{state}.article", "an article of [articles]",
                              d.get("article"))  # fmt: skip
        dls[state] = Deadline(state, hours, d["article"], d.get("what", ""))
    ops = dict(doc.get("operations", {}))
    sev = tuple(ops.get("severities", ("low", "medium", "high")))
    if ops.get("task_severity", "medium") not in sev:
        raise ConfigError("operations.task_severity", "one of severities",
                          ops.get("task_severity"))  # fmt: skip
    return Rules(
        edition=str(doc.get("edition", "")), articles=arts, deadlines=dls,
        outcomes=dict(doc.get("outcomes", {})), max_hours=int(ops.get("max_hours", 24)),
        night_earliest=_time(ops.get("night_earliest", "18:00"), "operations.night_earliest"),
        night_latest=_time(ops.get("night_latest", "08:00"), "operations.night_latest"),
        severities=sev, task_severity=str(ops.get("task_severity", "medium")),
    )  # fmt: skip


_CACHE: dict[str, Rules] = {}


def load_rules(path: str | Path | None = None) -> Rules:
    """The packaged rules, or a bureau's own file."""
    key = str(path or "")
    if key in _CACHE:
        return _CACHE[key]
    try:
        if path is None:
            text = (resources.files("bishui.police") / "data" / DEFAULT_FILE).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("police rules", f"not valid TOML: {e}", str(path)) from None
    except OSError as e:
        raise ConfigError("police rules", f"cannot read: {e.strerror}", str(path)) from None
    rules = parse_rules(doc)
    _CACHE[key] = rules
    return rules
